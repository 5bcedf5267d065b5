#include "notify-service/history_client.h"

#include <httplib.h>

namespace relay {

namespace {

std::optional<std::vector<Message>> fetch_page(const std::string& base_url,
                                               const MessageFilter& filter, int64_t after,
                                               int limit) {
  httplib::Params params{{"after", std::to_string(after)}, {"limit", std::to_string(limit)}};
  std::string channels;
  for (const auto& channel : filter.channels) channels += (channels.empty() ? "" : ",") + channel;
  if (!channels.empty()) params.emplace("channel", channels);
  if (!filter.user.empty()) params.emplace("user", filter.user);

  httplib::Client client(base_url);
  client.set_tcp_nodelay(true);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(10, 0);
  auto result = client.Get("/log", params, httplib::Headers{});
  if (!result || result->status != 200) return std::nullopt;
  auto body = nlohmann::json::parse(result->body, nullptr, false);
  if (body.is_discarded() || !body.contains("events") || !body["events"].is_array()) {
    return std::nullopt;
  }
  std::vector<Message> messages;
  for (const auto& item : body["events"]) {
    std::string error;
    auto message = message_from_json(item, &error);
    if (!message) return std::nullopt;
    messages.push_back(std::move(*message));
  }
  return messages;
}

}  // namespace

HistoryFetch make_history_fetch(std::string base_url) {
  return [base_url = std::move(base_url)](const MessageFilter& filter, int64_t after, int limit) {
    return fetch_page(base_url, filter, after, limit);
  };
}

}  // namespace relay
