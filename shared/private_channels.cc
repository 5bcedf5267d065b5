#include "shared/private_channels.h"

namespace relay {

ApiError channel_not_found_error(std::string_view channel) {
  return {404, "channel_not_found",
          "no channel named " + std::string(channel) + " is visible to you"};
}

bool PrivateChannels::is_member(std::string_view channel, std::string_view user) const {
  auto found = members.find(channel);
  return found != members.end() && found->second.find(std::string(user)) != found->second.end();
}

bool PrivateChannels::may_see(std::string_view channel, std::string_view user) const {
  auto found = members.find(channel);
  if (found == members.end()) return true;
  return !user.empty() && found->second.find(std::string(user)) != found->second.end();
}

std::vector<std::string> PrivateChannels::hidden_from(std::string_view user) const {
  std::vector<std::string> hidden;
  for (const auto& [channel, names] : members) {
    if (user.empty() || names.find(std::string(user)) == names.end()) hidden.push_back(channel);
  }
  return hidden;
}

nlohmann::json PrivateChannels::to_json() const {
  nlohmann::json channels = nlohmann::json::object();
  for (const auto& [channel, names] : members) channels[channel] = names;
  return {{"version", std::to_string(version)}, {"channels", std::move(channels)}};
}

std::shared_ptr<const PrivateChannels> PrivateChannels::from_json(const nlohmann::json& value,
                                                                  std::string* error) {
  auto fail = [error](std::string why) {
    *error = std::move(why);
    return nullptr;
  };
  if (!value.is_object()) return fail("the body must be a JSON object");
  auto version_field = value.find("version");
  if (version_field == value.end() || !version_field->is_string())
    return fail("\"version\" must be a string of digits");
  auto version = parse_non_negative(version_field->get_ref<const std::string&>());
  if (!version) return fail("\"version\" must be a string of digits");
  auto channels = value.find("channels");
  if (channels == value.end() || !channels->is_object())
    return fail("\"channels\" must be an object of channel names to member lists");
  if (channels->size() > kMaxChannels) return fail("too many channels");
  auto table = std::make_shared<PrivateChannels>();
  table->version = *version;
  for (const auto& [channel, names] : channels->items()) {
    if (!is_valid_channel(channel)) return fail("invalid channel name");
    if (!names.is_array() || names.empty() || names.size() > kMaxMembers)
      return fail("channel " + channel + ": members must be a list of 1 to 10000 user names");
    auto& set = table->members[channel];
    for (const auto& name : names) {
      if (!name.is_string() || !is_valid_user_name(name.get_ref<const std::string&>()))
        return fail("channel " + channel + ": invalid member name");
      set.insert(name.get<std::string>());
    }
  }
  return table;
}

}  // namespace relay
