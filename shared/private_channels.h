#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "shared/validation.h"

namespace relay {

/// Which channels are private and who may see them: an immutable value, shared by pointer
/// (std::shared_ptr<const PrivateChannels>) between the threads that read it, replaced whole when
/// membership changes. A channel not named here is public. `version` counts membership changes in
/// message-service's channel directory; notify-service holds the version it was last given, and a
/// batch of events sent for another version is refused until it was given the current one.
struct PrivateChannels {
  int64_t version = 0;
  std::map<std::string, std::set<std::string>, std::less<>> members;  // channel -> its members

  bool is_private(std::string_view channel) const { return members.find(channel) != members.end(); }
  /// True when `user` is a member of the private `channel`.
  bool is_member(std::string_view channel, std::string_view user) const;
  /// True when `user` may see `channel`: it is public, or `user` is one of its members. An empty
  /// `user` (an anonymous reader) sees public channels only.
  bool may_see(std::string_view channel, std::string_view user) const;
  /// The private channels `user` may not see (for a store query over every channel).
  std::vector<std::string> hidden_from(std::string_view user) const;

  /// {"version": "<digits>", "channels": {"<name>": ["<member>", ...], ...}}: what message-service
  /// sends to notify-service's PUT /memberships.
  nlohmann::json to_json() const;
  /// Reads to_json()'s form back, checking every channel and user name; nullptr with `*error`
  /// set when anything is malformed (at most kMaxChannels channels of kMaxMembers members each).
  static std::shared_ptr<const PrivateChannels> from_json(const nlohmann::json& value,
                                                          std::string* error);
  static constexpr size_t kMaxChannels = 100000;
  static constexpr size_t kMaxMembers = 10000;
};

using PrivateChannelsPtr = std::shared_ptr<const PrivateChannels>;

/// The one refusal for a channel the caller may not see, on every route of both services: 404
/// `channel_not_found`, the same for a private channel they are not in as for a name nobody used,
/// so an outsider learns nothing from it.
ApiError channel_not_found_error(std::string_view channel);

}  // namespace relay
