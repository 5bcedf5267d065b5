// Runs the real sse_load binary against a fake notify-service written here, which on purpose drops,
// duplicates and reorders events for chosen subscribers, and checks the counts sse_load reports.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "bench/load/fake_server.h"
#include "bench/load/load_stamp.h"
#include "bench/load/sse_load_runner.h"
#include "shared/sse.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"

namespace relay::load {
namespace {

using nlohmann::json;

/// A stand-in for notify-service: GET /events (chunked SSE, `event: connected` first),
/// POST /notify (one message or an array), GET /health. When `misbehave` is set: subscriber 0
/// never gets seq 3, subscriber 1 gets seq 5 twice, subscriber 2 gets seq 7 before 6.
class FakeNotify {
 public:
  explicit FakeNotify(bool misbehave) : misbehave_(misbehave), background_(server_) {
    server_.set_keep_alive_timeout(1);
    server_.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mutex_);
      res.set_content(json{{"status", "ok"}, {"last_event_id", std::to_string(last_id_)}}.dump(),
                      "application/json");
    });
    server_.Post("/notify", [this](const httplib::Request& req, httplib::Response& res) {
      handle_notify(req, res);
    });
    server_.Get("/events", [this](const httplib::Request& req, httplib::Response& res) {
      handle_events(req, res);
    });
  }

  ~FakeNotify() { stop(); }

  int start() { return background_.start(); }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    background_.stop();
  }

 private:
  struct Published {
    uint64_t seq;
    std::string frame;
  };
  struct StreamState {
    size_t subscriber = 0;
    bool greeted = false;
    size_t cursor = 0;
    std::optional<std::string> held_frame;
  };

  void handle_notify(const httplib::Request& req, httplib::Response& res) {
    json body = json::parse(req.body, nullptr, false);
    json items = body.is_array() ? body : json::array({body});
    std::lock_guard<std::mutex> lock(mutex_);
    for (json item : items) {
      std::string id = item.value("id", "");
      auto stamp = parse_load_stamp(item.dump());
      if (id.empty() || !stamp) {
        res.status = 400;
        return;
      }
      last_id_ = std::stoll(id);
      item["type"] = "message";
      published_.push_back({stamp->seq, sse_event(id, "message", item.dump())});
    }
    changed_.notify_all();
    res.set_content(json{{"accepted", items.size()},
                         {"duplicates", 0},
                         {"last_event_id", std::to_string(last_id_)}}
                        .dump(),
                    "application/json");
  }

  void handle_events(const httplib::Request& req, httplib::Response& res) {
    auto state = std::make_shared<StreamState>();
    std::string client_id = req.get_param_value("client_id");
    if (client_id.rfind("load-", 0) == 0) state->subscriber = std::stoul(client_id.substr(5));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      state->cursor = published_.size();  // a new stream sees only what is published from now on
    }
    res.set_chunked_content_provider(
        "text/event-stream", [this, state](size_t, httplib::DataSink& sink) {
          if (!state->greeted) {
            state->greeted = true;
            std::string greeting = sse_event("", "connected", R"({"resume":"none"})");
            return sink.write(greeting.data(), greeting.size());
          }
          std::string out;
          {
            std::unique_lock<std::mutex> lock(mutex_);
            changed_.wait_for(lock, std::chrono::milliseconds(100),
                              [&] { return stopping_ || state->cursor < published_.size(); });
            if (stopping_) return false;
            for (; state->cursor < published_.size(); ++state->cursor) {
              append_for(*state, published_[state->cursor], &out);
            }
          }
          if (out.empty()) return sink.is_writable();
          return sink.write(out.data(), out.size());
        });
  }

  // What one subscriber receives for one published message, by the misbehaviour rules.
  void append_for(StreamState& state, const Published& message, std::string* out) const {
    if (misbehave_) {
      if (state.subscriber == 0 && message.seq == 3) return;
      if (state.subscriber == 1 && message.seq == 5) *out += message.frame;
      if (state.subscriber == 2 && message.seq == 6) {
        state.held_frame = message.frame;
        return;
      }
    }
    *out += message.frame;
    if (state.held_frame && message.seq == 7) {
      *out += *state.held_frame;
      state.held_frame.reset();
    }
  }

  bool misbehave_;
  httplib::Server server_;
  FakeServerThread background_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;             // guarded by mutex_
  int64_t last_id_ = 100;             // guarded by mutex_
  std::vector<Published> published_;  // guarded by mutex_
};

