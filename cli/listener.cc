#include "cli/listener.h"

#include <algorithm>

#include <fmt/format.h>

#include "shared/validation.h"

namespace relay::cli {

namespace {

constexpr int kHistoryPage = 1000;
constexpr int kHistoryAttempts = 3;

std::string describe_failure(const CallResult& result) {
  if (!result.answered()) return result.transport_error;
  std::string code = result.json.is_object() ? result.json.value("error", std::string()) : "";
  return fmt::format("status {}{}", result.status, code.empty() ? "" : " " + code);
}

std::string seconds_text(std::chrono::milliseconds delay) {
  return fmt::format("{:.1f} s", static_cast<double>(delay.count()) / 1000.0);
}

}  // namespace

Listener::Listener(ServiceClient& notify, ServiceClient& history, ListenSettings settings,
                   std::function<void(const StreamItem&)> on_item,
                   std::function<void(const std::string&)> on_notice)
    : notify_(notify),
      history_(history),
      settings_(std::move(settings)),
      on_item_(std::move(on_item)),
      on_notice_(std::move(on_notice)) {}

void Listener::stop() {
  {
    std::lock_guard lock(pause_mutex_);
    stopped_ = true;
  }
  pause_wake_.notify_all();
  notify_.stop();
}

bool Listener::pause(std::chrono::milliseconds delay) {
  std::unique_lock lock(pause_mutex_);
  pause_wake_.wait_for(lock, delay, [this] { return stopped_.load(); });
  return !stopped_;
}

ListenOutcome Listener::run() {
  QueryParams query;
  if (!settings_.channels.empty()) query.emplace_back("channels", settings_.channels);
  if (!settings_.user.empty()) query.emplace_back("user", settings_.user);
  std::chrono::milliseconds retry = settings_.first_retry;

  while (!stopped_) {
    HeaderList headers;
    if (last_id_ > 0) headers.emplace_back("Last-Event-ID", std::to_string(last_id_));
    connected_ = false;
    SseParser parser([this](const SseEvent& event) { on_event(event); });
    CallResult result = notify_.stream(
        "/events", query, headers, settings_.idle_timeout, [](int) {},
        [&](std::string_view bytes) {
          parser.feed(bytes);
          return !stopped_.load();
        });
    if (stopped_) break;
    if (connected_) retry = settings_.first_retry;  // the stream worked: start backing off anew

    bool refused =
        result.status >= 400 && result.status < 500 && result.status != 408 && result.status != 429;
    if (refused) return {ListenOutcome::End::kRefused, result};
    if (!ever_connected_) return {ListenOutcome::End::kUnreachable, result};

    std::chrono::milliseconds delay = retry;
    if (result.retry_after_seconds > 0) {
      delay = std::max(delay, std::chrono::milliseconds(result.retry_after_seconds * 1000));
    }
    std::string why = result.status == 200 ? (result.transport_error.empty()
                                                  ? "the stream ended"
                                                  : "the stream broke: " + result.transport_error)
                                           : describe_failure(result);
    on_notice_(fmt::format("{} ({}); reconnecting in {}",
                           connected_ ? "lost the stream" : "no stream", why, seconds_text(delay)));
    if (!pause(delay)) break;
    retry = std::min(retry * 2, settings_.max_retry);
  }
  return {ListenOutcome::End::kStopped, {}};
}

void Listener::on_event(const SseEvent& event) {
  if (stopped_) return;
  nlohmann::json data = nlohmann::json::parse(event.data, nullptr, false);
  if (event.event == "connected") {
    std::string resume = data.is_object() ? data.value("resume", std::string()) : "";
    if (!ever_connected_) {
      on_notice_("listening to " + notify_.base_url() + "/events");
    } else {
      on_notice_(fmt::format("reconnected, resuming after [{}] ({})", last_id_,
                             resume.empty() ? "?" : resume));
    }
    connected_ = true;
    ever_connected_ = true;
    return;
  }
  if (event.event == "reset") {
    fetch_gap(data);
    return;
  }
  if (event.has_id) {
    auto id = parse_non_negative(event.id);
    if (id && *id <= last_id_) return;  // already handed over before a reconnect
    if (id) last_id_ = *id;
  }
  if (data.is_discarded()) {
    on_notice_("ignored a " + event.event + " event whose data is not JSON");
    return;
  }
  on_item_({event.event, std::move(data), false});
}

void Listener::fetch_gap(const nlohmann::json& reset) {
  std::string reason = reset.is_object() ? reset.value("reason", std::string()) : "";
  if (last_id_ == 0) return;  // nothing was handed over yet, so nothing can be missing
  const int64_t gap_start = last_id_;
  int64_t fetched = 0;
  int failures = 0;
  // GET /log has messages and receipts in one id order; a message-service without it (404) is
  // asked for GET /messages, which has the messages.
  bool use_log = true;
  while (!stopped_) {
    QueryParams query = {{"after", std::to_string(last_id_)},
                         {"limit", std::to_string(kHistoryPage)}};
    if (!settings_.channels.empty()) query.emplace_back("channel", settings_.channels);
    if (!settings_.user.empty()) query.emplace_back("user", settings_.user);
    CallResult page = history_.get(use_log ? "/log" : "/messages", query);
    if (use_log && page.status == 404) {
      use_log = false;
      continue;
    }
    const char* key = use_log ? "events" : "messages";
    const nlohmann::json* items = nullptr;
    if (page.status == 200 && page.json.is_object() && page.json.contains(key) &&
        page.json[key].is_array()) {
      items = &page.json[key];
    }
    if (items == nullptr) {
      if (++failures < kHistoryAttempts && pause(settings_.first_retry * failures)) continue;
      on_notice_(fmt::format(
          "notify-service could not replay what followed [{}] ({}) and {} history failed ({}): "
          "events after [{}] may be missing",
          gap_start, reason, history_.base_url(), describe_failure(page), last_id_));
      return;
    }
    for (const auto& item : *items) {
      auto id = item.is_object() && item.contains("id") && item["id"].is_string()
                    ? parse_non_negative(item["id"].get<std::string>())
                    : std::nullopt;
      if (!id || *id <= last_id_) continue;
      last_id_ = *id;
      ++fetched;
      on_item_({item.value("type", std::string("message")), item, true});
    }
    if (items->size() < static_cast<size_t>(kHistoryPage)) break;
  }
  on_notice_(fmt::format(
      "notify-service could not replay what followed [{}] ({}); fetched {} missed event{} from "
      "{} history",
      gap_start, reason.empty() ? "reset" : reason, fetched, fetched == 1 ? "" : "s",
      history_.base_url()));
}

}  // namespace relay::cli
