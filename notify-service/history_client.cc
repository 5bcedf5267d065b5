#include "notify-service/history_client.h"

#include <httplib.h>

#include "shared/validation.h"

namespace relay {

namespace {

// The store's newest id from a /log answer's "last_id": a string of digits or a non-negative
// integer (0 for an empty store).
std::optional<int64_t> read_last_id(const nlohmann::json& body) {
  auto it = body.find("last_id");
  if (it == body.end()) return std::nullopt;
  if (it->is_string()) return parse_non_negative(it->get_ref<const std::string&>());
  if (it->is_number_unsigned()) {
    auto value = it->get<uint64_t>();
    if (value > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(value);
  }
  if (it->is_number_integer() && it->get<int64_t>() >= 0) return it->get<int64_t>();
  return std::nullopt;
}

httplib::Headers credential_headers(const ServiceCredential& credential) {
  if (!credential) return {};
  return {{"Authorization", credential()}};
}

std::optional<HistoryPage> fetch_page(const std::string& base_url,
                                      const ServiceCredential& credential,
                                      const MessageFilter& filter, int64_t after, int limit) {
  httplib::Params params{{"after", std::to_string(after)}, {"limit", std::to_string(limit)}};
  std::string channels;
  for (const auto& channel : filter.channels) channels += (channels.empty() ? "" : ",") + channel;
  if (!channels.empty()) params.emplace("channel", channels);
  if (!filter.user.empty()) params.emplace("user", filter.user);

  httplib::Client client(base_url);
  client.set_tcp_nodelay(true);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(10, 0);
  auto result = client.Get("/log", params, credential_headers(credential));
  if (!result || result->status != 200) return std::nullopt;
  return parse_log_answer(result->body);
}

}  // namespace

std::optional<HistoryPage> parse_log_answer(std::string_view text) {
  auto body = nlohmann::json::parse(text, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return std::nullopt;
  auto events = body.find("events");
  if (events == body.end() || !events->is_array()) return std::nullopt;
  HistoryPage page;
  for (const auto& item : *events) {
    std::string error;
    auto message = message_from_json(item, &error);
    if (!message) return std::nullopt;
    page.events.push_back(std::move(*message));
  }
  page.store_last_id = read_last_id(body);
  return page;
}

HistoryFetch make_history_fetch(std::string base_url, ServiceCredential credential) {
  return [base_url = std::move(base_url), credential = std::move(credential)](
             const MessageFilter& filter, int64_t after, int limit) {
    return fetch_page(base_url, credential, filter, after, limit);
  };
}

std::optional<int64_t> fetch_store_last_id(const std::string& base_url,
                                           const ServiceCredential& credential) {
  httplib::Client client(base_url);
  client.set_tcp_nodelay(true);
  // Short: POST /notify waits for this answer, and the forwarder retries a 503 anyway.
  client.set_connection_timeout(0, 500 * 1000);
  client.set_read_timeout(1, 0);
  auto result = client.Get("/log", httplib::Params{{"after", "0"}, {"limit", "1"}},
                           credential_headers(credential));
  if (!result || result->status != 200) return std::nullopt;
  auto page = parse_log_answer(result->body);
  if (!page) return std::nullopt;
  return page->store_last_id;
}

PrivateChannelsPtr fetch_private_channels(const std::string& base_url,
                                          const ServiceCredential& credential) {
  httplib::Client client(base_url);
  client.set_connection_timeout(1, 0);
  client.set_read_timeout(5, 0);
  auto result = client.Get("/memberships", credential_headers(credential));
  if (!result || result->status != 200) return nullptr;
  auto body = nlohmann::json::parse(result->body, nullptr, false);
  std::string error;
  return body.is_discarded() ? nullptr : PrivateChannels::from_json(body, &error);
}

StoreLastIdFetch make_store_last_id_fetch(std::string base_url, ServiceCredential credential) {
  return [base_url = std::move(base_url), credential = std::move(credential)] {
    return fetch_store_last_id(base_url, credential);
  };
}

}  // namespace relay
