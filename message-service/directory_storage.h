#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace relay {

/// A created channel as the directory stores it.
struct DirectoryChannel {
  std::string name;
  std::string owner;
  bool is_private = false;
  int64_t created_ms = 0;
  std::vector<std::string> members;  // private channels: sorted; public: empty
};

/// Everything the directory holds, and the version it was at.
struct DirectoryTable {
  std::map<std::string, DirectoryChannel> channels;
  int64_t version = 0;
};

/// One change ChannelDirectory asks its storage to make; a change is a list of them.
struct DirectoryEdit {
  enum class Kind {
    kAddChannel,     // channel, user = owner, is_private, at_ms
    kAddMember,      // channel, user, at_ms
    kRemoveMember,   // channel, user
    kRemoveUser,     // user: out of every channel
    kSetOwner,       // channel, user = the new owner
    kRemoveChannel,  // channel (and its members)
  };
  Kind kind;
  std::string channel;
  std::string user;
  bool is_private = false;
  int64_t at_ms = 0;
};

/// Where ChannelDirectory keeps its channels (the mirror in memory is ChannelDirectory's). A change
/// is one transaction: begin() locks the stored table against every other writer (another
/// instance's change waits for this one to commit) and says its version, so a caller whose mirror
/// is older reloads inside the lock and decides on the table as it is; commit() writes the edits
/// and moves the version on by one. Two engines: SQLite in DATA_DIR (one instance's own) and
/// PostgreSQL (STORE=postgres, shared by every instance; a commit notifies
/// AccountStore::kChangedChannel).
///
/// Threads: one caller at a time (ChannelDirectory's storage lock); every call blocks on the
/// database.
class DirectoryStorage {
 public:
  /// `<data_dir>/channels.db`. nullptr with `*error` set when it cannot be opened.
  static std::unique_ptr<DirectoryStorage> open_sqlite(const std::string& data_dir,
                                                       std::string* error);
  /// Tables relay_channels, relay_channel_members, relay_directory_version at `url`, created if
  /// needed. nullptr with `*error` set when it cannot.
  static std::unique_ptr<DirectoryStorage> open_postgres(const std::string& url,
                                                         std::string* error);
  virtual ~DirectoryStorage() = default;

  /// Reads everything, as one consistent snapshot (inside a change: as the change sees it); false
  /// with `*error` when it cannot.
  virtual bool load(DirectoryTable* table, std::string* error) = 0;
  /// The stored version, cheaply; nullopt with `*error` when it cannot be read.
  virtual std::optional<int64_t> version(std::string* error) = 0;
  /// A storage that others change too (PostgreSQL): version() is worth asking before a decision.
  virtual bool shared() const = 0;

  /// Starts a change: takes the write lock and returns the stored version; nullopt with `*error`
  /// when it cannot (no change is open then).
  virtual std::optional<int64_t> begin(std::string* error) = 0;
  /// Ends the open change by writing `edits` and the next version; false with `*error` when the
  /// database refused (then nothing was written).
  virtual bool commit(const std::vector<DirectoryEdit>& edits, std::string* error) = 0;
  /// Ends the open change without writing.
  virtual void rollback() = 0;
};

}  // namespace relay