std::vector<std::string> notify_args(int port, std::vector<std::string> extra) {
  std::vector<std::string> args = {"--notify",      "http://127.0.0.1:" + std::to_string(port),
                                   "--subscribers", "4",
                                   "--messages",    "20",
                                   "--path",        "notify",
                                   "--time-limit",  "30",
                                   "--drain-ms",    "500"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

TEST_CASE("sse_load counts exactly the drops, duplicates and reorders a server commits") {
  FakeNotify fake(/*misbehave=*/true);
  int port = fake.start();
  REQUIRE(port > 0);
  RunResult run = run_sse_load(notify_args(port, {}));
  INFO(run.output);
  json report = last_json_line(run.output);
  REQUIRE(report.is_object());
  CHECK(run.exit_code == 1);
  check_one_drop_duplicate_reorder(report, 4, 20);
}

TEST_CASE("sse_load reports a clean run as clean, with batches and several publishers") {
  FakeNotify fake(/*misbehave=*/false);
  int port = fake.start();
  REQUIRE(port > 0);
  for (const auto& extra : std::vector<std::vector<std::string>>{
           {}, {"--batch", "3", "--publishers", "2"}, {"--rate", "200"}}) {
    RunResult run = run_sse_load(notify_args(port, extra));
    INFO(run.output);
    json report = last_json_line(run.output);
    REQUIRE(report.is_object());
    CHECK(run.exit_code == 0);
    CHECK(report["subscribers_connected"] == 4);
    CHECK(report["messages_published"] == 20);
    CHECK(report["deliveries"] == 80);
    CHECK(report["missing"] == 0);
    CHECK(report["duplicated"] == 0);
    CHECK(report["out_of_order"] == 0);
    CHECK(report["latency_max_ms"].get<double>() > 0);
  }
}

TEST_CASE("sse_load --listen-only counts what another sse_load publishes, drops included") {
  for (bool misbehave : {false, true}) {
    CAPTURE(misbehave);
    FakeNotify fake(misbehave);
    int port = fake.start();
    REQUIRE(port > 0);
    testing::ServiceProcess listener("sse_load --listen-only", SSE_LOAD_BIN, {});
    listener.set_args(notify_args(port, {"--listen-only"}));
    REQUIRE(listener.spawn());
    REQUIRE(testing::eventually([&] {
      return listener.stderr_text().find("sse_load: listening on 4 streams") != std::string::npos;
    }));
    RunResult publisher = run_sse_load(notify_args(port, {}));
    INFO(publisher.output);
    auto status = listener.wait_exit(std::chrono::seconds(30));
    REQUIRE(status.has_value());
    std::string output;
    for (const std::string& line : listener.stdout_lines()) output += line + "\n";
    INFO(output);
    json report = last_json_line(output);
    REQUIRE(report.is_object());
    CHECK(report["messages_published"] == 0);
    if (misbehave) {
      CHECK(status->code == 1);
      report["messages_published"] = 20;  // what the other process published
      check_one_drop_duplicate_reorder(report, 4, 20);
    } else {
      CHECK(status->clean());
      CHECK(report["deliveries"] == 80);
      CHECK(report["missing"] == 0);
      CHECK(report["duplicated"] == 0);
      CHECK(report["deliveries_per_s"].get<double>() > 0);
    }
  }
}

TEST_CASE("sse_load exits 2 on bad arguments and 1 when notify-service is unreachable") {
  CHECK(run_sse_load({"--subscribers", "zero"}).exit_code == 2);
  CHECK(run_sse_load({"--notify", "http://10.0.0.1:80"}).exit_code == 2);
  // Bind and close a port so that nothing listens on it.
  FakeNotify fake(false);
  int port = fake.start();
  fake.stop();
  REQUIRE(port > 0);
  CHECK(run_sse_load(notify_args(port, {})).exit_code == 1);
}

}  // namespace
}  // namespace relay::load
