#include "notify-service/cluster_tickets.h"

#include <algorithm>

namespace relay {

std::optional<bool> ClusterTickets::claim(const std::string& ticket_id, int64_t ttl_ms) {
  std::lock_guard lock(mutex_);
  std::string error;
  auto reply = connection_.command({"SET", "relay:ticket:" + ticket_id, "1", "NX", "PX",
                                    std::to_string(std::max<int64_t>(ttl_ms, 1))},
                                   &error);
  if (!reply || reply->is_error()) return std::nullopt;
  return reply->type == RedisReply::Type::kStatus;  // OK; nil when the key was there
}

}  // namespace relay
