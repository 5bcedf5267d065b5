#include "message-service/channel_directory.h"

#include <algorithm>
#include <functional>

#include "message-service/sqlite_statement.h"

namespace relay {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS channels (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  private INTEGER NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS channel_members (
  channel TEXT NOT NULL REFERENCES channels(name),
  user TEXT NOT NULL,
  added_ms INTEGER NOT NULL,
  PRIMARY KEY (channel, user)
);
CREATE TABLE IF NOT EXISTS directory_version (
  only INTEGER PRIMARY KEY CHECK (only = 1),
  version INTEGER NOT NULL
);
INSERT OR IGNORE INTO directory_version(only, version) VALUES (1, 0);
)sql";

// Runs `body` in one write transaction; commits when it returns true, else rolls back. Sets
// `*error` from SQLite when anything failed.
bool in_transaction(sqlite3* db, const std::function<bool()>& body, std::string* error) {
  if (!exec(db, "BEGIN IMMEDIATE")) {
    *error = sqlite3_errmsg(db);
    return false;
  }
  if (body() && exec(db, "COMMIT")) return true;
  *error = sqlite3_errmsg(db);
  exec(db, "ROLLBACK");
  return false;
}

void insert_sorted(std::vector<std::string>* names, const std::string& name) {
  names->insert(std::lower_bound(names->begin(), names->end(), name), name);
}

bool has_member(const ChannelDirectory::Channel& channel, const std::string& user) {
  return std::binary_search(channel.members.begin(), channel.members.end(), user);
}

// Stores `user` as a member of `channel` (inside the caller's transaction).
bool insert_member(sqlite3* db, const std::string& channel, const std::string& user,
                   int64_t now_ms) {
  Statement insert(db, "INSERT INTO channel_members(channel, user, added_ms) VALUES (?, ?, ?)");
  insert.bind(1, channel);
  insert.bind(2, user);
  insert.bind(3, now_ms);
  return run(insert);
}

}  // namespace

std::unique_ptr<ChannelDirectory> ChannelDirectory::open(const std::string& data_dir,
                                                         std::string* error) {
  std::string path;
  sqlite3* db = open_database(data_dir, "channels.db", kSchema, &path, error);
  if (db == nullptr) return nullptr;
  std::unique_ptr<ChannelDirectory> directory(new ChannelDirectory(db));
  if (!directory->load(error)) return nullptr;
  return directory;
}

ChannelDirectory::~ChannelDirectory() {
  sqlite3_close(db_);
}

bool ChannelDirectory::load(std::string* error) {
  std::lock_guard lock(mutex_);
  Statement channels(db_, "SELECT name, owner, private, created_ms FROM channels");
  Statement members(db_, "SELECT channel, user FROM channel_members ORDER BY channel, user");
  Statement version(db_, "SELECT version FROM directory_version WHERE only = 1");
  if (!channels.ok() || !members.ok() || !version.ok()) {
    *error = sqlite3_errmsg(db_);
    return false;
  }
  int rc;
  while ((rc = channels.step()) == SQLITE_ROW) {
    Channel channel{channels.text_at(0),
                    channels.text_at(1),
                    channels.int64_at(2) != 0,
                    channels.int64_at(3),
                    {}};
    channels_.emplace(channel.name, std::move(channel));
  }
  if (rc != SQLITE_DONE) {
    *error = sqlite3_errmsg(db_);
    return false;
  }
  while ((rc = members.step()) == SQLITE_ROW) {
    auto found = channels_.find(members.text_at(0));
    if (found != channels_.end()) found->second.members.push_back(members.text_at(1));
  }
  if (rc != SQLITE_DONE || version.step() != SQLITE_ROW) {
    *error = sqlite3_errmsg(db_);
    return false;
  }
  version_ = version.int64_at(0);
  publish_locked();
  return true;
}

bool ChannelDirectory::bump_version_locked() {
  Statement bump(db_, "UPDATE directory_version SET version = version + 1 WHERE only = 1");
  return run(bump);
}

ChannelDirectory::Channel* ChannelDirectory::private_channel_of_locked(const std::string& name,
                                                                       const std::string& member,
                                                                       Outcome* refusal) {
  auto found = channels_.find(name);
  if (found == channels_.end() ||
      (found->second.is_private && !has_member(found->second, member))) {
    *refusal = Outcome::kNotFound;
    return nullptr;
  }
  if (!found->second.is_private) {
    *refusal = Outcome::kNotPrivate;
    return nullptr;
  }
  return &found->second;
}

void ChannelDirectory::changed_locked() {
  ++version_;
  publish_locked();
}

void ChannelDirectory::publish_locked() {
  auto table = std::make_shared<PrivateChannels>();
  table->version = version_;
  for (const auto& [name, channel] : channels_) {
    if (channel.is_private) {
      table->members.emplace(name,
                             std::set<std::string>(channel.members.begin(), channel.members.end()));
    }
  }
  snapshot_ = std::move(table);
}

