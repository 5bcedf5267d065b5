#include "notify-service/presence.h"

#include <condition_variable>
#include <mutex>

#include <doctest/doctest.h>

namespace relay {
namespace {

// Records every announcement; lets a test wait for one.
struct Announcements {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> seen;  // "user channel state"

  PresenceTracker::Announce sink() {
    return [this](const Message& presence) {
      std::lock_guard lock(mutex);
      CHECK(presence.kind == EventKind::kPresence);
      seen.push_back(presence.user + " " + (presence.channel.empty() ? "*" : presence.channel) +
                     " " + presence.status);
      changed.notify_all();
    };
  }
  std::vector<std::string> wait_for(size_t count) {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, std::chrono::seconds(30), [&] { return seen.size() >= count; });
    return seen;
  }
  std::vector<std::string> now() {
    std::lock_guard lock(mutex);
    return seen;
  }
};

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("presence: join per channel once, leave after the last stream and the grace period") {
  Announcements log;
  PresenceTracker tracker(std::chrono::milliseconds(50), log.sink());
  tracker.stream_opened("alice", {"dev", "general", "dev"});
  tracker.stream_opened("alice", {"general"});
  tracker.stream_opened("bob", {});
  CHECK(log.now() ==
        std::vector<std::string>{"alice dev join", "alice general join", "bob * join"});
  CHECK(tracker.users(std::string("general")) == std::vector<std::string>{"alice", "bob"});
  CHECK(tracker.users(std::string("ops")) == std::vector<std::string>{"bob"});
  CHECK(tracker.users(std::nullopt) == std::vector<std::string>{"alice", "bob"});

  tracker.stream_closed("alice", {"general"});  // one general stream still open
  tracker.stream_closed("alice", {"dev", "general"});
  auto seen = log.wait_for(5);
  REQUIRE(seen.size() == 5);
  CHECK(((seen[3] == "alice dev leave" && seen[4] == "alice general leave") ||
         (seen[4] == "alice dev leave" && seen[3] == "alice general leave")));
  CHECK(tracker.users(std::string("general")) == std::vector<std::string>{"bob"});
  tracker.stream_closed("nobody", {});  // unknown: ignored
}

TEST_CASE("presence: a stream reopened within the grace period announces nothing") {
  Announcements log;
  PresenceTracker tracker(std::chrono::seconds(30), log.sink());
  tracker.stream_opened("alice", {});
  tracker.stream_closed("alice", {});
  tracker.stream_opened("alice", {});
  CHECK(log.now() == std::vector<std::string>{"alice * join"});
  CHECK(tracker.users(std::nullopt) == std::vector<std::string>{"alice"});
  tracker.stop();  // pending leaves are dropped; stop returns at once despite the 30 s grace
}

TEST_SUITE_END();

}  // namespace relay
