#include "message-service/channel_directory.h"

#include <algorithm>

namespace relay {

namespace {

using Channels = std::map<std::string, ChannelDirectory::Channel>;
using Outcome = ChannelDirectory::Outcome;
using Edits = std::vector<DirectoryEdit>;

bool has_member(const ChannelDirectory::Channel& channel, const std::string& user) {
  return std::binary_search(channel.members.begin(), channel.members.end(), user);
}

void erase_member(std::vector<std::string>* members, const std::string& user) {
  auto found = std::lower_bound(members->begin(), members->end(), user);
  if (found != members->end() && *found == user) members->erase(found);
}

// What a committed edit does to the mirror: the same as to the stored table.
void apply(const DirectoryEdit& edit, Channels* channels) {
  using Kind = DirectoryEdit::Kind;
  switch (edit.kind) {
    case Kind::kAddChannel:
      channels->emplace(
          edit.channel,
          ChannelDirectory::Channel{edit.channel, edit.user, edit.is_private, edit.at_ms, {}});
      break;
    case Kind::kAddMember: {
      auto& members = (*channels)[edit.channel].members;
      members.insert(std::lower_bound(members.begin(), members.end(), edit.user), edit.user);
      break;
    }
    case Kind::kRemoveMember:
      erase_member(&(*channels)[edit.channel].members, edit.user);
      break;
    case Kind::kRemoveUser:
      for (auto& [name, channel] : *channels) erase_member(&channel.members, edit.user);
      break;
    case Kind::kSetOwner:
      (*channels)[edit.channel].owner = edit.user;
      break;
    case Kind::kRemoveChannel:
      channels->erase(edit.channel);
      break;
  }
}

// The private channel `name` when `member` is one of its members, else the refusal (kNotFound,
// kNotPrivate).
std::variant<const ChannelDirectory::Channel*, Outcome> private_channel_of(
    const Channels& channels, const std::string& name, const std::string& member) {
  auto found = channels.find(name);
  if (found == channels.end() || (found->second.is_private && !has_member(found->second, member))) {
    return Outcome::kNotFound;
  }
  if (!found->second.is_private) return Outcome::kNotPrivate;
  return &found->second;
}

}  // namespace

std::unique_ptr<ChannelDirectory> ChannelDirectory::open(const std::string& data_dir,
                                                         std::string* error) {
  auto storage = DirectoryStorage::open_sqlite(data_dir, error);
  return storage ? loaded(std::move(storage), error) : nullptr;
}

std::unique_ptr<ChannelDirectory> ChannelDirectory::open_postgres(const std::string& url,
                                                                  std::string* error) {
  auto storage = DirectoryStorage::open_postgres(url, error);
  return storage ? loaded(std::move(storage), error) : nullptr;
}

std::unique_ptr<ChannelDirectory> ChannelDirectory::open_for(const MessageServiceConfig& config,
                                                             std::string* error) {
  return config.postgres ? open_postgres(config.database_url, error) : open(config.data_dir, error);
}

std::unique_ptr<ChannelDirectory> ChannelDirectory::loaded(
    std::unique_ptr<DirectoryStorage> storage, std::string* error) {
  std::unique_ptr<ChannelDirectory> directory(new ChannelDirectory(std::move(storage)));
  std::lock_guard lock(directory->storage_mutex_);
  if (!directory->reload_locked(error)) return nullptr;
  return directory;
}

ChannelDirectory::~ChannelDirectory() = default;

bool ChannelDirectory::reload_locked(std::string* error) {
  DirectoryTable table;
  if (!storage_->load(&table, error)) return false;
  std::lock_guard lock(mutex_);
  channels_ = std::move(table.channels);
  version_ = table.version;
  publish_locked();
  return true;
}

bool ChannelDirectory::sync(std::string* error) {
  // Not shared: the mirror is the table; nothing to wait for (a change being committed shows
  // when it is done, as it always did).
  if (!storage_->shared()) return true;
  std::lock_guard lock(storage_mutex_);
  auto stored = storage_->version(error);
  if (!stored) return false;
  return *stored == version_ || reload_locked(error);
}

Outcome ChannelDirectory::change_locked(const Plan& plan, std::string* error) {
  bool shared = storage_->shared();
  std::variant<Outcome, Edits> planned;
  if (!shared) {
    // The mirror is the table: a refusal needs no database.
    planned = plan(channels_);
    if (auto* outcome = std::get_if<Outcome>(&planned)) return *outcome;
  }
  auto stored = storage_->begin(error);
  if (!stored) return Outcome::kFailed;
  if (shared) {
    if (*stored != version_) {
      // Another instance changed the table since the mirror was loaded: decide on it as it is.
      DirectoryTable table;
      if (!storage_->load(&table, error)) {
        storage_->rollback();
        return Outcome::kFailed;
      }
      std::lock_guard lock(mutex_);
      channels_ = std::move(table.channels);
      version_ = table.version;
      publish_locked();
    }
    planned = plan(channels_);
    if (auto* outcome = std::get_if<Outcome>(&planned)) {
      storage_->rollback();
      return *outcome;
    }
  }
  const Edits& edits = std::get<Edits>(planned);
  if (!storage_->commit(edits, error)) return Outcome::kFailed;
  std::lock_guard lock(mutex_);
  for (const DirectoryEdit& edit : edits) apply(edit, &channels_);
  ++version_;
  publish_locked();
  return Outcome::kDone;
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

Outcome ChannelDirectory::create(const std::string& name, const std::string& owner, bool is_private,
                                 int64_t now_ms, std::string* error) {
  std::lock_guard lock(storage_mutex_);
  return change_locked(
      [&](const Channels& channels) -> std::variant<Outcome, Edits> {
        if (channels.count(name) > 0) return Outcome::kExists;
        Edits edits{{DirectoryEdit::Kind::kAddChannel, name, owner, is_private, now_ms}};
        if (is_private)
          edits.push_back({DirectoryEdit::Kind::kAddMember, name, owner, true, now_ms});
        return edits;
      },
      error);
}

Outcome ChannelDirectory::add_member(const std::string& name, const std::string& by,
                                     const std::string& user, int64_t now_ms, std::string* error) {
  std::lock_guard lock(storage_mutex_);
  return change_locked(
      [&](const Channels& channels) -> std::variant<Outcome, Edits> {
        auto channel = private_channel_of(channels, name, by);
        if (auto* refusal = std::get_if<Outcome>(&channel)) return *refusal;
        if (has_member(*std::get<const Channel*>(channel), user)) return Outcome::kUnchanged;
        return Edits{{DirectoryEdit::Kind::kAddMember, name, user, true, now_ms}};
      },
      error);
}

Outcome ChannelDirectory::remove_member(const std::string& name, const std::string& by,
                                        const std::string& user, std::string* error) {
  std::lock_guard lock(storage_mutex_);
  return change_locked(
      [&](const Channels& channels) -> std::variant<Outcome, Edits> {
        auto found = private_channel_of(channels, name, by);
        if (auto* refusal = std::get_if<Outcome>(&found)) return *refusal;
        const Channel& channel = *std::get<const Channel*>(found);
        if (by != user && by != channel.owner) return Outcome::kForbidden;
        if (user == channel.owner) return Outcome::kOwner;
        if (!has_member(channel, user)) return Outcome::kNotFound;
        return Edits{{DirectoryEdit::Kind::kRemoveMember, name, user, true, 0}};
      },
      error);
}

bool ChannelDirectory::forget_user(const std::string& user, std::string* error) {
  std::lock_guard lock(storage_mutex_);
  Outcome outcome = change_locked(
      [&](const Channels& channels) -> std::variant<Outcome, Edits> {
        // Every private channel `user` is in loses them; one they own passes to the first
        // remaining member by name, or goes when none remains.
        Edits edits{{DirectoryEdit::Kind::kRemoveUser, "", user, true, 0}};
        for (const auto& [name, channel] : channels) {
          if (!channel.is_private || !has_member(channel, user) || channel.owner != user) continue;
          auto heir = std::find_if(channel.members.begin(), channel.members.end(),
                                   [&](const std::string& member) { return member != user; });
          if (heir == channel.members.end()) {
            edits.push_back({DirectoryEdit::Kind::kRemoveChannel, name, "", true, 0});
          } else {
            edits.push_back({DirectoryEdit::Kind::kSetOwner, name, *heir, true, 0});
          }
        }
        bool in_any = std::any_of(channels.begin(), channels.end(), [&](const auto& entry) {
          return entry.second.is_private && has_member(entry.second, user);
        });
        if (!in_any) return Outcome::kUnchanged;
        return edits;
      },
      error);
  return outcome != Outcome::kFailed;
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
