#include "message-service/message_routes.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <regex>

#include "message-service/notify_client.h"
#include "shared/http_support.h"
#include "shared/time_format.h"

namespace relay {

namespace {

constexpr int kDefaultHistoryLimit = 50;
constexpr int kMaxHistoryLimit = 1000;

// A message as the API shows it: the wire form, its readers' receipts, and its overall status
// (read when any reader read it, else delivered when any got it, else sent).
nlohmann::json message_reply(const Message& message,
                             const std::vector<MessageStore::Receipt>& receipts = {}) {
  auto body = message_to_json(message);
  std::string status = "sent";
  nlohmann::json listed = nlohmann::json::array();
  for (const auto& receipt : receipts) {
    if (receipt.status == "read") {
      status = "read";
    } else if (status == "sent") {
      status = "delivered";
    }
    listed.push_back({{"user", receipt.user},
                      {"status", receipt.status},
                      {"timestamp", format_rfc3339_ms(receipt.timestamp_ms)}});
  }
  body["status"] = status;
  body["receipts"] = std::move(listed);
  return body;
}

nlohmann::json receipt_reply(const Message& event, bool changed) {
  return {{"id", std::to_string(event.id)},
          {"message_id", std::to_string(event.message_id)},
          {"user", event.user},
          {"status", event.status},
          {"timestamp", format_rfc3339_ms(event.timestamp_ms)},
          {"changed", changed}};
}

// The media type of a Content-Type header, lower-cased, without parameters.
std::string media_type(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  type.erase(
      std::remove_if(type.begin(), type.end(), [](unsigned char c) { return std::isspace(c); }),
      type.end());
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return type;
}

// True when the request says its body is JSON; otherwise answers 415 and returns false.
bool require_json(const httplib::Request& req, httplib::Response& res, const char* what) {
  if (media_type(req.get_header_value("Content-Type")) == "application/json") return true;
  send_error(res, {415, "unsupported_media_type",
                   std::string("send ") + what + " as JSON with Content-Type: application/json"});
  return false;
}

// Reads ?limit= (default kDefaultHistoryLimit); answers 400 and returns nullopt when invalid.
std::optional<int> read_limit(const httplib::Request& req, httplib::Response& res) {
  if (!req.has_param("limit")) return kDefaultHistoryLimit;
  auto parsed = parse_non_negative(req.get_param_value("limit"));
  if (!parsed || *parsed < 1 || *parsed > kMaxHistoryLimit) {
    send_error(res, {400, "invalid_limit", "\"limit\" must be a whole number from 1 to 1000"});
    return std::nullopt;
  }
  return static_cast<int>(*parsed);
}

// Reads ?after=; answers 400 and sets *ok = false when present but invalid.
std::optional<int64_t> read_after(const httplib::Request& req, httplib::Response& res, bool* ok) {
  *ok = true;
  if (!req.has_param("after")) return std::nullopt;
  auto after = parse_non_negative(req.get_param_value("after"));
  if (!after) {
    send_error(res, {400, "invalid_after", "\"after\" must be a message id (a whole number)"});
    *ok = false;
  }
  return after;
}

// Answers 503 store_unavailable for a request whose store read failed, and logs SQLite's reason
// (the client only learns that it may retry).
void answer_read_failure(httplib::Response& res, const Logger& logger, const std::string& error) {
  logger.error("store read failed", {{"error", error}});
  res.set_header("Retry-After", "1");
  send_error(res, {503, "store_unavailable", "the store could not be read; retry later"});
}

}  // namespace

MessageRoutes::MessageRoutes(const MessageServiceConfig& config, MessageStore& store,
                             Forwarder& forwarder, MetricsRegistry& metrics, const Logger& logger)
    : config_(config),
      store_(store),
      forwarder_(forwarder),
      metrics_(metrics),
      logger_(logger),
      stored_(metrics.counter("relay_messages_stored_total", "Messages durably stored.")),
      idempotent_replays_(metrics.counter(
          "relay_idempotent_replays_total",
          "POST /messages retries answered with the original message (Idempotency-Key).")),
      receipts_stored_(metrics.counter("relay_receipts_stored_total",
                                       "Receipts that moved a message's status forward.")),
      typing_sent_(
          metrics.counter("relay_typing_sent_total", "Typing notices passed to notify-service.")),
      typing_limited_(metrics.counter("relay_typing_rate_limited_total",
                                      "Typing notices refused with 429 (too many per user).")) {}

const RouteTable& MessageRoutes::table() {
  static const RouteTable routes = [] {
    RouteTable table;
    table.add("/messages", "/messages", {"GET", "POST"});
    table.add("/messages/[0-9]+", "/messages/{id}", {"GET"});
    table.add("/messages/[0-9]+/receipts", "/messages/{id}/receipts", {"POST"});
    table.add("/typing", "/typing", {"POST"});
    table.add("/log", "/log", {"GET"});
    table.add("/channels", "/channels", {"GET"});
    table.add("/health", "/health", {"GET"});
    table.add("/metrics", "/metrics", {"GET"});
    table.add("/config\\.json", "/config.json", {"GET"});
    table.add("/|/index\\.html|/.*\\.(js|css|png|svg|ico)", "static", {"GET", "HEAD"});
    return table;
  }();
  return routes;
}

bool MessageRoutes::attach(httplib::Server& server) {
  server.Post("/messages", [this](const httplib::Request& req, httplib::Response& res) {
    if (!require_json(req, res, "the message")) return;
    std::string key = req.get_header_value("Idempotency-Key");
    if (req.has_header("Idempotency-Key") && !is_valid_idempotency_key(key)) {
      send_error(res, {400, "invalid_idempotency_key",
                       "Idempotency-Key must be 1 to 200 printable ASCII characters"});
      return;
    }
    auto parsed = parse_message_request(req.body, config_.max_message_bytes);
    if (auto* error = std::get_if<ApiError>(&parsed)) {
      send_error(res, *error);
      return;
    }
    auto result = store_.insert(std::get<MessageDraft>(parsed), key);
    switch (result.outcome) {
      case MessageStore::InsertOutcome::kFailed:
        logger_.error("store write failed", {{"error", result.error}});
        send_error(res, {503, "store_unavailable",
                         "the message could not be stored; nothing was saved, retry later"});
        res.set_header("Retry-After", "1");
        return;
      case MessageStore::InsertOutcome::kConflict:
        send_error(res, {409, "idempotency_conflict",
                         "this Idempotency-Key was already used for a different message (id " +
                             std::to_string(result.message.id) + ")"});
        return;
      case MessageStore::InsertOutcome::kReplayed:
        idempotent_replays_.add();
        res.set_header("Idempotent-Replayed", "true");
        res.set_header("Location", "/messages/" + std::to_string(result.message.id));
        send_json(res, 200, message_reply(result.message));
        return;
      case MessageStore::InsertOutcome::kCreated:
        stored_.add();
        forwarder_.wake();
        res.set_header("Location", "/messages/" + std::to_string(result.message.id));
        send_json(res, 201, message_reply(result.message));
        return;
    }
  });

  server.Get("/messages", [this](const httplib::Request& req, httplib::Response& res) {
    auto filter = parse_filter(req.get_param_value("channel"), req.get_param_value("user"));
    if (auto* error = std::get_if<ApiError>(&filter)) {
      send_error(res, *error);
      return;
    }
    std::string with = req.get_param_value("with");
    if (req.has_param("with") &&
        (!is_valid_user_name(with) || std::get<MessageFilter>(filter).user.empty())) {
      send_error(res, {400, "invalid_with",
                       "\"with\" names the other party of a direct conversation (1 to 64 bytes) "
                       "and needs \"user\""});
      return;
    }
    bool after_ok = true;
    auto after = read_after(req, res, &after_ok);
    auto limit = after_ok ? read_limit(req, res) : std::nullopt;
    if (!limit) return;
    auto listed = store_.list(std::get<MessageFilter>(filter), after, *limit, with);
    if (!listed.ok()) return answer_read_failure(res, logger_, listed.error);
    std::vector<int64_t> ids;
    for (const auto& message : *listed) ids.push_back(message.id);
    auto receipts = store_.receipts_for(ids);
    if (!receipts.ok()) return answer_read_failure(res, logger_, receipts.error);
    nlohmann::json messages = nlohmann::json::array();
    for (const auto& message : *listed) {
      auto found = receipts->find(message.id);
      messages.push_back(found == receipts->end() ? message_reply(message)
                                                  : message_reply(message, found->second));
    }
    send_json(res, 200, {{"messages", std::move(messages)}});
  });

  server.Get("/log", [this](const httplib::Request& req, httplib::Response& res) {
    auto filter = parse_filter(req.get_param_value("channel"), req.get_param_value("user"));
    if (auto* error = std::get_if<ApiError>(&filter)) {
      send_error(res, *error);
      return;
    }
    bool after_ok = true;
    auto after = read_after(req, res, &after_ok);
    auto limit = after_ok ? read_limit(req, res) : std::nullopt;
    if (!limit) return;
    auto page = store_.log(std::get<MessageFilter>(filter), after.value_or(0), *limit);
    if (!page.ok()) return answer_read_failure(res, logger_, page.error);
    nlohmann::json events = nlohmann::json::array();
    for (const auto& event : page->events) events.push_back(event_to_json(event));
    // The store's newest id, as ids are shown: a reader can tell a cursor ahead of the store.
    send_json(res, 200,
              {{"events", std::move(events)}, {"last_id", std::to_string(page->last_id)}});
  });

  server.Post("/messages/([0-9]+)/receipts", [this](const httplib::Request& req,
                                                    httplib::Response& res) {
    if (!require_json(req, res, "the receipt")) return;
    auto parsed = parse_receipt_request(req.body);
    if (auto* error = std::get_if<ApiError>(&parsed)) {
      send_error(res, *error);
      return;
    }
    const auto& draft = std::get<ReceiptDraft>(parsed);
    auto id = parse_non_negative(req.matches[1].str());
    auto result = id ? store_.record_receipt(*id, draft.user, draft.status)
                     : MessageStore::ReceiptResult{MessageStore::ReceiptOutcome::kNotFound, {}, {}};
    switch (result.outcome) {
      case MessageStore::ReceiptOutcome::kFailed:
        logger_.error("receipt write failed", {{"error", result.error}});
        res.set_header("Retry-After", "1");
        send_error(res, {503, "store_unavailable",
                         "the receipt could not be stored; nothing was saved, retry later"});
        return;
      case MessageStore::ReceiptOutcome::kNotFound:
        send_error(res,
                   {404, "message_not_found",
                    "no message with id " + req.matches[1].str() + " is visible to " + draft.user});
        return;
      case MessageStore::ReceiptOutcome::kOwnMessage:
        send_error(res, {400, "own_message",
                         draft.user + " sent message " + req.matches[1].str() +
                             "; receipts come from its readers"});
        return;
      case MessageStore::ReceiptOutcome::kUnchanged:
        send_json(res, 200, receipt_reply(result.event, false));
        return;
      case MessageStore::ReceiptOutcome::kChanged:
        receipts_stored_.add();
        forwarder_.wake();
        send_json(res, 201, receipt_reply(result.event, true));
        return;
    }
  });

  server.Post("/typing", [this](const httplib::Request& req, httplib::Response& res) {
    if (!require_json(req, res, "the typing notice")) return;
    auto parsed = parse_typing_request(req.body);
    if (auto* error = std::get_if<ApiError>(&parsed)) {
      send_error(res, *error);
      return;
    }
    const auto& draft = std::get<TypingDraft>(parsed);
    if (!typing_limiter_.allow(draft.user)) {
      typing_limited_.add();
      res.set_header("Retry-After", "1");
      send_error(res, {429, "rate_limited",
                       "at most 5 typing notices per user per second; this one was dropped"});
      return;
    }
    Message typing;
    typing.kind = EventKind::kTyping;
    typing.user = draft.user;
    typing.channel = draft.channel;
    typing.to = draft.to;
    typing.timestamp_ms = now_unix_ms();
    // Transient, so not worth the forwarder's durable queue: one direct call, answered at once.
    NotifyClient client(config_.notification_service_url, config_.notify_token);
    std::string error;
    if (!client.send({typing}, &error)) {
      res.set_header("Retry-After", "1");
      send_error(res, {503, "notify_unavailable",
                       "notify-service could not be reached; the typing notice was dropped"});
      return;
    }
    typing_sent_.add();
    send_json(res, 202, {{"status", "sent"}});
  });

  server.Get("/messages/([0-9]+)", [this](const httplib::Request& req, httplib::Response& res) {
    auto id = parse_non_negative(req.matches[1].str());
    std::optional<Message> message;
    if (id) {
      auto found = store_.get(*id);
      if (!found.ok()) return answer_read_failure(res, logger_, found.error);
      message = std::move(*found);
    }
    // A direct message is shown only to a party named by ?user= (auth comes later).
    if (message && !message->to.empty()) {
      auto user = req.get_param_value("user");
      if (user != message->to && user != message->user) message.reset();
    }
    if (!message) {
      send_error(res, {404, "message_not_found",
                       "no message with id " + req.matches[1].str() + " is visible to you"});
      return;
    }
    auto receipts = store_.receipts_for({message->id});
    if (!receipts.ok()) return answer_read_failure(res, logger_, receipts.error);
    send_json(res, 200, message_reply(*message, (*receipts)[message->id]));
  });

  server.Get("/channels", [this](const httplib::Request&, httplib::Response& res) {
    auto summaries = store_.channels();
    if (!summaries.ok()) return answer_read_failure(res, logger_, summaries.error);
    nlohmann::json channels = nlohmann::json::array();
    for (const auto& channel : *summaries) {
      channels.push_back({{"name", channel.name},
                          {"messages", channel.messages},
                          {"last_message_id", std::to_string(channel.last_message_id)},
                          {"last_activity", format_rfc3339_ms(channel.last_activity_ms)}});
    }
    send_json(res, 200, {{"channels", channels}});
  });

  server.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    bool store_ok = store_.healthy();
    bool notify_ok = probe_notify_service(config_.notification_service_url, 500);
    std::optional<int64_t> backlog = forwarder_.backlog();  // nullopt: the store cannot say
    send_json(res, store_ok ? 200 : 503,
              {{"status", store_ok ? "ok" : "degraded"},
               {"service", "message-service"},
               {"version", RELAY_VERSION},
               {"store", store_ok ? "ok" : "error"},
               {"forward_backlog", backlog ? nlohmann::json(*backlog) : nlohmann::json(nullptr)},
               {"forwarding", forwarder_.last_attempt_ok() ? "ok" : "retrying"},
               {"notify_reachable", notify_ok}});
  });

  server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(), "text/plain; version=0.0.4");
  });

  server.Get("/config.json", [this](const httplib::Request&, httplib::Response& res) {
    static const std::regex kPort(R"(:([0-9]+)$)");
    std::smatch port_match;
    const auto& url = config_.notification_service_url;
    std::string notify_port = std::regex_search(url, port_match, kPort) ? port_match[1].str()
                              : url.rfind("https", 0) == 0              ? "443"
                                                                        : "80";
    nlohmann::json body = {{"notify_url", config_.public_notify_url.empty()
                                              ? nlohmann::json(nullptr)
                                              : nlohmann::json(config_.public_notify_url)},
                           {"notify_port", notify_port},
                           {"max_message_bytes", config_.max_message_bytes}};
    res.set_header("Cache-Control", "no-store");
    send_json(res, 200, body);
  });

  return std::filesystem::is_directory(config_.www_dir) &&
         server.set_mount_point("/", config_.www_dir);
}

}  // namespace relay
