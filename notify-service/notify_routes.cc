#include "notify-service/notify_routes.h"

#include <algorithm>

#include "notify-service/notify_batch.h"
#include "shared/auth/stream_ticket.h"
#include "shared/sse.h"

namespace relay {

namespace {

// Accounts mode, before the first table of private channels arrived: serving a stream now could
// show a private channel to outsiders.
HttpReply not_ready() {
  HttpReply reply = HttpReply::error(
      {503, "starting",
       "notify-service has not yet learnt the private channels from message-service; retry"});
  reply.headers.emplace_back("Retry-After", "1");
  return reply;
}

// Stream tickets remembered at most (about 100 bytes each): each lives at most a minute, and
// message-service issues at most 10 at once, then 1 a second, per user.
constexpr size_t kMaxUsedTickets = 16384;

}  // namespace

std::optional<HttpReply> check_notify_head(const HttpRequest& head,
                                           const NotifyServiceConfig& config) {
  if (head.has_header("Origin")) {
    return HttpReply::error({403, "forbidden", "POST /notify is not for browsers"});
  }
  if (!is_json_content_type(head.header("Content-Type"))) {
    return HttpReply::error({415, "unsupported_media_type",
                             "send the batch as JSON with Content-Type: application/json"});
  }
  if (!config.notify_token.empty()) {
    if (!bearer_token_matches(head.header("Authorization"), config.notify_token)) {
      HttpReply reply = HttpReply::error(
          {401, "unauthorized", "POST /notify needs Authorization: Bearer <NOTIFY_TOKEN>"});
      reply.headers.emplace_back("WWW-Authenticate", "Bearer");
      return reply;
    }
  } else if (!is_loopback_address(head.remote_addr)) {
    return HttpReply::error(
        {403, "forbidden", "POST /notify accepts only loopback peers unless NOTIFY_TOKEN is set"});
  }
  return std::nullopt;
}

NotifyRoutes::NotifyRoutes(const NotifyServiceConfig& config, Hub& hub, PresenceTracker& presence,
                           HistoryFetch fetch_history, std::function<void(uint64_t)> wake_stream,
                           MetricsRegistry& metrics, const Logger& logger,
                           StoreLastIdFetch store_last_id,
                           const RequestAuthenticator* authenticator)
    : config_(config),
      hub_(hub),
      presence_(presence),
      fetch_history_(std::move(fetch_history)),
      wake_stream_(std::move(wake_stream)),
      metrics_(metrics),
      logger_(logger),
      authenticator_(authenticator),
      stream_counters_{
          metrics.counter("relay_events_sent_total", "Message events written to streams."),
          metrics.counter("relay_heartbeats_sent_total", "Heartbeat comments written to streams."),
          metrics.counter("relay_ring_replays_total",
                          "Streams resumed from the in-memory ring of recent messages."),
          metrics.counter("relay_history_replays_total",
                          "Streams resumed from message-service's history."),
          metrics.counter("relay_resets_total",
                          "Streams told with event: reset that missed messages cannot be "
                          "replayed."),
      },
      notified_(
          metrics.counter("relay_notify_messages_total", "New messages received on POST /notify.")),
      duplicates_(metrics.counter("relay_notify_duplicates_total",
                                  "Messages received again on POST /notify and ignored.")),
      typing_(metrics.counter("relay_typing_events_total",
                              "Typing notices received on POST /notify and broadcast.")),
      rejected_(metrics.counter("relay_subscribers_rejected_total",
                                "Streams refused because MAX_SUBSCRIBERS were open.")),
      implausible_(
          metrics.counter("relay_notify_implausible_ids_total",
                          "POST /notify batches refused for ids above the store's newest.")),
      stale_memberships_(metrics.counter(
          "relay_notify_memberships_stale_total",
          "POST /notify batches refused until message-service sent its private channel table.")),
      streams_limited_(metrics.counter(
          "relay_streams_limited_total",
          "Streams refused with 429 for MAX_STREAMS_PER_USER or MAX_STREAMS_PER_ADDRESS.")),
      tickets_refused_(metrics.counter(
          "relay_stream_tickets_refused_total",
          "GET /events?ticket= refused: a forged, expired or already used stream ticket.")),
      id_guard_(std::move(store_last_id)),
      quota_(config.max_streams_per_user, config.max_streams_per_address),
      used_tickets_(kMaxUsedTickets) {
  metrics.gauge("relay_subscribers", "Open event streams.",
                [this] { return static_cast<double>(hub_.subscriber_count()); });
  metrics.gauge("relay_stream_tickets_remembered",
                "Ids of used stream tickets held until they expire (at most 16384).",
                [this] { return static_cast<double>(used_tickets_.size()); });
}

void NotifyRoutes::add_routes(Router& router) {
  auto bind = [this](HttpReply (NotifyRoutes::*handler)(const HttpRequest&)) {
    return [this, handler](HttpRequest& req) { return (this->*handler)(req); };
  };
  HeadCheck signed_in = signed_in_check(authenticator_);
  HeadCheck stream_check;
  if (authenticator_ != nullptr) {
    stream_check = [this](HttpRequest& head) { return admit_stream(head); };
  }
  router.add({.method = "GET",
              .pattern = "/events",
              .check_head = stream_check,
              .handler = bind(&NotifyRoutes::open_stream)});
  if (!config_.broker.redis) {
    // Not for browsers (no CORS, OPTIONS refused), checked from the head before any body byte is
    // read. Runs on the loop; notify() hands a batch to the pool when IdGuard must ask
    // message-service for the store's newest id.
    router.add(
        {.method = "POST",
         .pattern = "/notify",
         .max_body_bytes = config_.max_notify_body_bytes,
         .cors = false,
         .check_head = [this](HttpRequest& head) { return check_notify_head(head, config_); },
         .handler = bind(&NotifyRoutes::notify)});
    // message-service's private channel table: the same service credential as POST /notify.
    router.add(
        {.method = "PUT",
         .pattern = "/notify/memberships",
         .max_body_bytes = config_.max_notify_body_bytes,
         .blocking = true,
         .cors = false,
         .check_head = [this](HttpRequest& head) { return check_notify_head(head, config_); },
         .handler = bind(&NotifyRoutes::put_memberships)});
  }
  router.add({.method = "GET",
              .pattern = "/presence",
              .check_head = signed_in,
              .handler = bind(&NotifyRoutes::presence)});
  router.add({.method = "GET", .pattern = "/health", .handler = bind(&NotifyRoutes::health)});
  router.add({.method = "GET", .pattern = "/metrics", .handler = [this](HttpRequest&) {
                return HttpReply::text(200, metrics_.render(), "text/plain; version=0.0.4");
              }});
}

HttpReply NotifyRoutes::health(const HttpRequest&) {
  bool bus_ok = !cluster_ || cluster_->connected();
  nlohmann::json body = {{"status", bus_ok ? "ok" : "degraded"},
                         {"service", "notify-service"},
                         {"version", RELAY_VERSION},
                         {"broker", broker_name(config_.broker)},
                         {"subscribers", hub_.subscriber_count()},
                         {"max_subscribers", config_.max_subscribers},
                         {"last_event_id", std::to_string(hub_.last_id())},
                         {"private_channels", authenticator_ == nullptr       ? "not_used"
                                              : hub_.knows_private_channels() ? "loaded"
                                                                              : "waiting"}};
  if (cluster_) {
    body["redis_connected"] = bus_ok;
    body["instance"] = cluster_->instance;
  }
  return HttpReply::json(200, body);
}

std::optional<HttpReply> NotifyRoutes::admit_stream(HttpRequest& head) {
  if (!head.has_param("ticket")) return authenticator_->admit(head);
  int64_t now_s = authenticator_->now_s();
  auto ticket = verify_stream_ticket(authenticator_->key(), head.param("ticket"), now_s);
  if (!ticket) {
    tickets_refused_.add();
    return unauthenticated_reply(
        "the stream ticket is invalid or has expired; get a new one with POST "
        "/auth/stream-ticket");
  }
  UsedTickets::Verdict verdict = used_tickets_.use(ticket->id, ticket->expires_at_s, now_s);
  if (verdict == UsedTickets::Verdict::kFirstUse && cluster_ && cluster_->claim_ticket) {
    // BROKER=redis: first here, but perhaps not first in the cluster.
    std::optional<bool> first =
        cluster_->claim_ticket(ticket->id, (ticket->expires_at_s - now_s) * 1000);
    if (!first) {
      HttpReply reply = HttpReply::error(
          {503, "ticket_check_unavailable",
           "the ticket's single use cannot be checked (Redis is unreachable); retry"});
      reply.headers.emplace_back("Retry-After", "1");
      return reply;
    }
    if (!*first) verdict = UsedTickets::Verdict::kUsedBefore;
  }
  switch (verdict) {
    case UsedTickets::Verdict::kFirstUse:
      head.caller = ticket->user;
      return std::nullopt;
    case UsedTickets::Verdict::kUsedBefore:
      tickets_refused_.add();
      return unauthenticated_reply(
          "this stream ticket was used already; a ticket opens one stream: get a new one with "
          "POST /auth/stream-ticket");
    case UsedTickets::Verdict::kFull:
      break;
  }
  HttpReply reply = HttpReply::error(
      {503, "too_many_tickets", "too many stream tickets are in use; retry in a few seconds"});
  reply.headers.emplace_back("Retry-After", "5");
  return reply;
}

HttpReply NotifyRoutes::open_stream(const HttpRequest& req) {
  if (authenticator_ != nullptr && !hub_.knows_private_channels()) return not_ready();
  auto reader = reading_user(req);
  if (auto* error = std::get_if<ApiError>(&reader)) return HttpReply::error(*error);
  auto filter = parse_filter(req.param("channels"), std::get<std::string>(reader));
  if (auto* error = std::get_if<ApiError>(&filter)) return HttpReply::error(*error);
  PrivateChannelsPtr private_channels = hub_.private_channels();
  for (const auto& channel : std::get<MessageFilter>(filter).channels) {
    if (!private_channels->may_see(channel, std::get<std::string>(reader)))
      return HttpReply::error(channel_not_found_error(channel));
  }
  std::string resume_text = req.header("Last-Event-ID");
  if (resume_text.empty()) resume_text = req.param("last_event_id");
  std::optional<int64_t> last_event_id;
  if (!resume_text.empty()) {
    last_event_id = parse_non_negative(resume_text);
    if (!last_event_id) {
      return HttpReply::error(
          {400, "invalid_last_event_id",
           "Last-Event-ID / last_event_id must be a message id (a whole number)"});
    }
  }
  std::string client_id = req.param("client_id");
  if (client_id.empty()) {
    client_id = "client-" + std::to_string(next_client_number_++);
  } else if (!is_printable_token(client_id, 64)) {
    return HttpReply::error(
        {400, "invalid_client_id",
         "client_id must be 1 to 64 printable ASCII characters without spaces"});
  }

  // Signed in: streams count against the caller's and the address's quota until they close (over
  // every instance with BROKER=redis).
  const bool counted = authenticator_ != nullptr;
  if (counted) {
    auto verdict = acquire_stream(req.caller, req.remote_addr);
    if (verdict != StreamQuota::Verdict::kGranted) {
      streams_limited_.add();
      bool user_full = verdict == StreamQuota::Verdict::kUserFull;
      HttpReply reply =
          HttpReply::error({429, "too_many_streams",
                            user_full ? "you have " + std::to_string(quota_.per_user()) +
                                            " streams open (MAX_STREAMS_PER_USER); close one first"
                                      : "this address has " + std::to_string(quota_.per_address()) +
                                            " streams open (MAX_STREAMS_PER_ADDRESS)"});
      reply.headers.emplace_back("Retry-After", "5");
      return reply;
    }
  }
  uint64_t connection_id = req.connection_id;
  auto subscription =
      hub_.subscribe(std::get<MessageFilter>(filter), last_event_id,
                     [wake = &wake_stream_, connection_id] { (*wake)(connection_id); });
  if (!subscription.subscriber) {
    if (counted) release_stream(req.caller, req.remote_addr);
    rejected_.add();
    HttpReply reply = HttpReply::error({503, "too_many_subscribers",
                                        "the service holds its limit of " +
                                            std::to_string(config_.max_subscribers) +
                                            " streams (or is stopping); retry later"});
    reply.headers.emplace_back("Retry-After", "5");
    return reply;
  }
  StreamOptions options;
  options.retry_ms = config_.retry_ms;
  options.heartbeat = std::chrono::seconds(config_.heartbeat_seconds);
  logger_.info("stream opened", {{"client_id", client_id},
                                 {"channels", req.param("channels")},
                                 {"user", std::get<std::string>(reader)},
                                 {"last_event_id", resume_text},
                                 {"remote", req.remote_addr}});
  const auto& stream_filter = subscription.subscriber->filter();
  if (!stream_filter.user.empty())
    presence_.stream_opened(stream_filter.user, stream_filter.channels);
  HttpReply reply;
  reply.headers = {{"Cache-Control", "no-store"}, {"X-Accel-Buffering", "no"}};
  auto session = std::make_shared<StreamSession>(hub_, subscription, last_event_id, client_id,
                                                 options, fetch_history_, stream_counters_);
  session->set_on_closed(
      [this, counted, user = req.caller, address = req.remote_addr](const StreamSession& closed) {
        stream_ended(closed);
        if (counted) release_stream(user, address);
      });
  reply.stream = std::move(session);
  return reply;
}

StreamQuota::Verdict NotifyRoutes::acquire_stream(const std::string& user,
                                                  const std::string& address) {
  auto verdict = quota_.acquire(user, address);
  if (verdict != StreamQuota::Verdict::kGranted || !cluster_ || !cluster_->acquire_stream)
    return verdict;
  verdict = cluster_->acquire_stream(user, address);
  if (verdict != StreamQuota::Verdict::kGranted) quota_.release(user, address);
  return verdict;
}

void NotifyRoutes::release_stream(const std::string& user, const std::string& address) {
  quota_.release(user, address);
  if (cluster_ && cluster_->release_stream) cluster_->release_stream(user, address);
}

void NotifyRoutes::stream_ended(const StreamSession& session) {
  hub_.unsubscribe(session.subscriber());
  const auto& filter = session.subscriber()->filter();
  if (!filter.user.empty()) presence_.stream_closed(filter.user, filter.channels);
  logger_.info("stream closed", {{"client_id", session.client_id()},
                                 {"last_sent_id", session.last_sent_id()},
                                 {"cut_slow", session.subscriber()->was_cut() ? 1 : 0}});
}

std::optional<HttpReply> NotifyRoutes::check_memberships_version(int64_t version) {
  int64_t held = hub_.private_channels()->version;
  if (version == held) return std::nullopt;
  stale_memberships_.add();
  return HttpReply::error({409, "memberships_stale",
                           "this batch was made under private channel table version " +
                               std::to_string(version) + "; this service holds version " +
                               std::to_string(held) + ": PUT /notify/memberships first"});
}

HttpReply NotifyRoutes::notify(const HttpRequest& req) {
  // The batch was made under message-service's private channel table of this version; fanning it
  // out under another could show a private channel to outsiders. Refused until PUT
  // /notify/memberships brought that version (message-service then sends the batch again).
  auto version = req.has_header("Memberships-Version")
                     ? parse_non_negative(req.header("Memberships-Version"))
                     : std::optional<int64_t>(0);
  if (!version) {
    return HttpReply::error(
        {400, "invalid_memberships_version", "Memberships-Version must be a whole number"});
  }
  if (auto stale = check_memberships_version(*version)) return std::move(*stale);
  auto parsed = parse_notify_batch(req.body);
  if (auto* error = std::get_if<ApiError>(&parsed)) return HttpReply::error(*error);
  auto& messages = std::get<std::vector<Message>>(parsed);
  // Sorted by id: the last one is the highest (typing has id 0).
  int64_t highest_id = messages.empty() ? 0 : messages.back().id;
  // The forwarder's batches follow the hub's newest id: published here, on the loop, with no hop
  // to a worker. Only ids far ahead make IdGuard ask message-service, which blocks.
  if (!id_guard_.needs_store(hub_.last_id(), highest_id)) {
    return publish_batch(std::move(messages), req.remote_addr);
  }
  return HttpReply::on_pool(
      [this, version = *version, messages = std::move(messages), remote = req.remote_addr] {
        // The table may have changed while the batch waited for a worker.
        if (auto stale = check_memberships_version(version)) return std::move(*stale);
        return publish_batch(messages, remote);
      });
}

HttpReply NotifyRoutes::publish_batch(std::vector<Message> messages, const std::string& remote) {
  int64_t highest_id = messages.empty() ? 0 : messages.back().id;
  auto decision = id_guard_.check(hub_.last_id(), highest_id);
  if (decision.verdict == IdGuard::Verdict::kCannotVerify) {
    logger_.warn("notify ids unverified", {{"highest_id", highest_id}, {"remote", remote}});
    HttpReply reply = HttpReply::error(
        {503, "store_unreachable",
         "id " + std::to_string(highest_id) +
             " is far above the newest id seen and message-service could not be asked for the "
             "store's newest; retry later"});
    reply.headers.emplace_back("Retry-After", "1");
    return reply;
  }
  if (decision.verdict == IdGuard::Verdict::kImplausible) {
    implausible_.add();
    logger_.warn("notify ids implausible", {{"highest_id", highest_id},
                                            {"store_last_id", decision.store_last_id.value_or(0)},
                                            {"remote", remote}});
    return HttpReply::error({400, "implausible_id",
                             "id " + std::to_string(highest_id) +
                                 " is above the store's newest id " +
                                 std::to_string(decision.store_last_id.value_or(0)) +
                                 "; nothing of this batch was published"});
  }
  // Typing is transient: broadcast now, outside the id order; the rest go through dedupe and ring.
  size_t typing = 0;
  for (const auto& message : messages) {
    if (message.kind != EventKind::kTyping) continue;
    hub_.publish_transient(message);
    ++typing;
  }
  typing_.add(typing);
  std::erase_if(messages,
                [](const Message& message) { return message.kind == EventKind::kTyping; });
  size_t accepted = hub_.publish(messages);
  notified_.add(accepted);
  duplicates_.add(messages.size() - accepted);
  return HttpReply::json(200, {{"accepted", accepted},
                               {"duplicates", messages.size() - accepted},
                               {"typing", typing},
                               {"last_event_id", std::to_string(hub_.last_id())},
                               {"private_channels", authenticator_ == nullptr       ? "not_used"
                                                    : hub_.knows_private_channels() ? "loaded"
                                                                                    : "waiting"}});
}

HttpReply NotifyRoutes::put_memberships(const HttpRequest& req) {
  if (!is_valid_utf8(req.body)) {
    return HttpReply::error({400, "invalid_utf8", "the request body must be valid UTF-8"});
  }
  auto parsed = nlohmann::json::parse(req.body, nullptr, false);
  if (parsed.is_discarded()) {
    return HttpReply::error({400, "invalid_json", "the request body is not valid JSON"});
  }
  std::string error;
  PrivateChannelsPtr table = PrivateChannels::from_json(parsed, &error);
  if (!table) return HttpReply::error({400, "invalid_memberships", error});
  int64_t version = table->version;
  size_t channels = table->members.size();
  hub_.set_private_channels(std::move(table));
  logger_.info("private channels updated", {{"version", version}, {"channels", channels}});
  return HttpReply::json(200, {{"version", std::to_string(version)}, {"channels", channels}});
}

HttpReply NotifyRoutes::presence(const HttpRequest& req) {
  if (authenticator_ != nullptr && !hub_.knows_private_channels()) return not_ready();
  std::optional<std::string> channel;
  if (!req.param("channel").empty()) {
    channel = req.param("channel");
    if (!is_valid_channel(*channel)) {
      return HttpReply::error(
          {400, "invalid_channel", "\"channel\" must be 1 to 64 characters of [A-Za-z0-9_.-]"});
    }
  }
  if (channel && !hub_.private_channels()->may_see(*channel, req.caller)) {
    return HttpReply::error(channel_not_found_error(*channel));
  }
  nlohmann::json body = {
      {"users", cluster_ ? cluster_->present_users(channel) : presence_.users(channel)}};
  body["channel"] = channel ? nlohmann::json(*channel) : nlohmann::json(nullptr);
  HttpReply reply = HttpReply::json(200, body);
  reply.headers.emplace_back("Cache-Control", "no-store");
  return reply;
}

}  // namespace relay
