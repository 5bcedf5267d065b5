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

/// Where ChannelDirectory keeps its channels (the mirror in memory is ChannelDirectory's). Every
/// committed change moves the stored version on by one, and a change commits only from the
/// version its caller last saw, so a directory that another instance changed meanwhile is told
/// to reload instead of writing over what it has not seen. Two engines: SQLite in DATA_DIR (one
/// instance's own) and PostgreSQL (STORE=postgres, shared by every instance; a commit notifies
/// AccountStore::kChangedChannel).
///
/// Threads: one caller at a time (ChannelDirectory's mutex); every call blocks on the database.
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

  /// Reads everything; false with `*error` when it cannot.
  virtual bool load(DirectoryTable* table, std::string* error) = 0;
  /// The stored version, cheaply; nullopt with `*error` when it cannot be read.
  virtual std::optional<int64_t> version(std::string* error) = 0;
  /// A storage that others change too (PostgreSQL): version() is worth asking before a decision.
  virtual bool shared() const = 0;

  enum class Commit {
    kDone,    // stored; the version is now `from_version + 1`
    kStale,   // the stored version is not `from_version`: nothing written, reload first
    kFailed,  // the database refused; nothing written (`*error` says why)
  };
  /// Applies `edits` in one transaction, from `from_version`.
  virtual Commit commit(int64_t from_version, const std::vector<DirectoryEdit>& edits,
                        std::string* error) = 0;
};

}  // namespace relay
