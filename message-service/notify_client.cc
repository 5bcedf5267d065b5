#include "message-service/notify_client.h"

#include <httplib.h>

namespace relay {

NotifyClient::NotifyClient(const std::string& base_url, std::string token)
    : client_(std::make_unique<httplib::Client>(base_url)), token_(std::move(token)) {
  client_->set_keep_alive(true);
  client_->set_tcp_nodelay(true);
  client_->set_connection_timeout(1, 0);
  client_->set_read_timeout(10, 0);
  client_->set_write_timeout(10, 0);
}

NotifyClient::~NotifyClient() = default;

bool NotifyClient::send(const std::vector<Message>& batch, std::string* error) {
  std::string body = "[";
  for (const auto& message : batch) {
    if (body.size() > 1) body.push_back(',');
    append_message_json(message, false, nullptr, &body);
  }
  body.push_back(']');
  httplib::Headers headers;
  if (!token_.empty()) headers.emplace("Authorization", "Bearer " + token_);
  auto result = client_->Post("/notify", headers, body, "application/json");
  if (!result) {
    *error = httplib::to_string(result.error());
    return false;
  }
  if (result->status < 200 || result->status >= 300) {
    *error = "HTTP " + std::to_string(result->status) + ": " + result->body.substr(0, 200);
    return false;
  }
  return true;
}

bool probe_notify_service(const std::string& base_url, int timeout_ms) {
  httplib::Client client(base_url);
  client.set_connection_timeout(0, timeout_ms * 1000);
  client.set_read_timeout(0, timeout_ms * 1000);
  auto result = client.Get("/health");
  return result && result->status == 200;
}

}  // namespace relay
