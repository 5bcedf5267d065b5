// Group commit under real load: many keep-alive publishers, kill -9 of message-service while posts
// are in flight, and every acknowledged message must be there after the restart.

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "tests/integration/harness.h"

namespace relay::itest {

TEST_SUITE_BEGIN("integration");

TEST_CASE(
    "group commit: with 64 keep-alive publishers, every 201 survives kill -9 of message-service "
    "with "
    "its content and id") {
  constexpr int kPublishers = 64;
  constexpr size_t kAcknowledgedBeforeKill = 2000;
  Relay relay;
  INFO(relay.diagnostics());

  std::mutex mutex;
  std::map<int64_t, std::string> acknowledged;  // guarded by mutex: id -> content
  std::vector<std::string> problems;            // guarded by mutex
  std::atomic<size_t> acknowledged_count{0};
  std::atomic<bool> killed{false};
  std::vector<std::thread> publishers;
  for (int p = 0; p < kPublishers; ++p) {
    publishers.emplace_back([&, p] {
      httplib::Client client("127.0.0.1", relay.message_port());
      client.set_keep_alive(true);
      client.set_connection_timeout(5, 0);
      client.set_read_timeout(15, 0);
      for (int n = 0; !killed.load(); ++n) {
        std::string content = "group-" + std::to_string(p) + "-" + std::to_string(n);
        Json body = {{"content", content}, {"user", fmt::format("p{}", p)}};
        auto response = client.Post("/messages", body.dump(), "application/json");
        if (!response) return;  // the service was killed under this request (or failed: see below)
        Json message = Json::parse(response->body, nullptr, false);
        std::lock_guard lock(mutex);
        std::string id_text = message.is_object() ? message.value("id", "") : "";
        if (response->status != 201 || message["content"] != content || id_text.empty() ||
            id_text.find_first_not_of("0123456789") != std::string::npos) {
          problems.push_back("status " + std::to_string(response->status) + " " + response->body);
          return;
        }
        int64_t id = std::stoll(id_text);
        if (!acknowledged.emplace(id, content).second) {
          problems.push_back("id " + std::to_string(id) + " acknowledged twice");
        }
        acknowledged_count.fetch_add(1);
      }
    });
  }
  bool reached =
      eventually([&] { return acknowledged_count.load() >= kAcknowledgedBeforeKill; }, 30s);
  // At once, with posts still in flight: some are committed but unanswered, some not committed.
  ExitStatus status = relay.message().kill9();
  killed = true;
  for (auto& publisher : publishers) publisher.join();
  CHECK_MESSAGE((!status.exited && status.signal == SIGKILL), status.describe());
  REQUIRE_MESSAGE(reached, "only " << acknowledged_count.load() << " posts acknowledged in 30 s");
  {
    std::lock_guard lock(mutex);
    CHECK_MESSAGE(problems.empty(), problems.size() << " problems, first: "
                                                    << (problems.empty() ? "" : problems.front()));
  }

  relay.start_message();  // same DATA_DIR, same port
  HttpClient http = relay.message_http();
  std::map<int64_t, Json> stored;
  int64_t after = 0;
  while (true) {
    HttpResponse page = http.get("/messages?limit=1000&after=" + std::to_string(after));
    REQUIRE_MESSAGE(page.status == 200, page.describe());
    Json messages = page.json()["messages"];
    if (messages.empty()) break;
    for (const auto& message : messages) {
      int64_t id = id_of(message);
      CHECK_MESSAGE(id > after, "history not ascending at id " << id);
      after = id;
      stored[id] = message;
    }
  }
  std::lock_guard lock(mutex);
  size_t missing = 0;
  for (const auto& [id, content] : acknowledged) {
    auto it = stored.find(id);
    if (it == stored.end()) {
      ++missing;
      continue;
    }
    CHECK(it->second["content"] == content);
    CHECK(it->second["user"] == fmt::format("p{}", content.substr(6, content.find('-', 6) - 6)));
  }
  CHECK_MESSAGE(missing == 0, missing << " of " << acknowledged.size()
                                      << " acknowledged messages lost by kill -9");
  // Stored but unanswered (committed when the kill came) is allowed; the reverse is not.
  CHECK(stored.size() >= acknowledged.size());
  MESSAGE(acknowledged.size() << " acknowledged, " << stored.size() << " stored after kill -9");
}

TEST_SUITE_END();

}  // namespace relay::itest
