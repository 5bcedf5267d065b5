#include "message-service/message_service.h"

#include <httplib.h>

#include "message-service/forwarder.h"
#include "message-service/message_routes.h"
#include "message-service/notify_client.h"
#include "message-service/store.h"
#include "shared/http_support.h"

namespace relay {

struct MessageService::Parts {
  MetricsRegistry metrics;
  std::unique_ptr<MessageStore> store;
  std::unique_ptr<NotifyClient> notify_client;
  std::unique_ptr<Forwarder> forwarder;
  std::unique_ptr<MessageRoutes> routes;
  httplib::Server server;
  std::unique_ptr<BackgroundServer> running;
};

MessageService::MessageService(MessageServiceConfig config)
    : config_(std::move(config)), parts_(std::make_unique<Parts>()) {}

MessageService::~MessageService() {
  stop();
}

bool MessageService::start() {
  auto& p = *parts_;
  std::string error;
  p.store = MessageStore::open(config_.data_dir, &error);
  if (!p.store) {
    logger_.error("cannot open the message store", {{"error", error}});
    return false;
  }
  p.notify_client =
      std::make_unique<NotifyClient>(config_.notification_service_url, config_.notify_token);
  Forwarder::Options options;
  options.batch_size = static_cast<size_t>(config_.forward_batch_size);
  options.retry_max_ms = config_.forward_retry_max_ms;
  p.forwarder = std::make_unique<Forwarder>(
      *p.store,
      [client = p.notify_client.get()](const std::vector<Message>& batch, std::string* why) {
        return client->send(batch, why);
      },
      options, logger_, p.metrics);
  p.routes = std::make_unique<MessageRoutes>(config_, *p.store, *p.forwarder, p.metrics, logger_);

  HttpServerOptions http;
  http.routes = &MessageRoutes::table();
  http.metrics = &p.metrics;
  http.logger = &logger_;
  http.max_body_bytes = config_.max_body_bytes();
  configure_server(p.server, http);
  bool www_mounted = p.routes->attach(p.server);

  p.running = std::make_unique<BackgroundServer>(p.server);
  int port = p.running->start(config_.bind_address, config_.port);
  if (port < 0) {
    logger_.error("cannot listen", {{"address", config_.bind_address}, {"port", config_.port}});
    return false;
  }
  logger_.info("listening", {{"port", port},
                             {"address", config_.bind_address},
                             {"version", RELAY_VERSION},
                             {"data_dir", config_.data_dir},
                             {"www_dir", config_.www_dir},
                             {"notify_url", config_.notification_service_url}});
  if (!www_mounted) {
    logger_.warn("www directory not found; the chat page is not served",
                 {{"www_dir", config_.www_dir}});
  }
  p.forwarder->start();
  logger_.info("forwarder started",
               {{"forwarded_upto", p.store->forwarded_upto()}, {"last_id", p.store->last_id()}});
  return true;
}

void MessageService::stop() {
  auto& p = *parts_;
  if (p.running) p.running->stop();
  if (p.forwarder) p.forwarder->stop();
  if (p.running) {
    logger_.info("stopped");
    p.running.reset();
  }
}

}  // namespace relay