ChannelDirectory::Outcome ChannelDirectory::create(const std::string& name,
                                                   const std::string& owner, bool is_private,
                                                   int64_t now_ms, std::string* error) {
  std::lock_guard lock(mutex_);
  if (channels_.count(name) > 0) return Outcome::kExists;
  bool stored = in_transaction(
      db_,
      [&] {
        Statement insert(
            db_, "INSERT INTO channels(name, owner, private, created_ms) VALUES (?, ?, ?, ?)");
        insert.bind(1, name);
        insert.bind(2, owner);
        insert.bind(3, int64_t{is_private ? 1 : 0});
        insert.bind(4, now_ms);
        if (!run(insert)) return false;
        if (!is_private) return true;
        return insert_member(db_, name, owner, now_ms) && bump_version_locked();
      },
      error);
  if (!stored) return Outcome::kFailed;
  Channel channel{name, owner, is_private, now_ms, {}};
  if (is_private) channel.members.push_back(owner);
  channels_.emplace(name, std::move(channel));
  if (is_private) changed_locked();
  return Outcome::kDone;
}

ChannelDirectory::Outcome ChannelDirectory::add_member(const std::string& name,
                                                       const std::string& by,
                                                       const std::string& user, int64_t now_ms,
                                                       std::string* error) {
  std::lock_guard lock(mutex_);
  Outcome refusal = Outcome::kNotFound;
  Channel* channel = private_channel_of_locked(name, by, &refusal);
  if (channel == nullptr) return refusal;
  if (has_member(*channel, user)) return Outcome::kUnchanged;
  bool stored = in_transaction(
      db_, [&] { return insert_member(db_, name, user, now_ms) && bump_version_locked(); }, error);
  if (!stored) return Outcome::kFailed;
  insert_sorted(&channel->members, user);
  changed_locked();
  return Outcome::kDone;
}

ChannelDirectory::Outcome ChannelDirectory::remove_member(const std::string& name,
                                                          const std::string& by,
                                                          const std::string& user,
                                                          std::string* error) {
  std::lock_guard lock(mutex_);
  Outcome refusal = Outcome::kNotFound;
  Channel* channel = private_channel_of_locked(name, by, &refusal);
  if (channel == nullptr) return refusal;
  if (by != user && by != channel->owner) return Outcome::kForbidden;
  if (user == channel->owner) return Outcome::kOwner;
  auto& members = channel->members;
  auto member = std::lower_bound(members.begin(), members.end(), user);
  if (member == members.end() || *member != user) return Outcome::kNotFound;
  bool stored = in_transaction(
      db_,
      [&] {
        Statement remove(db_, "DELETE FROM channel_members WHERE channel = ? AND user = ?");
        remove.bind(1, name);
        remove.bind(2, user);
        return run(remove) && bump_version_locked();
      },
      error);
  if (!stored) return Outcome::kFailed;
  members.erase(member);
  changed_locked();
  return Outcome::kDone;
}

bool ChannelDirectory::forget_user(const std::string& user, std::string* error) {
  std::lock_guard lock(mutex_);
  // What changes: every private channel `user` is in loses them; one they own passes to the
  // first remaining member by name, or goes when none remains.
  std::map<std::string, Channel> changed;
  for (const auto& [name, channel] : channels_) {
    if (!channel.is_private || !has_member(channel, user)) continue;
    Channel after = channel;
    after.members.erase(std::lower_bound(after.members.begin(), after.members.end(), user));
    if (after.owner == user) after.owner = after.members.empty() ? "" : after.members.front();
    changed.emplace(name, std::move(after));
  }
  if (changed.empty()) return true;
  bool stored = in_transaction(
      db_,
      [&] {
        Statement remove(db_, "DELETE FROM channel_members WHERE user = ?");
        remove.bind(1, user);
        if (!run(remove)) return false;
        for (const auto& [name, after] : changed) {
          Statement update(db_, after.owner.empty()
                                    ? "DELETE FROM channels WHERE name = ?1"
                                    : "UPDATE channels SET owner = ?2 WHERE name = ?1");
          update.bind(1, name);
          if (!after.owner.empty()) update.bind(2, after.owner);
          if (!run(update)) return false;
        }
        return bump_version_locked();
      },
      error);
  if (!stored) return false;
  for (auto& [name, after] : changed) {
    if (after.owner.empty()) {
      channels_.erase(name);
    } else {
      channels_[name] = std::move(after);
    }
  }
  changed_locked();
  return true;
}

std::optional<ChannelDirectory::Channel> ChannelDirectory::find(const std::string& name,
                                                                const std::string& reader) const {
  std::lock_guard lock(mutex_);
  auto found = channels_.find(name);
  if (found == channels_.end()) return std::nullopt;
  const Channel& channel = found->second;
  if (channel.is_private && !has_member(channel, reader)) return std::nullopt;
  return channel;
}

std::vector<ChannelDirectory::Channel> ChannelDirectory::visible_to(
    const std::string& reader) const {
  std::lock_guard lock(mutex_);
  std::vector<Channel> visible;
  for (const auto& [name, channel] : channels_) {
    if (!channel.is_private || has_member(channel, reader)) visible.push_back(channel);
  }
  return visible;
}

PrivateChannelsPtr ChannelDirectory::private_channels() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

}  // namespace relay
