#include "message-service/redis_bus.h"

#include "shared/private_channels.h"

namespace relay {
namespace {

constexpr int kTimeoutMs = 2000;

/// Redis's answer to an XADD whose id is not above the stream's newest: already there.
bool already_in_stream(const RedisReply& reply) {
  return reply.is_error() && reply.text.find("equal or smaller") != std::string::npos;
}

/// Writes the table into kMembershipsKey (a hash: version, table) unless Redis holds a newer one:
/// the forwarder and typing both write it, each when its own last write was another version.
std::vector<std::string> write_table_command(const PrivateChannels& table) {
  static const char* kScript =
      "local held = tonumber(redis.call('HGET', KEYS[1], 'version') or '-1') "
      "if held < tonumber(ARGV[1]) then "
      "redis.call('HSET', KEYS[1], 'version', ARGV[1], 'table', ARGV[2]) end "
      "return 1";
  return {
      "EVAL", kScript, "1", kMembershipsKey, std::to_string(table.version), table.to_json().dump()};
}

std::string wire_json(const Message& event) {
  std::string json;
  append_message_json(event, false, nullptr, &json);
  return json;
}

}  // namespace

RedisBus::RedisBus(const BrokerSettings& settings, NotifyClient::MembershipSource memberships)
    : memberships_(std::move(memberships)),
      max_len_(std::to_string(settings.stream_max_len)),
      forwarder_connection_(settings.redis_url, kTimeoutMs),
      transient_connection_(settings.redis_url, kTimeoutMs) {}

bool RedisBus::send(const std::vector<Message>& batch, std::string* error) {
  PrivateChannelsPtr table = memberships_ ? memberships_() : nullptr;
  int64_t version = table ? table->version : 0;
  // A new connection may be to a Redis that restarted empty: write the table again.
  if (!forwarder_connection_.connected()) published_version_ = -1;
  std::vector<std::vector<std::string>> commands;
  bool writes_table = table && version != published_version_;
  if (writes_table) commands.push_back(write_table_command(*table));
  std::string version_text = std::to_string(version);
  for (const auto& event : batch) {
    commands.push_back({"XADD", kEventsStream, "MAXLEN", "~", max_len_,
                        std::to_string(event.id) + "-0", "event", wire_json(event), "v",
                        version_text});
  }
  auto replies = forwarder_connection_.pipeline(commands, error);
  if (!replies) return false;
  for (const auto& reply : *replies) {
    if (reply.is_error() && !already_in_stream(reply)) {
      *error = "Redis refused an event: " + reply.text;
      published_version_ = -1;
      return false;
    }
  }
  if (writes_table) published_version_ = version;
  return true;
}

bool RedisBus::send_transient(const Message& event, std::string* error) {
  PrivateChannelsPtr table = memberships_ ? memberships_() : nullptr;
  int64_t version = table ? table->version : 0;
  std::lock_guard lock(transient_mutex_);
  if (!transient_connection_.connected()) transient_version_ = -1;
  std::vector<std::vector<std::string>> commands;
  bool writes_table = table && version != transient_version_;
  if (writes_table) commands.push_back(write_table_command(*table));
  commands.push_back({"XADD", kTransientStream, "MAXLEN", "~",
                      std::to_string(kTransientStreamMaxLen), "*", "event", wire_json(event), "v",
                      std::to_string(version)});
  auto replies = transient_connection_.pipeline(commands, error);
  if (!replies) return false;
  for (const auto& reply : *replies) {
    if (reply.is_error()) {
      *error = "Redis refused the event: " + reply.text;
      transient_version_ = -1;
      return false;
    }
  }
  if (writes_table) transient_version_ = version;
  return true;
}

bool RedisBus::send_memberships(std::string* error) {
  PrivateChannelsPtr table = memberships_ ? memberships_() : nullptr;
  if (!table) return true;
  std::lock_guard lock(transient_mutex_);
  auto replies = transient_connection_.pipeline(
      {write_table_command(*table),
       {"XADD", kTransientStream, "MAXLEN", "~", std::to_string(kTransientStreamMaxLen), "*",
        "table", std::to_string(table->version)}},
      error);
  if (!replies) return false;
  for (const auto& reply : *replies) {
    if (reply.is_error()) {
      *error = "Redis refused the private channel table: " + reply.text;
      return false;
    }
  }
  return true;
}

bool RedisBus::reachable(int timeout_ms) {
  std::lock_guard lock(transient_mutex_);
  std::string error;
  auto reply = transient_connection_.command({"PING"}, &error, timeout_ms);
  return reply && !reply->is_error();
}

}  // namespace relay
