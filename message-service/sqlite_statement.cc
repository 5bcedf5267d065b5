#include "message-service/sqlite_statement.h"

#include <filesystem>
#include <system_error>

namespace relay {

sqlite3* open_database(const std::string& data_dir, const char* file_name, const char* schema,
                       std::string* path, std::string* error) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    *error = "cannot create data directory " + data_dir + ": " + ec.message();
    return nullptr;
  }
  *path = (std::filesystem::path(data_dir) / file_name).string();
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path->c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    *error = "cannot open " + *path + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return nullptr;
  }
  sqlite3_busy_timeout(db, 5000);
  if (!exec(db, "PRAGMA journal_mode=WAL;") || !exec(db, "PRAGMA synchronous=FULL;") ||
      !exec(db, schema)) {
    *error = "cannot initialise " + *path + ": " + sqlite3_errmsg(db);
    sqlite3_close(db);
    return nullptr;
  }
  return db;
}

}  // namespace relay
