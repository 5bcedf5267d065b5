#include "message-service/message_routes.h"

#include <utility>

#include "shared/http/head_checks.h"
#include "shared/http_rules.h"
#include "shared/json_writer.h"
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

// message_reply of a message nobody has a receipt for yet (every new one), written as text: the
// same bytes, once per POST.
std::string new_message_reply(const Message& message) {
  FlatJsonObject extra;
  extra.add_string("status", "sent");
  extra.add_raw("receipts", "[]");
  std::string out;
  append_message_json(message, false, &extra, &out);
  return out;
}

nlohmann::json receipt_reply(const Message& event, bool changed) {
  return {{"id", std::to_string(event.id)},
          {"message_id", std::to_string(event.message_id)},
          {"user", event.user},
          {"status", event.status},
          {"timestamp", format_rfc3339_ms(event.timestamp_ms)},
          {"changed", changed}};
}

// Reads ?limit= (default kDefaultHistoryLimit).
std::variant<int, ApiError> read_limit(const HttpRequest& req) {
  if (!req.has_param("limit")) return kDefaultHistoryLimit;
  auto parsed = parse_non_negative(req.param("limit"));
  if (!parsed || *parsed < 1 || *parsed > kMaxHistoryLimit) {
    return ApiError{400, "invalid_limit", "\"limit\" must be a whole number from 1 to 1000"};
  }
  return static_cast<int>(*parsed);
}

// Reads ?after= (nullopt when absent).
std::variant<std::optional<int64_t>, ApiError> read_after(const HttpRequest& req) {
  if (!req.has_param("after")) return std::optional<int64_t>();
  auto after = parse_non_negative(req.param("after"));
  if (!after)
    return ApiError{400, "invalid_after", "\"after\" must be a message id (a whole number)"};
  return after;
}

// notify-service's port as a browser reaches it: the one in NOTIFICATION_SERVICE_URL, else the
// scheme's default.
std::string notify_port_of(const MessageServiceConfig& config) {
  return url_port(config.notification_service_url);
}

}  // namespace

HttpReply store_unavailable(const Logger& logger, const char* what, const std::string& error) {
  logger.error("store read failed", {{"what", what}, {"error", error}});
  HttpReply reply = HttpReply::error({503, "store_unavailable",
                                      std::string("the store could not be read (") + what +
                                          "); nothing was changed, retry later"});
  reply.headers.emplace_back("Retry-After", "1");
  return reply;
}

HeaderList page_security_headers(const MessageServiceConfig& config, const HttpRequest& request) {
  std::string connect = "'self'";
  if (!config.public_notify_url.empty()) {
    connect += " " + config.public_notify_url;
  } else if (std::string host = host_name_of(request.header("host")); !host.empty()) {
    std::string port = notify_port_of(config);
    connect += " http://" + host + ":" + port + " https://" + host + ":" + port;
  }
  return {{"Content-Security-Policy",
           "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
           "connect-src " +
               connect + "; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"},
          {"Referrer-Policy", "no-referrer"},
          {"X-Frame-Options", "DENY"}};
}

MessageRoutes::MessageRoutes(const MessageServiceConfig& config, MessageStore& store,
                             Forwarder& forwarder, EventBus& bus, ChannelDirectory& channels,
                             MetricsRegistry& metrics, const Logger& logger,
                             const RequestAuthenticator* authenticator, ClusterLimits* cluster)
    : config_(config),
      store_(store),
      forwarder_(forwarder),
      bus_(bus),
      channels_(channels),
      metrics_(metrics),
      logger_(logger),
      authenticator_(authenticator),
      stored_(metrics.counter("relay_messages_stored_total", "Messages durably stored.")),
      idempotent_replays_(metrics.counter(
          "relay_idempotent_replays_total",
          "POST /messages retries answered with the original message (Idempotency-Key).")),
      receipts_stored_(metrics.counter("relay_receipts_stored_total",
                                       "Receipts that moved a message's status forward.")),
      typing_sent_(
          metrics.counter("relay_typing_sent_total", "Typing notices passed to notify-service.")),
      typing_limited_(metrics.counter("relay_typing_rate_limited_total",
                                      "Typing notices refused with 429 (too many per user).")),
      posts_limited_(
          metrics.counter("relay_messages_rate_limited_total",
                          "POST /messages refused with 429 (RATE_MESSAGES_* per user).")),
      post_limiter_("messages", config.rate_messages_burst, config.rate_messages_per_sec, cluster),
      typing_limiter_("typing", 5, 5, cluster) {}

