#include "notify-service/notify_service.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "notify-service/cluster_presence.h"
#include "notify-service/cluster_stream_quota.h"
#include "notify-service/cluster_tickets.h"
#include "notify-service/history_client.h"
#include "notify-service/hub.h"
#include "notify-service/notify_routes.h"
#include "notify-service/presence.h"
#include "notify-service/redis_feed.h"
#include "shared/auth/request_auth.h"
#include "shared/http/http_server.h"
#include "shared/http/router.h"
#include "shared/http_rules.h"

namespace relay {

struct NotifyService::Parts {
  MetricsRegistry metrics;
  std::unique_ptr<Hub> hub;
  std::unique_ptr<PresenceTracker> presence;
  std::unique_ptr<NotifyRoutes> routes;
  std::unique_ptr<RedisFeed> feed;                      // BROKER=redis only
  std::unique_ptr<ClusterPresence> cluster_presence;    // BROKER=redis only
  std::unique_ptr<ClusterTickets> cluster_tickets;      // BROKER=redis, AUTH_MODE=accounts
  std::unique_ptr<ClusterStreamQuota> stream_quota;     // BROKER=redis, AUTH_MODE=accounts
  std::unique_ptr<RequestAuthenticator> authenticator;  // AUTH_MODE=accounts only
  Router router;
  std::unique_ptr<HttpServer> server;
  // AUTH_MODE=accounts: fetches message-service's private channel table until the hub has one.
  std::thread table_loader;
  std::mutex loader_mutex;
  std::condition_variable loader_wake;
  bool stopping = false;  // guarded by loader_mutex
  bool running = false;
};

NotifyService::NotifyService(NotifyServiceConfig config)
    : config_(std::move(config)), parts_(std::make_unique<Parts>()) {}

NotifyService::~NotifyService() {
  stop();
}

bool NotifyService::start() {
  auto& p = *parts_;
  Hub::Options hub_options;
  hub_options.ring_size = config_.ring_size;
  hub_options.max_backlog_bytes = config_.max_backlog_bytes;
  hub_options.max_subscribers = config_.max_subscribers;
  auto& cut = p.metrics.counter("relay_slow_consumers_cut_total",
                                "Streams closed because their unsent backlog passed "
                                "MAX_BACKLOG_BYTES.");
  p.hub = std::make_unique<Hub>(hub_options, Hub::Stats{[&cut, this](size_t n) {
                                  cut.add(n);
                                  logger_.warn("slow consumer cut", {{"streams", n}});
                                }});
  auto to_streams = [hub = p.hub.get()](const Message& presence) {
    hub->publish_transient(presence);
  };
  PresenceTracker::Announce announce = to_streams;
  if (config_.broker.redis) {
    // This instance's joins and leaves go to the cluster's view, which tells the streams.
    p.cluster_presence = std::make_unique<ClusterPresence>(config_.broker, to_streams, logger_);
    announce = [cluster = p.cluster_presence.get()](const Message& presence) {
      cluster->local_changed(presence);
    };
  }
  p.presence = std::make_unique<PresenceTracker>(
      std::chrono::milliseconds(config_.presence_grace_ms), announce);
  ServiceCredential credential;
  if (config_.exposure.accounts()) {
    AuthKey key = resolve_auth_key(config_.auth, "", /*create=*/false);
    if (!key.error.empty()) {
      logger_.error("no token key", {{"error", key.error}});
      return false;
    }
    RequestAuthenticator::Options options;
    options.key = key.key;
    options.allowed_origins = config_.auth.allowed_origins;
    p.authenticator = std::make_unique<RequestAuthenticator>(std::move(options));
    // message-service's log answers notify-service (history for the streams it authenticated,
    // the store's newest id) with a service token of a minute, made per request.
    credential = [authenticator = p.authenticator.get()] {
      int64_t now_s = authenticator->now_s();
      AccessClaims claims{"", kNotifyServiceName, now_s, now_s + 60, kNotifyServiceName};
      return "Bearer " + sign_access_token(authenticator->key(), claims).value_or("");
    };
  }
  p.routes = std::make_unique<NotifyRoutes>(
      config_, *p.hub, *p.presence, make_history_fetch(config_.message_service_url, credential),
      [&p](uint64_t connection_id) { p.server->wake(connection_id); }, p.metrics, logger_,
      make_store_last_id_fetch(config_.message_service_url, credential), p.authenticator.get());

  if (config_.broker.redis) {
    p.feed =
        std::make_unique<RedisFeed>(config_.broker, *p.hub, config_.ring_size, logger_, p.metrics);
    auto* presence = p.cluster_presence.get();
    p.feed->set_presence_sink(
        [presence](const std::string& json) { presence->remote_entry(json); });
    NotifyRoutes::Cluster cluster;
    cluster.instance = presence->instance_id();
    cluster.connected = [feed = p.feed.get()] { return feed->connected(); };
    cluster.present_users = [presence](const std::optional<std::string>& channel) {
      return presence->users(channel);
    };
    if (p.authenticator) {
      p.cluster_tickets = std::make_unique<ClusterTickets>(config_.broker.redis_url);
      cluster.claim_ticket = [tickets = p.cluster_tickets.get()](const std::string& id,
                                                                 int64_t ttl_ms) {
        return tickets->claim(id, ttl_ms);
      };
      p.stream_quota = std::make_unique<ClusterStreamQuota>(
          config_.broker.redis_url, presence->instance_id(), config_.max_streams_per_user,
          config_.max_streams_per_address, logger_);
      cluster.acquire_stream = [quota = p.stream_quota.get()](const std::string& user,
                                                              const std::string& address) {
        return quota->acquire(user, address);
      };
      cluster.release_stream = [quota = p.stream_quota.get()](const std::string& user,
                                                              const std::string& address) {
        quota->release(user, address);
      };
    }
    p.routes->set_cluster(std::move(cluster));
  }
  p.routes->add_routes(p.router);

  HttpServer::Options http;
  http.router = &p.router;
  // Accounts mode: streams and presence are personal; the chat page (message-service's origin: the
  // request's host at MESSAGE_SERVICE_URL's port) and ALLOWED_ORIGINS read them with cookies.
  http.cors.credentialed = config_.exposure.accounts();
  http.cors.allowed_origins = config_.auth.allowed_origins;
  http.cors.page_port = url_port(config_.message_service_url);
  http.metrics = &p.metrics;
  http.logger = &logger_;
  config_.http.apply(&http);
  p.server = std::make_unique<HttpServer>(http);
  // The listening line comes first, before any request can be served and logged.
  int port = p.server->start(config_.exposure.bind_address, config_.port, [&](int bound_port) {
    logger_.info("listening", {{"port", bound_port},
                               {"address", config_.exposure.bind_address},
                               {"version", RELAY_VERSION},
                               {"message_service_url", config_.message_service_url},
                               {"max_subscribers", config_.max_subscribers},
                               {"event_threads", http.loop_threads},
                               {"broker", broker_name(config_.broker)},
                               {"auth", config_.broker.redis           ? "redis"
                                        : config_.notify_token.empty() ? "loopback"
                                                                       : "token"},
                               {"auth_mode", auth_mode_name(config_.exposure)}});
  });
  if (port < 0) {
    logger_.error("cannot listen",
                  {{"address", config_.exposure.bind_address}, {"port", config_.port}});
    return false;
  }
  p.running = true;
  if (p.feed) p.feed->start();
  if (p.cluster_presence) p.cluster_presence->start();
  if (p.stream_quota) p.stream_quota->start();
  // After the listening line, which operators and the tests read as the first line of a start.
  if (config_.exposure.accounts()) {
    p.table_loader = std::thread([&p, credential, this] {
      std::unique_lock lock(p.loader_mutex);
      while (!p.stopping && !p.hub->knows_private_channels()) {
        lock.unlock();
        PrivateChannelsPtr table = fetch_private_channels(config_.message_service_url, credential);
        if (table && !p.hub->knows_private_channels()) {
          p.hub->set_private_channels(std::move(table));
          logger_.info("private channels loaded from message-service");
        }
        lock.lock();
        p.loader_wake.wait_for(lock, std::chrono::milliseconds(500), [&p] { return p.stopping; });
      }
    });
  }
  return true;
}

const std::vector<Route>& NotifyService::routes() const {
  return parts_->router.routes();
}

void NotifyService::stop() {
  auto& p = *parts_;
  if (!p.running) return;
  p.running = false;
  {
    std::lock_guard lock(p.loader_mutex);
    p.stopping = true;
  }
  p.loader_wake.notify_all();
  if (p.table_loader.joinable()) p.table_loader.join();
  if (p.feed) p.feed->stop();
  p.hub->shutdown();
  p.server->stop();
  p.presence->stop();
  if (p.cluster_presence) p.cluster_presence->stop();
  if (p.stream_quota) p.stream_quota->stop();  // the streams closed with the server
  logger_.info("stopped");
}

}  // namespace relay
