// Unit tests for GroupCommitter (group commit on its own thread) on its own, with a commit function
// that records what it was given; the store's use of it over real SQLite is in store_test.cc.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "message-service/group_commit.h"

namespace relay {
namespace {

struct Item {
  int submitter = 0;
  int sequence = 0;      // the n-th submit() of its submitter
  int64_t position = 0;  // set by commit: the item's place in commit order, from 1
  uint64_t group = 0;    // set by commit: which group held it, from 1
};

// What finish() saw, shared with the submitters.
struct Finished {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<Item> items;  // guarded by mutex, in finish order
  std::set<std::thread::id> threads;

  void add(const Item& item) {
    std::lock_guard lock(mutex);
    items.push_back(item);
    threads.insert(std::this_thread::get_id());
    changed.notify_all();
  }
  bool wait_for(size_t count) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(30), [&] { return items.size() >= count; });
  }
};

}  // namespace

TEST_CASE("group committer: every item committed and finished once, in order, in groups") {
  constexpr int kSubmitters = 8;
  constexpr int kPerSubmitter = 300;
  constexpr size_t kMaxGroup = 16;
  std::atomic<int> in_commit{0};
  std::atomic<bool> overlapped{false};
  int64_t next_position = 1;  // touched only inside commit, which never overlaps
  uint64_t next_group = 1;
  size_t largest_group = 0;
  Finished finished;
  std::atomic<bool> finished_before_counted{false};
  GroupCommitter<Item>* committer_ptr = nullptr;
  GroupCommitter<Item> committer(
      [&](std::span<Item> group) {
        if (in_commit.fetch_add(1) != 0) overlapped = true;
        largest_group = std::max(largest_group, group.size());
        for (Item& item : group) {
          item.position = next_position++;
          item.group = next_group;
        }
        ++next_group;
        std::this_thread::sleep_for(std::chrono::microseconds(300));  // an "fsync"
        in_commit.fetch_sub(1);
      },
      [&](Item& item) {
        if (committer_ptr->stats().groups < item.group) finished_before_counted = true;
        finished.add(item);
      },
      kMaxGroup);
  committer_ptr = &committer;

  std::vector<std::thread> threads;
  for (int t = 0; t < kSubmitters; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerSubmitter; ++i) REQUIRE(committer.submit(Item{t, i}));
    });
  }
  for (auto& thread : threads) thread.join();
  REQUIRE(finished.wait_for(kSubmitters * kPerSubmitter));
  committer.stop();

  CHECK_FALSE(overlapped.load());
  CHECK_FALSE(finished_before_counted.load());
  CHECK(largest_group <= kMaxGroup);
  CHECK(largest_group > 1);  // submitters outpace a 300 µs commit: groups formed
  std::lock_guard lock(finished.mutex);
  REQUIRE(finished.items.size() == kSubmitters * kPerSubmitter);
  CHECK(finished.threads.size() == 1);
  CHECK(finished.threads.count(std::this_thread::get_id()) == 0);
  std::vector<int> last_sequence(kSubmitters, -1);
  for (size_t i = 0; i < finished.items.size(); ++i) {
    const Item& item = finished.items[i];
    CHECK(item.position == static_cast<int64_t>(i + 1));  // finished in commit (= queue) order
    // Each submitter's items in the order it submitted them.
    CHECK(item.sequence == last_sequence[item.submitter] + 1);
    last_sequence[item.submitter] = item.sequence;
  }
  GroupCommitStats stats = committer.stats();
  CHECK(stats.groups == next_group - 1);
  CHECK(stats.queued == 0);
  CHECK_FALSE(stats.committing);
  MESSAGE("groups: " << stats.groups << " for " << kSubmitters * kPerSubmitter << " items");
}

TEST_CASE("group committer: items queued during a commit form the next group, in queue order") {
  std::mutex gate;
  std::unique_lock closed(gate);         // the first commit waits until the test opens the gate
  std::vector<std::vector<int>> groups;  // touched only by commit, read after stop()
  Finished finished;
  GroupCommitter<Item> committer(
      [&](std::span<Item> group) {
        std::vector<int> submitters;
        for (const Item& item : group) submitters.push_back(item.submitter);
        groups.push_back(submitters);
        if (groups.size() == 1) std::lock_guard wait_for_gate(gate);
      },
      [&](Item& item) { finished.add(item); }, 100);

  REQUIRE(committer.submit(Item{0, 0}));
  while (!committer.stats().committing) std::this_thread::yield();
  for (int t = 1; t <= 5; ++t) REQUIRE(committer.submit(Item{t, 0}));
  CHECK(committer.stats().queued == 5);
  {
    std::lock_guard lock(finished.mutex);
    CHECK(finished.items.empty());  // nothing is finished before its commit
  }
  closed.unlock();
  REQUIRE(finished.wait_for(6));
  committer.stop();
  REQUIRE(groups.size() == 2);
  CHECK(groups[0] == std::vector<int>{0});
  CHECK(groups[1] == std::vector<int>{1, 2, 3, 4, 5});
}

TEST_CASE("group committer: stop commits and finishes what is queued, then refuses new items") {
  std::mutex gate;
  std::unique_lock closed(gate);
  std::atomic<int> committed{0};
  Finished finished;
  GroupCommitter<Item> committer(
      [&](std::span<Item> group) {
        if (committed == 0) std::lock_guard wait_for_gate(gate);
        committed += static_cast<int>(group.size());
      },
      [&](Item& item) { finished.add(item); }, 4);
  REQUIRE(committer.submit(Item{0, 0}));
  while (!committer.stats().committing) std::this_thread::yield();
  for (int i = 1; i <= 10; ++i) REQUIRE(committer.submit(Item{0, i}));
  std::thread stopper([&] { committer.stop(); });
  // stop() waits for the commit in progress and for everything queued behind it.
  while (committer.submit(Item{1, 0})) std::this_thread::yield();  // refused once stopping
  closed.unlock();
  stopper.join();
  CHECK(committed == static_cast<int>(finished.items.size()));
  std::lock_guard lock(finished.mutex);
  // All of submitter 0, and the submitter-1 items accepted before stop() began, each once.
  int from_first = 0;
  for (const Item& item : finished.items) from_first += item.submitter == 0;
  CHECK(from_first == 11);
  CHECK_FALSE(committer.submit(Item{2, 0}));
}

}  // namespace relay
