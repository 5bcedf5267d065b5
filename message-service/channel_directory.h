#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "shared/private_channels.h"

struct sqlite3;

namespace relay {

/// The channels someone created with POST /channels, and the members of the private ones, in
/// `<data_dir>/channels.db` (SQLite, WAL, synchronous=FULL: an answered change survives a crash),
/// mirrored in memory so that every request can ask "may this user see this channel?" without a
/// read. Channels nobody created are public and exist as soon as a message names them; a created
/// public channel is listed even before its first message. A private channel always has its
/// owner as a member; the owner cannot leave it. Every change to membership increments a stored
/// version, so notify-service can tell whether it holds the current table (private_channels()).
///
/// Threads: any; one mutex guards the database and the mirror. Changes block on SQLite (call them
/// from a worker); the read-only queries only touch memory.
class ChannelDirectory {
 public:
  /// Opens (creating if needed) the database and loads it. nullptr with `*error` set when it
  /// cannot.
  static std::unique_ptr<ChannelDirectory> open(const std::string& data_dir, std::string* error);
  ~ChannelDirectory();
  ChannelDirectory(const ChannelDirectory&) = delete;
  ChannelDirectory& operator=(const ChannelDirectory&) = delete;

  struct Channel {
    std::string name;
    std::string owner;
    bool is_private = false;
    int64_t created_ms = 0;
    std::vector<std::string> members;  // private channels: sorted; public: empty
  };

  enum class Outcome {
    kDone,        // changed
    kUnchanged,   // already so (add of a member); nothing written
    kExists,      // create: the name is taken
    kNotFound,    // no such channel visible to the caller, or (remove) `user` is not a member
    kForbidden,   // remove: only the owner removes others; a member may only leave
    kOwner,       // remove: the owner cannot leave their channel
    kNotPrivate,  // members of a public channel: it has none
    kFailed,      // the database refused; nothing changed (`*error` says why)
  };

  /// Creates `name` with `owner` (its first member when private).
  Outcome create(const std::string& name, const std::string& owner, bool is_private, int64_t now_ms,
                 std::string* error);
  /// Adds `user` to private channel `name`, as member `by`.
  Outcome add_member(const std::string& name, const std::string& by, const std::string& user,
                     int64_t now_ms, std::string* error);
  /// Removes `user` from private channel `name`, as `by` (the owner, or `user` leaving).
  Outcome remove_member(const std::string& name, const std::string& by, const std::string& user,
                        std::string* error);
  /// Removes `user` from every private channel (their account was removed, or the name is being
  /// registered afresh: a new account never inherits an old one's channels). A channel they owned
  /// passes to its first remaining member by name, or is deleted when none remains. Writes nothing
  /// when they are in none. Returns false when the database refused.
  bool forget_user(const std::string& user, std::string* error);

  /// The created channel `name` if `reader` may see it (public, or a member).
  std::optional<Channel> find(const std::string& name, const std::string& reader) const;
  /// Every created channel `reader` may see, by name.
  std::vector<Channel> visible_to(const std::string& reader) const;
  /// The current private channels and their members, with the version of the table.
  PrivateChannelsPtr private_channels() const;

 private:
  explicit ChannelDirectory(sqlite3* db) : db_(db) {}
  bool load(std::string* error);
  /// Bumps the stored version inside the open transaction; true on success.
  bool bump_version_locked();
  /// The private channel `name` when `member` is one of its members, else nullptr with the
  /// refusal (kNotFound, kNotPrivate).
  Channel* private_channel_of_locked(const std::string& name, const std::string& member,
                                     Outcome* refusal);
  /// After a committed membership change: the next version, and its snapshot.
  void changed_locked();
  /// Rebuilds the snapshot from the mirror.
  void publish_locked();

  mutable std::mutex mutex_;
  sqlite3* db_;                              // guarded by mutex_
  std::map<std::string, Channel> channels_;  // guarded by mutex_; members kept sorted
  int64_t version_ = 0;                      // guarded by mutex_
  PrivateChannelsPtr snapshot_;              // guarded by mutex_
};

}  // namespace relay