void MessageRoutes::add_routes(Router& router) {
  auto signed_in = [this](HeadCheck next = {}, bool allow_service = false) {
    return signed_in_check(authenticator_, std::move(next), allow_service);
  };
  auto sync = [this](HttpReply (MessageRoutes::*handler)(HttpRequest&)) {
    return [this, handler](HttpRequest& req) { return (this->*handler)(req); };
  };
  const size_t small_body = 16 * 1024;
  router.add({.method = "POST",
              .pattern = "/messages",
              .max_body_bytes = config_.max_body_bytes(),
              .check_head = signed_in(require_json("the message")),
              .async_handler = [this](HttpRequest& req, Responder responder) {
                post_message(req, responder);
              }});
  router.add({.method = "GET",
              .pattern = "/messages",
              .blocking = true,
              .check_head = signed_in(),
              .handler = sync(&MessageRoutes::list_messages)});
  router.add({.method = "GET",
              .pattern = "/messages/{id}",
              .blocking = true,
              .check_head = signed_in(),
              .handler = sync(&MessageRoutes::get_message)});
  router.add({.method = "POST",
              .pattern = "/messages/{id}/receipts",
              .max_body_bytes = small_body,
              .blocking = true,
              .check_head = signed_in(require_json("the receipt")),
              .handler = sync(&MessageRoutes::post_receipt)});
  router.add({.method = "POST",
              .pattern = "/typing",
              .max_body_bytes = small_body,
              .blocking = true,
              .check_head = signed_in(require_json("the typing notice")),
              .handler = sync(&MessageRoutes::post_typing)});
  router.add({.method = "GET",
              .pattern = "/log",
              .blocking = true,
              .check_head = signed_in({}, /*allow_service=*/true),
              .handler = sync(&MessageRoutes::read_log)});
  router.add({.method = "GET",
              .pattern = "/health",
              .blocking = true,
              .handler = sync(&MessageRoutes::health)});
  router.add({.method = "GET", .pattern = "/metrics", .handler = [this](HttpRequest&) {
                return HttpReply::text(200, metrics_.render(), "text/plain; version=0.0.4");
              }});
  router.add(
      {.method = "GET", .pattern = "/config.json", .handler = sync(&MessageRoutes::client_config)});
}

