#pragma once

#include <cstddef>

#include "shared/config_env.h"
#include "shared/redis/redis_url.h"

namespace relay {

/// How message-service's events reach notify-services: BROKER=direct (default: message-service's
/// forwarder POSTs them to one notify-service's /notify) or BROKER=redis (it appends them to a
/// Redis stream that every notify-service reads, at REDIS_URL). Both services read the same
/// variables; a value that cannot work is refused at startup.
struct BrokerSettings {
  bool redis = false;
  RedisUrl redis_url;
  /// REDIS_STREAM_MAXLEN: about how many events the stream keeps (trimmed with MAXLEN ~); a
  /// notify-service that starts fills its resume ring from them.
  size_t stream_max_len = 100000;
};

/// Reads BROKER, REDIS_URL (default redis://127.0.0.1:6379) and REDIS_STREAM_MAXLEN.
BrokerSettings read_broker_settings(EnvReader& env);

/// "direct" or "redis", for logs and /health.
const char* broker_name(const BrokerSettings& settings);

/// The Redis keys of the bus (one relay per Redis database):
/// - kEventsStream: every stored event (message, receipt) in id order, entry id `<event id>-0`,
///   fields `event` (the wire form, as POST /notify takes it) and `v` (the private channel table
///   version it was sent under);
/// - kTransientStream: typing notices (automatic entry ids, short), same fields;
/// - kMembershipsKey: a hash of the newest private channel table: `version` and `table` (its JSON
///   wire form), written before any event sent under that version, never over a newer one.
inline constexpr const char* kEventsStream = "relay:events";
inline constexpr const char* kTransientStream = "relay:transient";
inline constexpr const char* kMembershipsKey = "relay:memberships";
inline constexpr size_t kTransientStreamMaxLen = 1000;

}  // namespace relay
