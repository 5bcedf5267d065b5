// Runs the real sse_load binary with --target nchan against a fake nchan written here: it answers
// like nginx + nchan's EventSource subscriber (no chunking, no length, a `: hi` comment first,
// `id: <seconds>:<index>` and the raw published body as `data:`), and on purpose drops, duplicates
// and reorders events for some streams. Checks the counts sse_load reports, also with racing
// publishers (order by nchan's ids) and with no subscribers at all (publish only).

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "bench/load/fake_server.h"
#include "bench/load/load_stamp.h"
#include "bench/load/sse_load_runner.h"

namespace relay::load {
namespace {

using nlohmann::json;

/// A stand-in for nginx + nchan: GET /sub/bench streams, POST /pub/bench publishes (202 with a
/// plain-text summary). Ids are `<seconds>:<index>` with 12 messages per "second", so the index
/// passes 9 (a text comparison would misorder 10 after 9). Streams are numbered in the order they
/// arrive. When `misbehave` is set, by publish order n: stream 0 never gets n = 3, stream 1 gets
/// n = 5 twice, stream 2 gets n = 7 before n = 6.
class FakeNchan {
 public:
  explicit FakeNchan(bool misbehave) : misbehave_(misbehave), background_(server_) {
    server_.set_keep_alive_timeout(1);
    server_.Post("/pub/bench", [this](const httplib::Request& req, httplib::Response& res) {
      handle_publish(req, res);
    });
    server_.Get("/sub/bench",
                [this](const httplib::Request&, httplib::Response& res) { handle_subscribe(res); });
  }

  ~FakeNchan() { stop(); }

  int start() { return background_.start(); }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    background_.stop();
  }

  size_t published() {
    std::lock_guard<std::mutex> lock(mutex_);
    return frames_.size();
  }

 private:
  struct StreamState {
    size_t stream = 0;
    bool greeted = false;
    size_t cursor = 0;
    std::optional<std::string> held_frame;
  };

  void handle_publish(const httplib::Request& req, httplib::Response& res) {
    if (!parse_load_content(req.body)) {
      res.status = 400;
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    size_t n = frames_.size();
    std::string id = fmt::format("{}:{}", 1795456700 + n / 12, n % 12);
    frames_.push_back("id: " + id + "\ndata: " + req.body + "\n\n");
    changed_.notify_all();
    res.status = 202;
    res.set_content(fmt::format("queued messages: {}\nlast message id: {}\n", n + 1, id),
                    "text/plain");
  }

  void handle_subscribe(httplib::Response& res) {
    auto state = std::make_shared<StreamState>();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      state->stream = streams_++;
      state->cursor = frames_.size();  // a new stream sees only what is published from now on
    }
    // No length and no chunking: the body runs until the connection closes, as nchan's does.
    res.set_content_provider(
        "text/event-stream; charset=utf-8", [this, state](size_t, httplib::DataSink& sink) {
          if (!state->greeted) {
            state->greeted = true;
            return sink.write(": hi\n\n", 6);
          }
          std::string out;
          {
            std::unique_lock<std::mutex> lock(mutex_);
            changed_.wait_for(lock, std::chrono::milliseconds(100),
                              [&] { return stopping_ || state->cursor < frames_.size(); });
            if (stopping_) return false;
            for (; state->cursor < frames_.size(); ++state->cursor) {
              append_for(*state, state->cursor, &out);
            }
          }
          if (out.empty()) return sink.is_writable();
          return sink.write(out.data(), out.size());
        });
  }

  // What one stream receives for the n-th published message, by the misbehaviour rules.
  void append_for(StreamState& state, size_t n, std::string* out) const {
    const std::string& frame = frames_[n];
    if (misbehave_) {
      if (state.stream == 0 && n == 3) return;
      if (state.stream == 1 && n == 5) *out += frame;
      if (state.stream == 2 && n == 6) {
        state.held_frame = frame;
        return;
      }
    }
    *out += frame;
    if (state.held_frame && n == 7) {
      *out += *state.held_frame;
      state.held_frame.reset();
    }
  }