void MessageRoutes::post_message(HttpRequest& req, Responder responder) {
  if (authenticator_ != nullptr && !post_limiter_.allow(req.caller)) {
    posts_limited_.add();
    HttpReply reply = HttpReply::error(
        {429, "rate_limited",
         "at most " + std::to_string(config_.rate_messages_burst) + " messages at once, then " +
             std::to_string(config_.rate_messages_per_sec) +
             " a second per user (RATE_MESSAGES_BURST, RATE_MESSAGES_PER_SEC)"});
    reply.headers.emplace_back("Retry-After", "1");
    responder.send(std::move(reply));
    return;
  }
  std::string key = req.header("idempotency-key");
  if (req.has_header("idempotency-key") && !is_valid_idempotency_key(key)) {
    responder.send(
        HttpReply::error({400, "invalid_idempotency_key",
                          "Idempotency-Key must be 1 to 200 printable ASCII characters"}));
    return;
  }
  auto parsed = parse_message_request(req.body, config_.max_message_bytes, req.caller);
  if (auto* error = std::get_if<ApiError>(&parsed)) {
    responder.send(HttpReply::error(*error));
    return;
  }
  if (const auto& draft = std::get<MessageDraft>(parsed);
      draft.to.empty() && !channels_.private_channels()->may_see(draft.channel, draft.user)) {
    responder.send(HttpReply::error(channel_not_found_error(draft.channel)));
    return;
  }
  // Answered on the store's commit thread once the group holding the message is on disk.
  store_.insert_async(
      std::move(std::get<MessageDraft>(parsed)), std::move(key),
      [this, responder](MessageStore::InsertResult result) {
        HttpReply reply;
        switch (result.outcome) {
          case MessageStore::InsertOutcome::kFailed:
            logger_.error("store write failed", {{"error", result.error}});
            reply = HttpReply::error(
                {503, "store_unavailable",
                 "the message could not be stored; nothing was saved, retry later"});
            reply.headers.emplace_back("Retry-After", "1");
            break;
          case MessageStore::InsertOutcome::kConflict:
            reply = HttpReply::error(
                {409, "idempotency_conflict",
                 "this Idempotency-Key was already used for a different message (id " +
                     std::to_string(result.message.id) + ")"});
            break;
          case MessageStore::InsertOutcome::kReplayed:
            idempotent_replays_.add();
            reply = HttpReply::text(200, new_message_reply(result.message), "application/json");
            reply.headers.emplace_back("Idempotent-Replayed", "true");
            reply.headers.emplace_back("Location",
                                       "/messages/" + std::to_string(result.message.id));
            break;
          case MessageStore::InsertOutcome::kCreated:
            stored_.add();
            forwarder_.committed(result.message);
            reply = HttpReply::text(201, new_message_reply(result.message), "application/json");
            reply.headers.emplace_back("Location",
                                       "/messages/" + std::to_string(result.message.id));
            break;
        }
        responder.send(std::move(reply));
      });
}

HttpReply MessageRoutes::list_messages(HttpRequest& req) {
  auto reader = reading_user(req);
  if (auto* error = std::get_if<ApiError>(&reader)) return HttpReply::error(*error);
  auto filter = parse_filter(req.param("channel"), std::get<std::string>(reader));
  if (auto* error = std::get_if<ApiError>(&filter)) return HttpReply::error(*error);
  if (auto failed = sync_directory()) return std::move(*failed);
  if (auto refused = hide_private(&std::get<MessageFilter>(filter))) return std::move(*refused);
  std::string with = req.param("with");
  if (req.has_param("with") &&
      (!is_valid_user_name(with) || std::get<MessageFilter>(filter).user.empty())) {
    return HttpReply::error(
        {400, "invalid_with",
         "\"with\" names the other party of a direct conversation (1 to 64 bytes) and needs "
         "\"user\""});
  }
  auto after = read_after(req);
  if (auto* error = std::get_if<ApiError>(&after)) return HttpReply::error(*error);
  auto limit = read_limit(req);
  if (auto* error = std::get_if<ApiError>(&limit)) return HttpReply::error(*error);
  auto listed = store_.list(std::get<MessageFilter>(filter),
                            std::get<std::optional<int64_t>>(after), std::get<int>(limit), with);
  if (!listed.ok()) return store_unavailable(logger_, "messages", listed.error);
  std::vector<int64_t> ids;
  for (const auto& message : *listed) ids.push_back(message.id);
  auto receipts = store_.receipts_for(ids);
  if (!receipts.ok()) return store_unavailable(logger_, "receipts", receipts.error);
  nlohmann::json messages = nlohmann::json::array();
  for (const auto& message : *listed) {
    auto found = receipts->find(message.id);
    messages.push_back(found == receipts->end() ? message_reply(message)
                                                : message_reply(message, found->second));
  }
  return HttpReply::json(200, {{"messages", std::move(messages)}});
}

HttpReply MessageRoutes::read_log(HttpRequest& req) {
  auto reader = reading_user(req);
  if (auto* error = std::get_if<ApiError>(&reader)) return HttpReply::error(*error);
  auto filter = parse_filter(req.param("channel"), std::get<std::string>(reader));
  if (auto* error = std::get_if<ApiError>(&filter)) return HttpReply::error(*error);
  if (auto failed = sync_directory()) return std::move(*failed);
  if (auto refused = hide_private(&std::get<MessageFilter>(filter))) return std::move(*refused);
  auto after = read_after(req);
  if (auto* error = std::get_if<ApiError>(&after)) return HttpReply::error(*error);
  auto limit = read_limit(req);
  if (auto* error = std::get_if<ApiError>(&limit)) return HttpReply::error(*error);
  auto page = store_.log(std::get<MessageFilter>(filter),
                         std::get<std::optional<int64_t>>(after).value_or(0), std::get<int>(limit));
  if (!page.ok()) return store_unavailable(logger_, "log", page.error);
  nlohmann::json events = nlohmann::json::array();
  for (const auto& event : page->events) events.push_back(event_to_json(event));
  return HttpReply::json(
      200, {{"events", std::move(events)}, {"last_id", std::to_string(page->last_id)}});
}

