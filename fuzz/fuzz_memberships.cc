// libFuzzer target: the private channel table notify-service takes on PUT /notify/memberships,
// PrivateChannels::from_json on any JSON text.
// Invariants: nothing crashes or leaks; a table accepted has only valid channel and user names,
// non-empty member lists within the bounds, and reads back from its own wire form unchanged; the
// visibility rule over it never lets a non-member see a private channel.

#include <string>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_check.h"
#include "shared/message.h"
#include "shared/private_channels.h"
#include "shared/validation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto json = nlohmann::json::parse(data, data + size, nullptr, false);
  if (json.is_discarded()) return 0;
  std::string error;
  relay::PrivateChannelsPtr table = relay::PrivateChannels::from_json(json, &error);
  if (!table) {
    FUZZ_CHECK(!error.empty());
    return 0;
  }
  FUZZ_CHECK(table->version >= 0);
  FUZZ_CHECK(table->members.size() <= relay::PrivateChannels::kMaxChannels);
  for (const auto& [channel, members] : table->members) {
    FUZZ_CHECK(relay::is_valid_channel(channel));
    FUZZ_CHECK(!members.empty() && members.size() <= relay::PrivateChannels::kMaxMembers);
    for (const auto& member : members) FUZZ_CHECK(relay::is_valid_user_name(member));
    relay::Message event;
    event.id = 1;
    event.channel = channel;
    event.user = *members.begin();
    relay::MessageFilter outsider{{}, "", {}};
    FUZZ_CHECK(!outsider.matches(event, table.get()));
    relay::MessageFilter member{{}, *members.begin(), {}};
    FUZZ_CHECK(member.matches(event, table.get()));
  }
  auto again = relay::PrivateChannels::from_json(table->to_json(), &error);
  FUZZ_CHECK(again && again->version == table->version && again->members == table->members);
  return 0;
}
