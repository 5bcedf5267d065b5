#include "message-service/message_service.h"

#include "message-service/account_store.h"
#include "message-service/auth_routes.h"
#include "message-service/channel_directory.h"
#include "message-service/channel_routes.h"
#include "message-service/cluster_limits.h"
#include "message-service/cluster_watch.h"
#include "message-service/direct_bus.h"
#include "message-service/forwarder.h"
#include "message-service/forwarding_lease.h"
#include "message-service/message_routes.h"
#include "message-service/postgres_store.h"
#include "message-service/redis_bus.h"
#include "message-service/revoked_sessions.h"
#include "message-service/sqlite_store.h"
#include "shared/auth/request_auth.h"
#include "shared/http/http_server.h"
#include "shared/http/router.h"
#include "shared/http/static_files.h"
#include "shared/time_format.h"

namespace relay {

namespace {

bool touches_private_channel(const std::vector<Message>& batch, const PrivateChannels& table) {
  for (const Message& message : batch) {
    if (message.to.empty() && table.is_private(message.channel)) return true;
  }
  return false;
}

}  // namespace

struct MessageService::Parts {
  MetricsRegistry metrics;
  std::unique_ptr<MessageStore> store;
  std::unique_ptr<ChannelDirectory> channels;
  std::unique_ptr<EventBus> bus;
  std::unique_ptr<Forwarder> forwarder;
  std::unique_ptr<ForwardingLease> lease;  // STORE=postgres only
  std::unique_ptr<ClusterWatch> watch;     // STORE=postgres only
  std::unique_ptr<ClusterLimits> limits;   // STORE=postgres only: rate limits across instances
  std::unique_ptr<MessageRoutes> routes;
  std::unique_ptr<ChannelRoutes> channel_routes;
  // AUTH_MODE=accounts only.
  std::unique_ptr<AccountStore> accounts;
  RevokedSessions revoked;
  int64_t revoked_read_ms = 0;  // the watch thread's only: ended sessions were read from here
  std::unique_ptr<RequestAuthenticator> authenticator;
  std::unique_ptr<AuthRoutes> auth_routes;
  Router router;
  std::unique_ptr<StaticFiles> www;
  std::unique_ptr<HttpServer> server;
  bool running = false;
};

MessageService::MessageService(MessageServiceConfig config)
    : config_(std::move(config)), parts_(std::make_unique<Parts>()) {}

MessageService::~MessageService() {
  stop();
}

bool MessageService::start() {
  auto& p = *parts_;
  std::string error;
  p.store = config_.postgres ? PostgresMessageStore::open(config_.database_url, &error)
                             : SqliteMessageStore::open(config_.data_dir, &error);
  if (!p.store) {
    logger_.error("cannot open the message store", {{"error", error}});
    return false;
  }
  // With a shared store the directory is shared too: one set of channels for every instance.
  p.channels = ChannelDirectory::open_for(config_, &error);
  if (!p.channels) {
    logger_.error("cannot open the channel directory", {{"error", error}});
    return false;
  }
  auto memberships = [channels = p.channels.get()] { return channels->private_channels(); };
  if (config_.broker.redis) {
    p.bus = std::make_unique<RedisBus>(config_.broker, memberships);
  } else {
    p.bus = std::make_unique<DirectBus>(config_.notification_service_url, config_.notify_token,
                                        memberships);
  }
  Forwarder::Options options;
  options.batch_size = static_cast<size_t>(config_.forward_batch_size);
  options.retry_max_ms = config_.forward_retry_max_ms;
  options.target = p.bus->far_side();
  options.starts_leading = !config_.postgres;  // with a shared store, the lease decides
  p.forwarder = std::make_unique<Forwarder>(
      *p.store,
      [bus = p.bus.get(), channels = p.channels.get()](const std::vector<Message>& batch,
                                                       std::string* why) {
        // Every membership change committed before these messages were read is in the table
        // they go out under (another instance may have made it a moment ago). When the directory
        // cannot be read, only a batch that no membership decides (public channels, direct
        // messages) goes out: a channel with messages never becomes private.
        if (!channels->sync(why) && touches_private_channel(batch, *channels->private_channels())) {
          return false;
        }
        return bus->send(batch, why);
      },
      options, logger_, p.metrics);
  // Several instances share one budget per user (STORE=postgres comes with BROKER=redis).
  if (config_.postgres) {
    p.limits = std::make_unique<ClusterLimits>(config_.broker.redis_url, logger_, p.metrics);
  }
  if (config_.exposure.accounts() && !start_accounts()) return false;
  p.routes =
      std::make_unique<MessageRoutes>(config_, *p.store, *p.forwarder, *p.bus, *p.channels,
                                      p.metrics, logger_, p.authenticator.get(), p.limits.get());
  p.channel_routes = std::make_unique<ChannelRoutes>(
      config_, *p.store, *p.channels, *p.bus, p.accounts.get(), logger_, p.authenticator.get());

  if (p.auth_routes) p.auth_routes->add_routes(p.router);
  p.routes->add_routes(p.router);
  p.channel_routes->add_routes(p.router);
  p.www = std::make_unique<StaticFiles>(
      config_.www_dir, 8 << 20,
      [this](const HttpRequest& request) { return page_security_headers(config_, request); });
  bool www_mounted = p.www->usable();

  HttpServer::Options http;
  http.router = &p.router;
  // Accounts mode: answers are personal; only the page's own origin and ALLOWED_ORIGINS read them.
  http.cors.credentialed = config_.exposure.accounts();
  http.cors.allowed_origins = config_.auth.allowed_origins;
  http.metrics = &p.metrics;
  http.logger = &logger_;
  http.static_files = www_mounted ? p.www.get() : nullptr;
  config_.http.apply(&http);
  p.server = std::make_unique<HttpServer>(http);
  // The listening line comes first, before any request can be served and logged.
  int port = p.server->start(config_.exposure.bind_address, config_.port, [&](int bound_port) {
    logger_.info("listening",
                 {{"port", bound_port},
                  {"address", config_.exposure.bind_address},
                  {"version", RELAY_VERSION},
                  {"store", p.store->engine()},
                  {config_.postgres ? "database_url" : "data_dir",
                   config_.postgres ? pg_url_for_display(config_.database_url) : config_.data_dir},
                  {"www_dir", config_.www_dir},
                  {"broker", broker_name(config_.broker)},
                  {config_.broker.redis ? "redis_url" : "notify_url",
                   config_.broker.redis ? config_.broker.redis_url.display()
                                        : config_.notification_service_url},
                  {"auth_mode", auth_mode_name(config_.exposure)}});
  });
  if (port < 0) {
    logger_.error("cannot listen",
                  {{"address", config_.exposure.bind_address}, {"port", config_.port}});
    return false;
  }
  p.running = true;
  if (!www_mounted) {
    logger_.warn("www directory not found; the chat page is not served",
                 {{"www_dir", config_.www_dir}});
  }
  p.forwarder->start();
  if (config_.postgres) {
    Forwarder* forwarder = p.forwarder.get();
    p.lease = std::make_unique<ForwardingLease>(
        config_.database_url, [forwarder](bool leading) { forwarder->set_leading(leading); },
        [forwarder] { forwarder->wake(); }, logger_);
    p.lease->start();
    p.watch = std::make_unique<ClusterWatch>(
        config_.database_url, [this] { catch_up_with_cluster(); }, logger_);
    p.watch->start();
  }
  auto forwarded_upto = p.store->forwarded_upto();
  auto last_id = p.store->last_id();
  if (forwarded_upto.ok() && last_id.ok()) {
    logger_.info("forwarder started", {{"forwarded_upto", *forwarded_upto}, {"last_id", *last_id}});
  } else {
    logger_.warn("forwarder started; the store cannot be read yet",
                 {{"error", forwarded_upto.ok() ? last_id.error : forwarded_upto.error}});
  }
  return true;
}

bool MessageService::start_accounts() {
  auto& p = *parts_;
  std::string error;
  p.accounts = AccountStore::open_for(config_, &error);
  if (!p.accounts) {
    logger_.error("cannot open the account store", {{"error", error}});
    return false;
  }
  AuthKey key = resolve_auth_key(config_.auth, config_.data_dir + "/auth.key", /*create=*/true);
  if (!key.error.empty()) {
    logger_.error("no token key", {{"error", key.error}});
    return false;
  }
  // Sessions ended within one token lifetime may still have unexpired tokens: refuse those.
  int64_t now_ms = now_unix_ms();
  auto ended = p.accounts->ended_since(now_ms - config_.auth.access_token_ttl_s * 1000);
  if (!ended.ok()) {
    logger_.error("cannot read ended sessions", {{"error", ended.error}});
    return false;
  }
  for (const auto& id : *ended) {
    p.revoked.add(id, now_ms / 1000 + config_.auth.access_token_ttl_s, now_ms / 1000);
  }
  p.revoked_read_ms = now_ms;
  RequestAuthenticator::Options options;
  options.key = std::move(key.key);
  options.allowed_origins = config_.auth.allowed_origins;
  options.session_ended = [&revoked = p.revoked](const std::string& id) {
    return revoked.contains(id);
  };
  p.authenticator = std::make_unique<RequestAuthenticator>(std::move(options));
  p.auth_routes =
      std::make_unique<AuthRoutes>(config_, *p.accounts, *p.channels, p.revoked, *p.authenticator,
                                   p.metrics, logger_, p.limits.get());
  return true;
}

void MessageService::catch_up_with_cluster() {
  auto& p = *parts_;
  std::string error;
  if (!p.channels->sync(&error)) {
    logger_.warn("cannot read the shared channel directory", {{"error", error}});
  }
  if (!p.accounts) return;
  // Sessions other instances ended: from a little before the last read, since an instance's
  // clock stamped them (kClockSlackMs covers clocks apart and commits in flight).
  constexpr int64_t kClockSlackMs = 10000;
  int64_t now_ms = now_unix_ms();
  auto ended = p.accounts->ended_since(p.revoked_read_ms - kClockSlackMs);
  if (!ended.ok()) {
    logger_.warn("cannot read ended sessions", {{"error", ended.error}});
    return;
  }
  for (const auto& id : *ended) {
    p.revoked.add(id, now_ms / 1000 + config_.auth.access_token_ttl_s, now_ms / 1000);
  }
  p.revoked_read_ms = now_ms;
}

const std::vector<Route>& MessageService::routes() const {
  return parts_->router.routes();
}

void MessageService::stop() {
  auto& p = *parts_;
  if (!p.running) return;
  p.running = false;
  // The server first (no new requests; answers still being committed are dropped with their
  // connections, but their messages are committed), then the forwarder, then the store.
  p.server->stop();
  if (p.lease) p.lease->stop();  // the lease goes to another instance at once
  if (p.watch) p.watch->stop();
  p.forwarder->stop();
  p.store.reset();  // runs the callbacks of inserts still queued, while the routes exist
  logger_.info("stopped");
}

}  // namespace relay