HttpReply MessageRoutes::post_receipt(HttpRequest& req) {
  auto parsed = parse_receipt_request(req.body, req.caller);
  if (auto* error = std::get_if<ApiError>(&parsed)) return HttpReply::error(*error);
  const auto& draft = std::get<ReceiptDraft>(parsed);
  const std::string& id_text = req.path_params.at(0);
  auto id = parse_non_negative(id_text);
  if (auto failed = sync_directory()) return std::move(*failed);
  if (PrivateChannelsPtr table = channels_.private_channels(); id && !table->members.empty()) {
    // A receipt for a message of a private channel is the members' only.
    auto found = store_.get(*id);
    if (!found.ok()) return store_unavailable(logger_, "message", found.error);
    if (*found && (*found)->to.empty() && !table->may_see((*found)->channel, draft.user)) {
      id.reset();
    }
  }
  auto result = id ? store_.record_receipt(*id, draft.user, draft.status)
                   : MessageStore::ReceiptResult{MessageStore::ReceiptOutcome::kNotFound, {}, {}};
  HttpReply reply;
  switch (result.outcome) {
    case MessageStore::ReceiptOutcome::kFailed:
      logger_.error("receipt write failed", {{"error", result.error}});
      reply = HttpReply::error({503, "store_unavailable",
                                "the receipt could not be stored; nothing was saved, retry later"});
      reply.headers.emplace_back("Retry-After", "1");
      return reply;
    case MessageStore::ReceiptOutcome::kNotFound:
      return HttpReply::error({404, "message_not_found",
                               "no message with id " + id_text + " is visible to " + draft.user});
    case MessageStore::ReceiptOutcome::kOwnMessage:
      return HttpReply::error(
          {400, "own_message",
           draft.user + " sent message " + id_text + "; receipts come from its readers"});
    case MessageStore::ReceiptOutcome::kUnchanged:
      return HttpReply::json(200, receipt_reply(result.event, false));
    case MessageStore::ReceiptOutcome::kChanged:
      receipts_stored_.add();
      forwarder_.wake();
      return HttpReply::json(201, receipt_reply(result.event, true));
  }
  return HttpReply::error({500, "internal_error", "unknown receipt outcome"});
}

HttpReply MessageRoutes::post_typing(HttpRequest& req) {
  auto parsed = parse_typing_request(req.body, req.caller);
  if (auto* error = std::get_if<ApiError>(&parsed)) return HttpReply::error(*error);
  const auto& draft = std::get<TypingDraft>(parsed);
  if (auto failed = sync_directory()) return std::move(*failed);
  if (draft.to.empty() && !channels_.private_channels()->may_see(draft.channel, draft.user)) {
    return HttpReply::error(channel_not_found_error(draft.channel));
  }
  if (!typing_limiter_.allow(draft.user)) {
    typing_limited_.add();
    HttpReply reply =
        HttpReply::error({429, "rate_limited",
                          "at most 5 typing notices per user per second; this one was dropped"});
    reply.headers.emplace_back("Retry-After", "1");
    return reply;
  }
  Message typing;
  typing.kind = EventKind::kTyping;
  typing.user = draft.user;
  typing.channel = draft.channel;
  typing.to = draft.to;
  typing.timestamp_ms = now_unix_ms();
  // Transient, so not worth the forwarder's durable queue: one call, answered at once.
  std::string error;
  if (!bus_.send_transient(typing, &error)) {
    HttpReply reply = HttpReply::error(
        {503, "notify_unavailable",
         std::string(bus_.far_side()) + " could not be reached; the typing notice was dropped"});
    reply.headers.emplace_back("Retry-After", "1");
    return reply;
  }
  typing_sent_.add();
  return HttpReply::json(202, {{"status", "sent"}});
}

