#include "tests/support/postgres_server.h"

#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include <libpq-fe.h>

namespace relay::testing {
namespace {

namespace fs = std::filesystem;

// When the test runs as root, initdb and postgres run as this account (PostgreSQL refuses root).
constexpr const char* kServerUser = "nobody";
constexpr const char* kServerGroup = "nogroup";
// setpriv execs the program (runuser would fork and stay its parent, so the PID the test holds
// would not be the server's). Changing the user clears the parent-death signal ServiceProcess
// set; --pdeathsig sets it again, so the server still dies with the test.
constexpr const char* kSetpriv = "/usr/bin/setpriv";

bool as_root() {
  return ::geteuid() == 0;
}

// The binary a ServiceProcess runs for `program`, and its arguments: the program itself, or
// setpriv running it as kServerUser.
std::string launcher(const std::string& program) {
  return as_root() ? kSetpriv : program;
}

std::vector<std::string> launcher_args(const std::string& program, std::vector<std::string> args) {
  if (!as_root()) return args;
  std::vector<std::string> all = {std::string("--reuid=") + kServerUser,
                                  std::string("--regid=") + kServerGroup, "--clear-groups",
                                  "--pdeathsig=KILL", program};
  all.insert(all.end(), args.begin(), args.end());
  return all;
}

std::string connection_info(int port, const std::string& database) {
  return "host=127.0.0.1 port=" + std::to_string(port) + " user=relay dbname=" + database +
         " connect_timeout=2";
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Runs `sql` on a connection of its own: the first column of the first row, "" when there is no
// row, nullopt (and `*error`) when connecting or the statement failed.
std::optional<std::string> run_sql(const std::string& conninfo, const std::string& sql,
                                   std::string* error) {
  PGconn* connection = ::PQconnectdb(conninfo.c_str());
  std::optional<std::string> answer;
  if (::PQstatus(connection) != CONNECTION_OK) {
    *error = "connecting (" + conninfo + "): " + trimmed(::PQerrorMessage(connection));
  } else {
    PGresult* result = ::PQexec(connection, sql.c_str());
    ExecStatusType status = ::PQresultStatus(result);
    if (status == PGRES_TUPLES_OK) {
      bool any = ::PQntuples(result) > 0 && ::PQnfields(result) > 0;
      answer = any ? ::PQgetvalue(result, 0, 0) : "";
    } else if (status == PGRES_COMMAND_OK) {
      answer = "";
    } else {
      *error = "`" + sql + "`: " + trimmed(::PQerrorMessage(connection));
    }
    ::PQclear(result);
  }
  ::PQfinish(connection);
  return answer;
}

}  // namespace

std::string postgres_bin_dir() {
  const char* path = std::getenv("RELAY_POSTGRES_BIN_DIR");
  return path != nullptr && *path != '\0' ? path : "/usr/lib/postgresql/15/bin";
}

PostgresServer::PostgresServer(std::string dir)
    : dir_(std::move(dir)),
      initdb_("initdb", launcher(postgres_bin_dir() + "/initdb"), {}),
      process_("postgres", launcher(postgres_bin_dir() + "/postgres"), {}) {
  process_.set_stop_signal(SIGINT);
}

PostgresServer::~PostgresServer() {
  if (process_.running()) process_.stop();
}

std::string PostgresServer::url() const {
  return "postgresql://relay@127.0.0.1:" + std::to_string(port_) + "/relay";
}

std::optional<std::string> PostgresServer::query(const std::string& sql) {
  return run_sql(connection_info(port_, "relay"), sql, &last_error_);
}

std::string PostgresServer::diagnostics() const {
  std::string text;
  // initdb's output only when it failed: a clean exit says nothing (and reads "UNEXPECTED").
  std::optional<ExitStatus> initdb_status = initdb_.exit_status();
  if (initdb_.pid() > 0 && !(initdb_status && initdb_status->clean())) {
    text += initdb_.diagnostics();
  }
  text += process_.diagnostics();
  if (!last_error_.empty()) text += "  last error: " + last_error_ + "\n";
  return text;
}

bool PostgresServer::prepare_folders() {
  std::error_code error;
  for (const char* name : {"data", "socket"}) {
    if (!fs::create_directories(dir_ + "/" + name, error) && error) {
      last_error_ = "creating " + dir_ + "/" + name + ": " + error.message();
      return false;
    }
  }
  if (!as_root()) return true;
  const passwd* server_user = ::getpwnam(kServerUser);
  const group* server_group = ::getgrnam(kServerGroup);
  if (server_user == nullptr || server_group == nullptr) {
    // Appended (GCC 12 reports a false -Wstringop-overread on this chain of operator+ at -O1).
    last_error_ = "running as root, but there is no user ";
    last_error_.append(kServerUser).append(" or no group ").append(kServerGroup);
    last_error_.append(" to run PostgreSQL as");
    return false;
  }
  for (const char* name : {"data", "socket"}) {
    std::string path = dir_ + "/" + name;
    if (::chown(path.c_str(), server_user->pw_uid, server_group->gr_gid) != 0) {
      last_error_ = "chown " + path + ": " + std::strerror(errno);
      return false;
    }
  }
  // The server's user must be able to reach its folders.
  for (fs::path path = fs::absolute(dir_); !path.empty(); path = path.parent_path()) {
    fs::permissions(path, fs::perms::others_exec, fs::perm_options::add, error);
    if (path == path.root_path()) break;
  }
  return true;
}

bool PostgresServer::initialize(Millis timeout) {
  initdb_.set_args(launcher_args(postgres_bin_dir() + "/initdb",
                                 {"--pgdata=" + dir_ + "/data", "--username=relay", "--auth=trust",
                                  "--encoding=UTF8", "--locale=C", "--no-sync"}));
  if (!initdb_.spawn()) return false;
  std::optional<ExitStatus> status = initdb_.wait_exit(timeout);
  if (!status) {
    initdb_.kill9();
    last_error_ = "initdb did not finish in time";
    return false;
  }
  if (!status->clean()) {
    last_error_ = "initdb " + status->describe();
    return false;
  }
  return true;
}

bool PostgresServer::ensure_database() {
  std::string conninfo = connection_info(port_, "postgres");
  std::optional<std::string> count =
      run_sql(conninfo, "SELECT count(*) FROM pg_database WHERE datname = 'relay'", &last_error_);
  if (!count) return false;
  return *count != "0" || run_sql(conninfo, "CREATE DATABASE relay", &last_error_).has_value();
}

bool PostgresServer::start(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  if (!prepare_folders()) return false;
  if (!fs::exists(dir_ + "/data/PG_VERSION") && !initialize(timeout)) return false;
  bool fixed_port = port_ != 0;
  // A port found free may be taken before postgres binds it: then try another (first start only).
  // A restart after a kill -9 can find the killed server's children still attached to its shared
  // memory for a moment (they leave when they notice it died), and postgres refuses to start
  // beside them: then try again, on the same port, until `timeout` passes.
  for (int attempt = 0; fixed_port ? Clock::now() < deadline : attempt < 5; ++attempt) {
    if (!fixed_port) port_ = reserve_free_port();
    process_.set_args(launcher_args(
        postgres_bin_dir() + "/postgres",
        {"-D", dir_ + "/data", "-p", std::to_string(port_), "-k", dir_ + "/socket", "-c",
         "listen_addresses=127.0.0.1", "-c", "fsync=on", "-c", "synchronous_commit=on"}));
    if (!process_.spawn()) return false;
    std::string conninfo = connection_info(port_, "postgres");
    bool up = eventually(
        [&] {
          if (!process_.running()) return true;  // exited: stop waiting
          return ::PQping(conninfo.c_str()) == PQPING_OK;
        },
        std::max(Millis(0), std::chrono::duration_cast<Millis>(deadline - Clock::now())));
    if (up && process_.running()) return ensure_database();
    process_.kill9();
    if (fixed_port) std::this_thread::sleep_for(100ms);
  }
  return false;
}

}  // namespace relay::testing
