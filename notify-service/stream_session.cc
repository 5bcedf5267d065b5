#include "notify-service/stream_session.h"

#include <algorithm>

#include "shared/sse.h"

namespace relay {

StreamSession::StreamSession(Hub& hub, Hub::Subscription subscription,
                             std::optional<int64_t> last_event_id, std::string client_id,
                             StreamOptions options, HistoryFetch fetch_history,
                             StreamCounters counters)
    : hub_(hub),
      subscription_(std::move(subscription)),
      resume_from_(last_event_id),
      client_id_(std::move(client_id)),
      options_(options),
      fetch_history_(std::move(fetch_history)),
      counters_(counters),
      last_sent_id_(last_event_id.value_or(0)),
      history_cursor_(last_event_id.value_or(0)) {}

void StreamSession::closed() {
  if (auto on_closed = std::move(on_closed_)) on_closed(*this);
}

std::string StreamSession::greeting() {
  const char* resume = "none";
  if (subscription_.resume == Hub::Resume::kFromRing) {
    resume = "ring";
    counters_.ring_replays.add();
  } else if (subscription_.resume == Hub::Resume::kNeedsHistory) {
    resume = "history";
    counters_.history_replays.add();
  }
  nlohmann::json data = {{"client_id", client_id_}, {"resume", resume}};
  if (resume_from_) data["last_event_id"] = std::to_string(*resume_from_);
  phase_ = subscription_.resume == Hub::Resume::kNeedsHistory ? Phase::kHistory : Phase::kLive;
  return sse_retry(options_.retry_ms) + sse_event("", "connected", dump_json(data));
}

void StreamSession::append_new(const std::vector<EventPtr>& events, std::string* out) {
  size_t written = 0;
  int64_t last_sent = last_sent_id_.load(std::memory_order_relaxed);
  size_t bytes = 0;
  for (const auto& event : events) bytes += event->frame.size();
  out->reserve(out->size() + bytes);  // at most what is appended: one allocation, not a doubling
  for (const auto& event : events) {
    if (event->message.id == 0) {  // transient (typing, presence): no place in the id order
      out->append(event->frame);
      continue;
    }
    if (event->message.id <= last_sent) continue;
    out->append(event->frame);
    last_sent = event->message.id;
    ++written;
  }
  last_sent_id_.store(last_sent, std::memory_order_relaxed);
  counters_.events_sent.add(written);
}

std::string StreamSession::reset_to(int64_t continue_from, const char* reason,
                                    const std::string& detail) {
  counters_.resets.add();
  nlohmann::json data = {
      {"reason", reason}, {"last_event_id", std::to_string(continue_from)}, {"detail", detail}};
  std::string out = sse_event("", "reset", dump_json(data));
  last_sent_id_.store(continue_from, std::memory_order_relaxed);
  history_cursor_ = continue_from;
  // Still deliver whatever the ring holds after the point the stream continues from; live events
  // queued since the subscription follow, each once (append_new skips what is not newer).
  append_new(hub_.ring_events_after(continue_from, subscription_.subscriber->filter()), &out);
  phase_ = Phase::kLive;
  return out;
}

std::string StreamSession::next_history_page() {
  const auto& filter = subscription_.subscriber->filter();
  auto page = fetch_history_(filter, history_cursor_, options_.history_page_size);
  const bool first_page = !history_read_;
  history_read_ = true;
  // Before anything was replayed, a resume point above every id the hub had seen is unproven: a
  // reset continues from the hub's newest instead, so no later message falls below it unseen.
  const int64_t unproven_point =
      first_page ? std::min(last_sent_id(), subscription_.hub_last_id) : last_sent_id();
  if (!page) {
    return reset_to(unproven_point, "history_unavailable",
                    "messages after this id could not be replayed (message-service history is "
                    "unreachable); reload history with GET /messages");
  }
  if (first_page && resume_from_) {
    if (page->store_last_id && *resume_from_ > *page->store_last_id) {
      return reset_to(*page->store_last_id, "ahead_of_store",
                      "Last-Event-ID " + std::to_string(*resume_from_) +
                          " is above the newest stored id; the stream continues from the newest; "
                          "reload history with GET /messages");
    }
    if (!page->store_last_id && page->events.empty() && *resume_from_ > subscription_.hub_last_id) {
      return reset_to(unproven_point, "history_unavailable",
                      "message-service did not say its newest id, so Last-Event-ID " +
                          std::to_string(*resume_from_) +
                          " could not be checked; reload history with GET /messages");
    }
  }
  std::vector<EventPtr> events;
  events.reserve(page->events.size());
  PrivateChannelsPtr private_channels = hub_.private_channels();
  for (const auto& message : page->events) {
    history_cursor_ = std::max(history_cursor_, message.id);
    if (filter.matches(message, private_channels.get()))
      events.push_back(make_message_event(message));
  }
  std::string out;
  append_new(events, &out);
  if (static_cast<int>(page->events.size()) < options_.history_page_size) phase_ = Phase::kLive;
  return out;
}

std::optional<std::string> StreamSession::next_chunk(
    std::optional<std::chrono::milliseconds> max_wait) {
  using Clock = std::chrono::steady_clock;
  if (phase_ == Phase::kGreeting) {
    last_write_ = Clock::now();
    return greeting();
  }
  while (phase_ == Phase::kHistory) {
    std::string page = next_history_page();
    if (!page.empty()) {
      last_write_ = Clock::now();
      return page;
    }
  }
  // One clock read per pull unless it waited: the loop pulls every stream it writes, so the
  // clock is a real part of a delivery's cost.
  auto now = Clock::now();
  auto give_up_at = max_wait ? now + *max_wait : Clock::time_point::max();
  while (true) {
    auto wake_at = std::min(last_write_ + options_.heartbeat, give_up_at);
    auto wait = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(wake_at - now),
                         std::chrono::milliseconds(0));
    auto batch = subscription_.subscriber->wait_for_events(wait);
    if (batch.ended) return std::nullopt;
    std::string out;
    append_new(batch.events, &out);
    if (wait.count() > 0) now = Clock::now();
    if (out.empty() && now - last_write_ >= options_.heartbeat) {
      out = sse_comment("ping");
      counters_.heartbeats_sent.add();
    }
    if (!out.empty()) {
      last_write_ = now;
      return out;
    }
    if (now >= give_up_at) return std::string();
    now = Clock::now();  // a wait shorter than a millisecond did not wait: look again
  }
}

}  // namespace relay