HttpReply MessageRoutes::get_message(HttpRequest& req) {
  const std::string& id_text = req.path_params.at(0);
  auto id = parse_non_negative(id_text);
  std::optional<Message> message;
  if (id) {
    auto found = store_.get(*id);
    if (!found.ok()) return store_unavailable(logger_, "message", found.error);
    message = std::move(*found);
  }
  // A direct message is shown only to its two parties: the caller, or (open mode) ?user=.
  auto reader = reading_user(req);
  if (auto* error = std::get_if<ApiError>(&reader)) return HttpReply::error(*error);
  if (auto failed = sync_directory()) return std::move(*failed);
  if (message && !message->to.empty()) {
    const auto& user = std::get<std::string>(reader);
    if (user != message->to && user != message->user) message.reset();
  } else if (message && !channels_.private_channels()->may_see(message->channel,
                                                               std::get<std::string>(reader))) {
    message.reset();
  }
  if (!message) {
    return HttpReply::error(
        {404, "message_not_found", "no message with id " + id_text + " is visible to you"});
  }
  auto receipts = store_.receipts_for({message->id});
  if (!receipts.ok()) return store_unavailable(logger_, "receipts", receipts.error);
  return HttpReply::json(200, message_reply(*message, (*receipts)[message->id]));
}

std::optional<HttpReply> MessageRoutes::sync_directory() {
  std::string error;
  if (channels_.sync(&error)) return std::nullopt;
  return store_unavailable(logger_, "channels", error);
}

std::optional<HttpReply> MessageRoutes::hide_private(MessageFilter* filter) const {
  PrivateChannelsPtr table = channels_.private_channels();
  if (table->members.empty()) return std::nullopt;
  for (const auto& channel : filter->channels) {
    if (!table->may_see(channel, filter->user))
      return HttpReply::error(channel_not_found_error(channel));
  }
  filter->hidden_channels = table->hidden_from(filter->user);
  return std::nullopt;
}

HttpReply MessageRoutes::health(HttpRequest&) {
  bool store_ok = store_.healthy();
  bool bus_ok = bus_.reachable(500);
  std::optional<int64_t> backlog = forwarder_.backlog();  // nullopt: the store cannot say
  // A standby attempts nothing: a failure from before it lost the lease is not its to report.
  bool forwarding = !forwarder_.leading() || forwarder_.last_attempt_ok();
  bool redis = config_.broker.redis;
  // Degraded but 200 while the bus is down: posts are still stored (201) and go out later.
  nlohmann::json body = {
      {"status", store_ok && (!redis || (bus_ok && forwarding)) ? "ok" : "degraded"},
      {"service", "message-service"},
      {"version", RELAY_VERSION},
      {"store", store_ok ? "ok" : "error"},
      {"store_engine", store_.engine()},
      {"forwarding_role", forwarder_.leading() ? "leader" : "standby"},
      {"broker", bus_.name()},
      {"forward_backlog", backlog ? nlohmann::json(*backlog) : nlohmann::json(nullptr)},
      {"forwarding", forwarding ? "ok" : "retrying"}};
  body[redis ? "redis_reachable" : "notify_reachable"] = bus_ok;
  return HttpReply::json(store_ok ? 200 : 503, body);
}

HttpReply MessageRoutes::client_config(HttpRequest&) {
  std::string notify_port = notify_port_of(config_);
  nlohmann::json body = {
      {"notify_url", config_.public_notify_url.empty() ? nlohmann::json(nullptr)
                                                       : nlohmann::json(config_.public_notify_url)},
      {"notify_port", notify_port},
      {"max_message_bytes", config_.max_message_bytes},
      {"auth_mode", auth_mode_name(config_.exposure)},
      {"registration", config_.registration_open ? "open" : "closed"}};
  HttpReply reply = HttpReply::json(200, body);
  reply.headers.emplace_back("Cache-Control", "no-store");
  return reply;
}

}  // namespace relay
