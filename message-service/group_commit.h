#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace relay {

/// What a GroupCommit is doing, for metrics and tests.
struct GroupCommitStats {
  uint64_t groups = 0;      // groups committed so far (each one call of `commit`)
  size_t queued = 0;        // callers waiting to be taken into a group
  bool committing = false;  // a group is being committed now
};

/// Group commit by leader and followers: concurrent callers of run() are gathered into groups, and
/// each group is handed to `commit` once, on the thread of the group's first caller (the leader),
/// while the others wait. Items queued while a group is being committed form the next group, led
/// by the first of them, so a slow commit (an fsync) is shared by everyone who arrived during it.
///
/// Promises: groups are committed one at a time, never overlapping, each holding the items in the
/// order their run() calls were queued; every item belongs to exactly one group; run() returns
/// only after `commit` returned for the group holding its item, and what `commit` wrote into the
/// item happens-before run() returns. No thread of its own. Thread-safe: run() may be called from
/// any number of threads; `commit` must not call run().
template <typename Item>
class GroupCommit {
 public:
  /// Commits one group (1 to `max_group` items) and records each item's outcome in the item.
  using Commit = std::function<void(const std::vector<Item*>& group)>;

  GroupCommit(Commit commit, size_t max_group)
      : commit_(std::move(commit)), max_group_(max_group) {}
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  /// Queues `item`, waits until the group holding it was committed (possibly committing it on this
  /// thread) and returns. `item` is written only by `commit`.
  void run(Item& item) {
    // Shared with the leader that commits it, which wakes it after releasing the mutex (so the
    // woken thread does not block on the mutex straight away) and so must keep it alive until then.
    auto me = std::make_shared<Waiter>(&item);
    std::unique_lock lock(mutex_);
    queue_.push_back(me);
    if (leading_) {
      me->wake.wait(lock, [&] { return me->done || me->lead; });
      if (me->done) return;
    }
    leading_ = true;
    // The leader is always at the front: a new leader is only ever chosen from the front, and a
    // caller finding no leader found the queue empty.
    std::vector<std::shared_ptr<Waiter>> group;
    std::vector<Item*> items;
    while (!queue_.empty() && group.size() < max_group_) {
      group.push_back(std::move(queue_.front()));
      items.push_back(group.back()->item);
      queue_.pop_front();
    }
    committing_ = true;
    lock.unlock();
    commit_(items);
    lock.lock();
    committing_ = false;
    ++groups_;
    for (auto& waiter : group) waiter->done = true;
    std::shared_ptr<Waiter> next_leader;
    if (queue_.empty()) {
      leading_ = false;
    } else {
      next_leader = queue_.front();
      next_leader->lead = true;
    }
    lock.unlock();
    // The next group's commit first, then the answers of this one.
    if (next_leader) next_leader->wake.notify_one();
    for (auto& waiter : group) {
      if (waiter != me) waiter->wake.notify_one();
    }
  }

  GroupCommitStats stats() const {
    std::lock_guard lock(mutex_);
    return GroupCommitStats{groups_, queue_.size(), committing_};
  }

 private:
  // One run() call; its fields are guarded by mutex_.
  struct Waiter {
    explicit Waiter(Item* waiting) : item(waiting) {}
    Item* item;
    bool done = false;  // its group was committed
    bool lead = false;  // it must lead the next group
    std::condition_variable wake;
  };

  const Commit commit_;
  const size_t max_group_;
  mutable std::mutex mutex_;
  std::deque<std::shared_ptr<Waiter>> queue_;  // guarded by mutex_
  bool leading_ = false;     // guarded by mutex_: a leader is taking or committing a group
  bool committing_ = false;  // guarded by mutex_
  uint64_t groups_ = 0;      // guarded by mutex_
};

}  // namespace relay
