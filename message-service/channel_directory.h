#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "message-service/config.h"
#include "message-service/directory_storage.h"
#include "shared/private_channels.h"

namespace relay {

/// The channels someone created with POST /channels, and the members of the private ones, kept in
/// a DirectoryStorage (SQLite in DATA_DIR, or PostgreSQL shared by every instance) and mirrored in
/// memory so that every request can ask "may this user see this channel?" without a read.
/// Channels nobody created are public and exist as soon as a message names them; a created public
/// channel is listed even before its first message. A private channel always has its owner as a
/// member; the owner cannot leave it. Every change increments a stored version, so notify-service
/// can tell whether it holds the current table (private_channels()).
///
/// With a shared storage another instance may change the table: a change here runs under the
/// storage's write lock and decides on the table as stored (reloading the mirror first when it is
/// behind), and sync() brings the mirror up to the stored version; call it before a decision that
/// must see every committed change.
///
/// Threads: any. Changes and sync() block on the storage (call them from a worker); they are
/// serialised among themselves. The read-only queries only touch memory, under a lock that no
/// database call holds, so an event loop may call them.
class ChannelDirectory {
 public:
  /// Opens (creating if needed) `<data_dir>/channels.db` and loads it. nullptr with `*error` set
  /// when it cannot.
  static std::unique_ptr<ChannelDirectory> open(const std::string& data_dir, std::string* error);
  /// The shared directory in PostgreSQL at `url`, loaded. nullptr with `*error` set when it
  /// cannot.
  static std::unique_ptr<ChannelDirectory> open_postgres(const std::string& url,
                                                         std::string* error);
  /// The directory `config` names: open_postgres() with STORE=postgres, else open().
  static std::unique_ptr<ChannelDirectory> open_for(const MessageServiceConfig& config,
                                                    std::string* error);
  ~ChannelDirectory();
  ChannelDirectory(const ChannelDirectory&) = delete;
  ChannelDirectory& operator=(const ChannelDirectory&) = delete;

  using Channel = DirectoryChannel;

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

  /// Brings the mirror up to the stored version (a shared storage only; otherwise the mirror is
  /// the table). False with `*error` when the storage cannot be read: the mirror is unchanged.
  bool sync(std::string* error);

  /// The created channel `name` if `reader` may see it (public, or a member).
  std::optional<Channel> find(const std::string& name, const std::string& reader) const;
  /// Every created channel `reader` may see, by name.
  std::vector<Channel> visible_to(const std::string& reader) const;
  /// The current private channels and their members, with the version of the table.
  PrivateChannelsPtr private_channels() const;

 private:
  explicit ChannelDirectory(std::unique_ptr<DirectoryStorage> storage)
      : storage_(std::move(storage)) {}
  static std::unique_ptr<ChannelDirectory> loaded(std::unique_ptr<DirectoryStorage> storage,
                                                  std::string* error);
  /// What a change does to the table as the mirror holds it: an outcome (nothing to write), or
  /// the edits to commit.
  using Plan = std::function<std::variant<Outcome, std::vector<DirectoryEdit>>(
      const std::map<std::string, Channel>&)>;
  /// Under the storage's write lock: brings the mirror up to the stored table when it is behind,
  /// plans against it and commits. Caller holds storage_mutex_.
  Outcome change_locked(const Plan& plan, std::string* error);
  /// Reads the whole table into the mirror. Caller holds storage_mutex_.
  bool reload_locked(std::string* error);
  /// Rebuilds the snapshot from the mirror. Caller holds mutex_.
  void publish_locked();

  std::mutex storage_mutex_;                   // serialises changes, reloads and sync()
  std::unique_ptr<DirectoryStorage> storage_;  // guarded by storage_mutex_
  mutable std::mutex mutex_;                   // guards the mirror; never held over a database call
  // The mirror: written under both locks, so either lock is enough to read it.
  std::map<std::string, Channel> channels_;  // members kept sorted
  int64_t version_ = 0;
  PrivateChannelsPtr snapshot_;  // guarded by mutex_
};

}  // namespace relay
