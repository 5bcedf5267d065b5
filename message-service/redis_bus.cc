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

bool RedisBus::publish(RedisConnection& connection, int64_t* table_written,
                       const PrivateChannelsPtr& table,
                       std::vector<std::vector<std::string>> commands, bool duplicates_ok,
                       std::string* error) {
  // A new connection may be to a Redis that restarted empty: write the table again.
  if (!connection.connected()) *table_written = -1;
  bool writes_table = table && table->version != *table_written;
  if (writes_table) commands.insert(commands.begin(), write_table_command(*table));
  auto replies = connection.pipeline(commands, error);
  if (!replies) return false;
  for (const auto& reply : *replies) {
    if (reply.is_error() && !(duplicates_ok && already_in_stream(reply))) {
      *error = "Redis refused a command: " + reply.text;
      *table_written = -1;
      return false;
    }
  }
  if (writes_table) *table_written = table->version;
  return true;
}

std::vector<std::string> RedisBus::transient_entry(const std::string& field,
                                                   const std::string& value, int64_t version) {
  return {"XADD",
          kTransientStream,
          "MAXLEN",
          "~",
          std::to_string(kTransientStreamMaxLen),
          "*",
          field,
          value,
          "v",
          std::to_string(version)};
}

bool RedisBus::send(const std::vector<Message>& batch, std::string* error) {
  PrivateChannelsPtr table = memberships_ ? memberships_() : nullptr;
  std::string version = std::to_string(table ? table->version : 0);
  std::vector<std::vector<std::string>> commands;
  for (const auto& event : batch) {
    commands.push_back({"XADD", kEventsStream, "MAXLEN", "~", max_len_,
                        std::to_string(event.id) + "-0", "event", wire_json(event), "v", version});
  }
  return publish(forwarder_connection_, &published_version_, table, std::move(commands),
                 /*duplicates_ok=*/true, error);
}

bool RedisBus::send_transient(const Message& event, std::string* error) {
  PrivateChannelsPtr table = memberships_ ? memberships_() : nullptr;
  std::lock_guard lock(transient_mutex_);
  return publish(transient_connection_, &transient_version_, table,
                 {transient_entry("event", wire_json(event), table ? table->version : 0)},
                 /*duplicates_ok=*/false, error);
}

bool RedisBus::send_memberships(std::string* error) {
  PrivateChannelsPtr table = memberships_ ? memberships_() : nullptr;
  if (!table) return true;
  std::lock_guard lock(transient_mutex_);
  transient_version_ = -1;  // always written, then the cue to read it
  return publish(transient_connection_, &transient_version_, table,
                 {transient_entry("table", std::to_string(table->version), table->version)},
                 /*duplicates_ok=*/false, error);
}

bool RedisBus::reachable(int timeout_ms) {
  std::lock_guard lock(transient_mutex_);
  std::string error;
  auto reply = transient_connection_.command({"PING"}, &error, timeout_ms);
  return reply && !reply->is_error();
}

}  // namespace relay
