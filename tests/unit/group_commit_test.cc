// Unit tests for GroupCommit (leader/follower batching) on its own, with a commit function that
// records what it was given; the store's use of it over real SQLite is in store_test.cc.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "message-service/group_commit.h"

namespace relay {
namespace {

struct Item {
  int thread = 0;
  int sequence = 0;      // the n-th run() of its thread
  int64_t position = 0;  // set by commit: the item's place in commit order, from 1
  uint64_t group = 0;    // set by commit: which group held it, from 1
};

}  // namespace

TEST_CASE(
    "group commit: concurrent callers are committed once each, in groups that never overlap") {
  constexpr int kThreads = 16;
  constexpr int kPerThread = 200;
  std::atomic<int> in_commit{0};
  std::atomic<bool> overlapped{false};
  int64_t next_position = 1;  // touched only inside commit, which never overlaps
  uint64_t next_group = 1;
  size_t largest_group = 0;
  GroupCommit<Item> group_commit(
      [&](const std::vector<Item*>& group) {
        if (in_commit.fetch_add(1) != 0) overlapped = true;
        largest_group = std::max(largest_group, group.size());
        for (Item* item : group) {
          item->position = next_position++;
          item->group = next_group;
        }
        ++next_group;
        std::this_thread::sleep_for(std::chrono::microseconds(200));  // a "fsync"
        in_commit.fetch_sub(1);
      },
      8);

  std::vector<std::vector<Item>> done(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        Item item{t, i};
        group_commit.run(item);
        done[t].push_back(item);
      }
    });
  }
  for (auto& thread : threads) thread.join();

  CHECK_FALSE(overlapped.load());
  CHECK(largest_group <= 8);
  std::set<int64_t> positions;
  for (int t = 0; t < kThreads; ++t) {
    REQUIRE(done[t].size() == kPerThread);
    for (int i = 0; i < kPerThread; ++i) {
      const Item& item = done[t][i];
      CHECK(item.position > 0);  // run() returned only after its commit
      positions.insert(item.position);
      // A caller's next item is queued after its previous one returned: later position and group.
      if (i > 0) {
        CHECK(item.position > done[t][i - 1].position);
        CHECK(item.group > done[t][i - 1].group);
      }
    }
  }
  CHECK(positions.size() == kThreads * kPerThread);  // each item exactly once
  GroupCommitStats stats = group_commit.stats();
  CHECK(stats.groups == next_group - 1);
  CHECK(stats.queued == 0);
  CHECK_FALSE(stats.committing);
  // 16 callers behind a 200 µs commit: they share commits.
  CHECK(stats.groups < static_cast<uint64_t>(kThreads * kPerThread));
  MESSAGE("groups: " << stats.groups << " for " << kThreads * kPerThread << " items");
}

TEST_CASE("group commit: callers arriving during a commit form the next group, in arrival order") {
  std::mutex gate;
  std::unique_lock closed(gate);  // the first commit waits until the test opens the gate
  std::vector<std::vector<int>> groups;
  GroupCommit<Item> group_commit(
      [&](const std::vector<Item*>& group) {
        std::vector<int> threads;
        for (Item* item : group) threads.push_back(item->thread);
        groups.push_back(threads);
        if (groups.size() == 1) std::lock_guard wait_for_gate(gate);
      },
      100);

  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    Item item{0, 0};
    group_commit.run(item);
  });
  while (!group_commit.stats().committing) std::this_thread::yield();
  for (int t = 1; t <= 5; ++t) {
    threads.emplace_back([&, t] {
      Item item{t, 0};
      group_commit.run(item);
    });
    while (group_commit.stats().queued != static_cast<size_t>(t)) std::this_thread::yield();
  }
  closed.unlock();
  for (auto& thread : threads) thread.join();
  REQUIRE(groups.size() == 2);
  CHECK(groups[0] == std::vector<int>{0});
  CHECK(groups[1] == std::vector<int>{1, 2, 3, 4, 5});
}

}  // namespace relay
