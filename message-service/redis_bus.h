#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "message-service/event_bus.h"
#include "message-service/notify_client.h"
#include "shared/redis/broker_settings.h"
#include "shared/redis/redis_connection.h"

namespace relay {

/// BROKER=redis: stored events are appended to the Redis stream kEventsStream with entry id
/// `<event id>-0`, so the stream holds each event once and in id order however often the forwarder
/// resends (Redis refuses an id not above the stream's newest; that refusal counts as delivered).
/// Before the first event sent under a new private channel table, the table is written to
/// kMembershipsKey (never over a newer one), so a notify-service that reads an event of version v
/// can fetch table v (or newer) first.
/// Typing goes to kTransientStream. Each stream is trimmed to about its cap (MAXLEN ~).
class RedisBus : public EventBus {
 public:
  RedisBus(const BrokerSettings& settings, NotifyClient::MembershipSource memberships);

  bool send(const std::vector<Message>& batch, std::string* error) override;
  bool send_transient(const Message& event, std::string* error) override;
  /// Writes the table and appends `table <version>` to kTransientStream: the notify-services'
  /// cue to read it.
  bool send_memberships(std::string* error) override;
  bool reachable(int timeout_ms) override;
  const char* name() const override { return "redis"; }
  const char* far_side() const override { return "Redis"; }

 private:
  /// Runs `commands` on `connection` in one round trip, first writing `table` when
  /// `*table_written` (what this connection last wrote; -1: unknown) is another version; false on
  /// a failure or an error reply (an id already in the stream is not one when `duplicates_ok`).
  bool publish(RedisConnection& connection, int64_t* table_written, const PrivateChannelsPtr& table,
               std::vector<std::vector<std::string>> commands, bool duplicates_ok,
               std::string* error);
  /// An XADD to kTransientStream of `field` = `value`, sent under table `version`.
  static std::vector<std::string> transient_entry(const std::string& field,
                                                  const std::string& value, int64_t version);

  NotifyClient::MembershipSource memberships_;
  std::string max_len_;
  RedisConnection forwarder_connection_;  // the forwarder's thread only
  int64_t published_version_ = -1;        // the forwarder's thread only; -1: write it again
  std::mutex transient_mutex_;
  RedisConnection transient_connection_;  // guarded by transient_mutex_ (typing, /health)
  int64_t transient_version_ = -1;        // guarded by transient_mutex_
};

}  // namespace relay
