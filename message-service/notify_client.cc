#include "message-service/notify_client.h"

#include <httplib.h>

namespace relay {

namespace {

std::string failure(const httplib::Result& result) {
  if (!result) return httplib::to_string(result.error());
  return "HTTP " + std::to_string(result->status) + ": " + result->body.substr(0, 200);
}

}  // namespace

NotifyClient::NotifyClient(const std::string& base_url, std::string token,
                           MembershipSource memberships)
    : client_(std::make_unique<httplib::Client>(base_url)),
      token_(std::move(token)),
      memberships_(std::move(memberships)) {
  client_->set_keep_alive(true);
  client_->set_tcp_nodelay(true);
  client_->set_connection_timeout(1, 0);
  client_->set_read_timeout(10, 0);
  client_->set_write_timeout(10, 0);
}

NotifyClient::~NotifyClient() = default;

int NotifyClient::post_batch(const std::string& body, int64_t version, std::string* error) {
  httplib::Headers headers;
  if (!token_.empty()) headers.emplace("Authorization", "Bearer " + token_);
  if (version > 0) headers.emplace("Memberships-Version", std::to_string(version));
  auto result = client_->Post("/notify", headers, body, "application/json");
  if (result && result->status >= 200 && result->status < 300) return 1;
  if (result && result->status == 409 &&
      result->body.find("\"memberships_stale\"") != std::string::npos) {
    return 0;
  }
  *error = failure(result);
  return -1;
}

bool NotifyClient::send(const std::vector<Message>& batch, std::string* error) {
  std::string body = "[";
  for (const auto& message : batch) {
    if (body.size() > 1) body.push_back(',');
    append_message_json(message, false, nullptr, &body);
  }
  body.push_back(']');
  int64_t version = memberships_ ? memberships_()->version : 0;
  int sent = post_batch(body, version, error);
  if (sent != 0) return sent > 0;
  // notify-service holds another table (it restarted, or a change is on its way): give it the
  // current one, then the batch under that table's version.
  PrivateChannelsPtr current = memberships_ ? memberships_() : nullptr;
  if (!current || !put_memberships(*current, error)) return false;
  sent = post_batch(body, current->version, error);
  if (sent == 0) *error = "notify-service holds another private channel table; will retry";
  return sent > 0;
}

bool NotifyClient::send_memberships(std::string* error) {
  return put_memberships(memberships_ ? *memberships_() : PrivateChannels{}, error);
}

bool NotifyClient::put_memberships(const PrivateChannels& table, std::string* error) {
  httplib::Headers headers;
  if (!token_.empty()) headers.emplace("Authorization", "Bearer " + token_);
  auto result =
      client_->Put("/notify/memberships", headers, table.to_json().dump(), "application/json");
  if (result && result->status >= 200 && result->status < 300) return true;
  *error = failure(result);
  return false;
}

bool probe_notify_service(const std::string& base_url, int timeout_ms) {
  httplib::Client client(base_url);
  client.set_connection_timeout(0, timeout_ms * 1000);
  client.set_read_timeout(0, timeout_ms * 1000);
  auto result = client.Get("/health");
  return result && result->status == 200;
}

}  // namespace relay
