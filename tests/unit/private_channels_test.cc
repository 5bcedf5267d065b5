// Unit tests of private channels: the shared table and its wire form, the visibility rule, the
// hub applying a new table to open subscribers, and message-service's channel directory on a real
// SQLite file.
#include <doctest/doctest.h>

#include "message-service/channel_directory.h"
#include "notify-service/hub.h"
#include "shared/message.h"
#include "shared/private_channels.h"
#include "tests/support/child_process.h"

namespace relay {
namespace {

PrivateChannelsPtr table_of(int64_t version,
                            std::map<std::string, std::set<std::string>, std::less<>> members) {
  auto table = std::make_shared<PrivateChannels>();
  table->version = version;
  table->members = std::move(members);
  return table;
}

Message in_channel(int64_t id, const std::string& channel, EventKind kind = EventKind::kMessage) {
  Message message;
  message.id = id;
  message.content = "c";
  message.user = "alice";
  message.channel = channel;
  message.kind = kind;
  message.timestamp_ms = 1700000000000;
  return message;
}

std::vector<Message> drained(const std::shared_ptr<Subscriber>& subscriber) {
  std::vector<Message> out;
  for (const auto& event : subscriber->wait_for_events(std::chrono::milliseconds(0)).events) {
    out.push_back(event->message);
  }
  return out;
}

}  // namespace

TEST_CASE("private channels: who may see a channel, and the table's wire form read back") {
  auto table = table_of(3, {{"plans", {"alice", "bob"}}});
  CHECK(table->may_see("general", "carol"));
  CHECK(table->may_see("plans", "bob"));
  CHECK_FALSE(table->may_see("plans", "carol"));
  CHECK_FALSE(table->may_see("plans", ""));
  CHECK(table->hidden_from("carol") == std::vector<std::string>{"plans"});
  CHECK(table->hidden_from("alice").empty());

  std::string error;
  auto back = PrivateChannels::from_json(table->to_json(), &error);
  REQUIRE_MESSAGE(back, error);
  CHECK(back->version == 3);
  CHECK(back->members == table->members);
  for (const auto* text :
       {R"([])", R"({"channels":{}})", R"({"version":3,"channels":{}})",
        R"({"version":"-1","channels":{}})", R"({"version":"1","channels":[]})",
        R"({"version":"1","channels":{"bad name":["a"]}})",
        R"({"version":"1","channels":{"x":[]}})", R"({"version":"1","channels":{"x":"a"}})",
        R"({"version":"1","channels":{"x":[5]}})",
        R"({"version":"1","channels":{"x":["a\u0001"]}})"}) {
    CHECK_MESSAGE(PrivateChannels::from_json(nlohmann::json::parse(text), &error) == nullptr, text);
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("private channels: a filter hides a private channel's events from non-members") {
  auto table = table_of(1, {{"plans", {"alice", "bob"}}});
  MessageFilter carol{{}, "carol", {}};
  MessageFilter bob{{}, "bob", {}};
  MessageFilter anonymous{{}, "", {}};
  for (auto kind :
       {EventKind::kMessage, EventKind::kReceipt, EventKind::kTyping, EventKind::kPresence}) {
    Message event = in_channel(kind == EventKind::kMessage ? 1 : 0, "plans", kind);
    CHECK_FALSE(carol.matches(event, table.get()));
    CHECK_FALSE(anonymous.matches(event, table.get()));
    CHECK(bob.matches(event, table.get()));
    CHECK(carol.matches(in_channel(1, "general", kind), table.get()));
  }
  // hidden_channels (message-service's reads) hide without a table too.
  MessageFilter hiding{{}, "carol", {"plans"}};
  CHECK_FALSE(hiding.matches(in_channel(1, "plans")));
  // A membership change: the user it concerns and the members, nobody else.
  Message change = in_channel(0, "plans", EventKind::kMembership);
  change.user = "dave";
  change.status = "removed";
  CHECK(MessageFilter{{}, "dave", {}}.matches(change, table.get()));
  CHECK(bob.matches(change, table.get()));
  CHECK_FALSE(carol.matches(change, table.get()));
  CHECK_FALSE(anonymous.matches(change, table.get()));
  CHECK(event_json(change) == dump_json(event_to_json(change)));
}

TEST_CASE("private channels: a new table applies to open subscribers at once and is announced") {
  Hub hub(Hub::Options{}, {});
  CHECK_FALSE(hub.knows_private_channels());
  auto carol = hub.subscribe({{}, "carol", {}}, std::nullopt).subscriber;
  auto bob = hub.subscribe({{}, "bob", {}}, std::nullopt).subscriber;
  hub.set_private_channels(table_of(1, {{"plans", {"alice", "bob"}}}));
  CHECK(hub.knows_private_channels());
  // The new channel's members are announced to them (bob sees alice and himself added).
  auto bobs = drained(bob);
  REQUIRE(bobs.size() == 2);
  CHECK(bobs[0].kind == EventKind::kMembership);
  CHECK(drained(carol).empty());

  CHECK(hub.publish({in_channel(1, "plans"), in_channel(2, "general")}) == 2);
  CHECK(drained(carol).size() == 1);
  CHECK(drained(bob).size() == 2);

  // carol added, bob removed: carol (now a member) is told both; bob only of his removal, and
  // gets no more of the channel.
  hub.set_private_channels(table_of(2, {{"plans", {"alice", "carol"}}}));
  auto carols = drained(carol);
  REQUIRE(carols.size() == 2);
  CHECK(carols[0].user == "carol");
  CHECK(carols[0].status == "added");
  CHECK(carols[1].user == "bob");
  CHECK(carols[1].status == "removed");
  bobs = drained(bob);
  REQUIRE(bobs.size() == 1);
  CHECK(bobs[0].user == "bob");
  CHECK(bobs[0].status == "removed");
  CHECK(hub.publish({in_channel(3, "plans")}) == 1);
  CHECK(drained(carol).size() == 1);
  CHECK(drained(bob).empty());
  // The ring replays under the current table too.
  auto late_bob = hub.subscribe({{}, "bob", {}}, 0).subscriber;
  std::vector<int64_t> replayed;
  for (const auto& message : drained(late_bob)) replayed.push_back(message.id);
  CHECK(replayed == std::vector<int64_t>{2});
}

TEST_CASE("channel directory: create, add, remove, forget a user, and all of it after reopening") {
  testing::TempDir dir;
  std::string error;
  auto directory = ChannelDirectory::open(dir.path(), &error);
  REQUIRE_MESSAGE(directory, error);
  using Outcome = ChannelDirectory::Outcome;
  CHECK(directory->private_channels()->version == 0);
  CHECK(directory->create("plans", "alice", true, 1, &error) == Outcome::kDone);
  CHECK(directory->create("plans", "bob", false, 2, &error) == Outcome::kExists);
  CHECK(directory->create("lobby", "bob", false, 2, &error) == Outcome::kDone);
  CHECK(directory->add_member("plans", "carol", "carol", 3, &error) == Outcome::kNotFound);
  CHECK(directory->add_member("plans", "alice", "bob", 3, &error) == Outcome::kDone);
  CHECK(directory->add_member("plans", "bob", "carol", 3, &error) == Outcome::kDone);
  CHECK(directory->add_member("plans", "bob", "carol", 3, &error) == Outcome::kUnchanged);
  CHECK(directory->add_member("lobby", "bob", "carol", 3, &error) == Outcome::kNotPrivate);
  CHECK(directory->remove_member("plans", "bob", "carol", &error) == Outcome::kForbidden);
  CHECK(directory->remove_member("plans", "alice", "alice", &error) == Outcome::kOwner);
  CHECK(directory->remove_member("plans", "dave", "bob", &error) == Outcome::kNotFound);
  CHECK(directory->remove_member("plans", "carol", "carol", &error) == Outcome::kDone);
  CHECK(directory->remove_member("plans", "alice", "carol", &error) == Outcome::kNotFound);
  CHECK(directory->find("plans", "carol") == std::nullopt);
  CHECK(directory->find("lobby", "carol").has_value());
  CHECK(directory->visible_to("carol").size() == 1);
  int64_t version = directory->private_channels()->version;
  CHECK(version == 5);  // every change: two creates, two adds, one remove

  // The owner's account goes: the channel passes to the first remaining member.
  CHECK(directory->forget_user("alice", &error));
  CHECK(directory->forget_user("nobody", &error));
  auto plans = directory->find("plans", "bob");
  REQUIRE(plans);
  CHECK(plans->owner == "bob");
  CHECK(plans->members == std::vector<std::string>{"bob"});
  version = directory->private_channels()->version;

  directory.reset();
  directory = ChannelDirectory::open(dir.path(), &error);
  REQUIRE_MESSAGE(directory, error);
  CHECK(directory->private_channels()->version == version);
  CHECK(directory->private_channels()->members.at("plans") == std::set<std::string>{"bob"});
  CHECK(directory->find("lobby", "anyone")->owner == "bob");
  // The last member goes: so does the channel.
  CHECK(directory->forget_user("bob", &error));
  CHECK_FALSE(directory->private_channels()->is_private("plans"));
  CHECK(directory->find("plans", "bob") == std::nullopt);
}

}  // namespace relay
