#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <thread>
#include <utility>
#include <vector>

namespace relay {

/// What a GroupCommitter is doing, for metrics and tests.
struct GroupCommitStats {
  uint64_t groups = 0;      // groups committed so far (each one call of `commit`)
  size_t queued = 0;        // items waiting to be taken into a group
  bool committing = false;  // `commit` is running for a group now (false again before `finish`)
};

/// Group commit on a thread of its own: submit() queues an item and returns at once; the commit
/// thread takes everything queued (at most `max_group` per group), hands each group to `commit`
/// once, then calls `finish` for every item of that group in queue order. Items queued while a
/// group is being committed (a slow fsync) form the next group, so the cost of a commit is shared
/// by everyone who arrived during the one before.
///
/// Promises: groups are committed one at a time on the commit thread, never overlapping, each
/// holding items in submit() order; every accepted item is in exactly one group and finished
/// exactly once, after `commit` returned for its group and after `stats().groups` counts that
/// group; stop() (and the destructor) commits and finishes everything still queued before it
/// joins. Thread-safe: submit() and stats() may be called from any thread, including from
/// `finish` on the commit thread; stop() from any thread but the commit thread.
template <typename Item>
class GroupCommitter {
 public:
  /// Commits one group (1 to `max_group` items) and records each item's outcome in the item.
  using Commit = std::function<void(std::span<Item> group)>;
  /// Hands one committed item's outcome on (runs its callback). Should be quick: the next group
  /// waits for it.
  using Finish = std::function<void(Item& item)>;

  /// Starts the commit thread.
  GroupCommitter(Commit commit, Finish finish, size_t max_group)
      : commit_(std::move(commit)), finish_(std::move(finish)), max_group_(max_group) {
    thread_ = std::thread([this] { run(); });
    thread_id_ = thread_.get_id();
  }
  ~GroupCommitter() { stop(); }
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  /// Queues `item` (moved from only when accepted) and returns at once. False after stop()
  /// began: the item was not taken and will never be committed or finished.
  bool submit(Item&& item) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return false;
      queue_.push_back(std::move(item));
    }
    wake_.notify_one();
    return true;
  }

  /// Commits and finishes everything queued, then joins the commit thread. Idempotent.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    std::lock_guard join_lock(join_mutex_);
    if (thread_.joinable()) thread_.join();
  }

  /// True when called from the commit thread (inside `commit` or `finish`).
  bool on_commit_thread() const { return std::this_thread::get_id() == thread_id_; }

  GroupCommitStats stats() const {
    std::lock_guard lock(mutex_);
    return GroupCommitStats{groups_, queue_.size(), committing_};
  }

 private:
  void run() {
    std::vector<Item> taken;  // swapped with queue_, so both keep their capacity
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping, and nothing is left
      taken.swap(queue_);
      for (size_t begin = 0; begin < taken.size(); begin += max_group_) {
        std::span<Item> group(taken.data() + begin, std::min(max_group_, taken.size() - begin));
        committing_ = true;
        lock.unlock();
        commit_(group);
        lock.lock();
        committing_ = false;
        ++groups_;
        lock.unlock();
        for (Item& item : group) finish_(item);
        lock.lock();
      }
      lock.unlock();
      taken.clear();  // the items' destructors run outside the lock submitters take
      lock.lock();
    }
  }

  const Commit commit_;
  const Finish finish_;
  const size_t max_group_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Item> queue_;  // guarded by mutex_
  bool stopping_ = false;    // guarded by mutex_
  bool committing_ = false;  // guarded by mutex_
  uint64_t groups_ = 0;      // guarded by mutex_
  std::mutex join_mutex_;    // makes concurrent stop() calls join once
  std::thread thread_;
  std::thread::id thread_id_;  // written once, before any other thread can call in
};

}  // namespace relay