  bool misbehave_;
  httplib::Server server_;
  FakeServerThread background_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;            // guarded by mutex_
  size_t streams_ = 0;               // guarded by mutex_
  std::vector<std::string> frames_;  // guarded by mutex_, in publish order
};

std::vector<std::string> nchan_args(int port, std::vector<std::string> extra) {
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  std::vector<std::string> args = {"--target",      "nchan",
                                   "--sub-url",     base + "/sub/bench",
                                   "--pub-url",     base + "/pub/bench",
                                   "--subscribers", "4",
                                   "--messages",    "30",
                                   "--time-limit",  "30",
                                   "--drain-ms",    "500"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST_CASE("sse_load --target nchan counts exactly the drops, duplicates and reorders") {
  // One publisher orders by seq; three race, so order is judged by nchan's ids.
  for (const char* publishers : {"1", "3"}) {
    FakeNchan fake(/*misbehave=*/true);
    int port = fake.start();
    REQUIRE(port > 0);
    RunResult run = run_sse_load(nchan_args(port, {"--publishers", publishers}));
    INFO("publishers: " << publishers << "\n" << run.output);
    json report = last_json_line(run.output);
    REQUIRE(report.is_object());
    CHECK(run.exit_code == 1);
    CHECK(report["target"] == "nchan");
    check_one_drop_duplicate_reorder(report, 4, 30);
    CHECK(report["foreign_events"] == 0);
  }
}

TEST_CASE("sse_load --target nchan reports a clean run as clean and samples several server pids") {
  FakeNchan fake(/*misbehave=*/false);
  int port = fake.start();
  REQUIRE(port > 0);
  // The fake runs in this process: give its pid twice, as the sum over nginx's processes would.
  std::string pid = std::to_string(getpid());
  for (const auto& extra :
       std::vector<std::vector<std::string>>{{}, {"--publishers", "3"}, {"--rate", "300"}}) {
    std::vector<std::string> more = extra;
    more.insert(more.end(), {"--server-pid", pid, "--server-pid", pid});
    RunResult run = run_sse_load(nchan_args(port, more));
    INFO(run.output);
    json report = last_json_line(run.output);
    REQUIRE(report.is_object());
    CHECK(run.exit_code == 0);
    CHECK(report["subscribers_connected"] == 4);
    CHECK(report["messages_published"] == 30);
    CHECK(report["deliveries"] == 120);
    CHECK(report["missing"] == 0);
    CHECK(report["duplicated"] == 0);
    CHECK(report["out_of_order"] == 0);
    CHECK(report["latency_max_ms"].get<double>() > 0);
    CHECK(report["server_cpu_us_per_delivery"].is_number());
    CHECK(report["server_rss_kb_per_subscriber"].is_number());
  }
}

TEST_CASE(
    "sse_load with no subscribers publishes every message and reports POST rate and latency") {
  FakeNchan fake(/*misbehave=*/false);
  int port = fake.start();
  REQUIRE(port > 0);
  RunResult run = run_sse_load(nchan_args(port, {"--subscribers", "0", "--publishers", "4"}));
  INFO(run.output);
  json report = last_json_line(run.output);
  REQUIRE(report.is_object());
  CHECK(run.exit_code == 0);
  CHECK(report["subscribers_connected"] == 0);
  CHECK(report["messages_published"] == 30);
  CHECK(report["publish_errors"] == 0);
  CHECK(report["deliveries"] == 0);
  CHECK(report["publish_rate"].get<double>() > 0);
  CHECK(report["post_latency_p50_ms"].get<double>() > 0);
  CHECK(report["post_latency_p99_ms"].get<double>() >= report["post_latency_p50_ms"].get<double>());
  CHECK(fake.published() == 30);
}

}  // namespace
}  // namespace relay::load
