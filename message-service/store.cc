#include "message-service/store.h"

#include <condition_variable>
#include <mutex>

namespace relay {

MessageStore::~MessageStore() {
  stop();
}

void MessageStore::start_committing() {
  committer_ = std::make_unique<GroupCommitter<PendingInsert>>(
      [this](std::span<PendingInsert> group) { write_group(group); },
      [](PendingInsert& pending) { pending.done(std::move(pending.result)); }, kMaxInsertGroup);
}

void MessageStore::stop() {
  if (committer_) committer_->stop();
}

GroupCommitStats MessageStore::insert_stats() const {
  return committer_ ? committer_->stats() : GroupCommitStats{};
}

void MessageStore::insert_async(MessageDraft draft, std::string idempotency_key,
                                std::function<void(InsertResult)> done) {
  PendingInsert pending{std::move(draft), std::move(idempotency_key), std::move(done), {}};
  if (committer_ && committer_->submit(std::move(pending))) return;
  pending.done(InsertResult{InsertOutcome::kFailed, {}, "store closing"});
}

MessageStore::InsertResult MessageStore::insert(MessageDraft draft, std::string idempotency_key) {
  if (committer_ && committer_->on_commit_thread()) {
    return InsertResult{InsertOutcome::kFailed,
                        {},
                        "insert() called on the store's commit thread would wait for itself"};
  }
  struct Answer {
    std::mutex mutex;
    std::condition_variable ready;
    std::optional<InsertResult> result;  // guarded by mutex
  } answer;
  insert_async(std::move(draft), std::move(idempotency_key), [&answer](InsertResult result) {
    // Notified under the mutex: the waiter cannot return (and destroy `answer`) before it is done.
    std::lock_guard lock(answer.mutex);
    answer.result = std::move(result);
    answer.ready.notify_one();
  });
  std::unique_lock lock(answer.mutex);
  answer.ready.wait(lock, [&] { return answer.result.has_value(); });
  return std::move(*answer.result);
}

}  // namespace relay
