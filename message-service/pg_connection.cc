#include "message-service/pg_connection.h"

#include <charconv>

#include <libpq-fe.h>

namespace relay {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string connection_error(pg_conn* conn) {
  std::string error = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
  while (!error.empty() && (error.back() == '\n' || error.back() == ' ')) error.pop_back();
  return error.empty() ? "PostgreSQL connection failed" : error;
}

}  // namespace

void PgResult::Clear::operator()(pg_result* result) const {
  PQclear(result);
}

PgResult::PgResult(pg_result* result, std::string error)
    : result_(result), error_(std::move(error)) {}

int PgResult::rows() const {
  return result_ ? PQntuples(result_.get()) : 0;
}

bool PgResult::is_null(int row, int column) const {
  return !result_ || PQgetisnull(result_.get(), row, column) != 0;
}

std::string PgResult::text(int row, int column) const {
  if (is_null(row, column)) return {};
  return std::string(PQgetvalue(result_.get(), row, column),
                     static_cast<size_t>(PQgetlength(result_.get(), row, column)));
}

int64_t PgResult::number(int row, int column) const {
  int64_t value = 0;
  if (is_null(row, column)) return value;
  const char* begin = PQgetvalue(result_.get(), row, column);
  std::from_chars(begin, begin + PQgetlength(result_.get(), row, column), value);
  return value;
}

std::string PgResult::bytes(int row, int column) const {
  std::string hex = text(row, column);
  std::string out;
  if (hex.size() < 2 || hex[0] != '\\' || hex[1] != 'x') return out;
  out.reserve((hex.size() - 2) / 2);
  for (size_t i = 2; i + 1 < hex.size(); i += 2) {
    int high = hex_value(hex[i]);
    int low = hex_value(hex[i + 1]);
    if (high < 0 || low < 0) break;
    out.push_back(static_cast<char>(high * 16 + low));
  }
  return out;
}

std::string PgResult::sqlstate() const {
  if (!result_) return {};
  const char* state = PQresultErrorField(result_.get(), PG_DIAG_SQLSTATE);
  return state != nullptr ? state : "";
}

PgConnection::PgConnection(std::string url) : url_(std::move(url)) {}

PgConnection::~PgConnection() {
  reset();
}

void PgConnection::reset() {
  if (conn_ != nullptr) PQfinish(conn_);
  conn_ = nullptr;
}

bool PgConnection::ensure(std::string* error) {
  if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) return true;
  reset();
  auto now = std::chrono::steady_clock::now();
  if (!last_error_.empty() && now - failed_at_ < kRetryAfter) {
    *error = last_error_;
    return false;
  }
  // connect_timeout bounds a connect to a host that does not answer; keepalives notice a server
  // that went away while the connection idled; NOTICEs ("already exists, skipping" of every
  // schema run) stay out of stderr.
  const char* keys[] = {
      "dbname",           "connect_timeout",  "keepalives_idle", "keepalives_interval",
      "keepalives_count", "application_name", "options",         nullptr};
  const char* values[] = {
      url_.c_str(), "3", "10", "5", "3", "relay-message-service", "-c client_min_messages=warning",
      nullptr};
  conn_ = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    last_error_ = connection_error(conn_);
    failed_at_ = now;
    reset();
    *error = last_error_;
    return false;
  }
  last_error_.clear();
  return true;
}

PgResult PgConnection::exec(const std::string& sql, const std::vector<PgParam>& params) {
  std::string error;
  if (!ensure(&error)) return PgResult(nullptr, error);
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  values.reserve(params.size());
  for (const PgParam& param : params) {
    values.push_back(param.value ? param.value->c_str() : nullptr);
    lengths.push_back(param.value ? static_cast<int>(param.value->size()) : 0);
    formats.push_back(param.binary ? 1 : 0);
  }
  pg_result* result =
      PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(),
                   lengths.data(), formats.data(), /*resultFormat=*/0);
  ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return PgResult(result, {});
  std::string why = connection_error(conn_);
  if (result != nullptr && *PQresultErrorMessage(result) != '\0') {
    why = PQresultErrorMessage(result);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  }
  return PgResult(result, why.empty() ? "PostgreSQL statement failed" : why);
}

PgResult PgConnection::exec_repeatable(const std::string& sql, const std::vector<PgParam>& params) {
  bool was_connected = conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK &&
                       PQtransactionStatus(conn_) == PQTRANS_IDLE;
  PgResult result = exec(sql, params);
  if (result.ok() || !was_connected || conn_ == nullptr || PQstatus(conn_) != CONNECTION_BAD) {
    return result;
  }
  reset();
  last_error_.clear();  // the server may well be back: try now rather than fail fast
  return exec(sql, params);
}

PgResult PgConnection::exec_script(const std::string& sql) {
  std::string error;
  if (!ensure(&error)) return PgResult(nullptr, error);
  pg_result* result = PQexec(conn_, sql.c_str());
  ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return PgResult(result, {});
  std::string why = result != nullptr ? PQresultErrorMessage(result) : connection_error(conn_);
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  return PgResult(result, why.empty() ? connection_error(conn_) : why);
}

PgPool::PgPool(const std::string& url, size_t size) {
  for (size_t i = 0; i < size; ++i) idle_.push_back(std::make_unique<PgConnection>(url));
}

PgPool::Lease PgPool::take() {
  std::unique_lock lock(mutex_);
  freed_.wait(lock, [&] { return !idle_.empty(); });
  auto connection = std::move(idle_.back());
  idle_.pop_back();
  return Lease(*this, std::move(connection));
}

void PgPool::give_back(std::unique_ptr<PgConnection> connection) {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(connection));
  }
  freed_.notify_one();
}

std::string pg_value_rows(size_t rows, size_t columns, int first) {
  std::string sql;
  int index = first;
  for (size_t row = 0; row < rows; ++row) {
    sql.append(row == 0 ? "(" : ", (");
    for (size_t column = 0; column < columns; ++column) {
      if (column > 0) sql.append(", ");
      sql.push_back('$');
      sql.append(std::to_string(index++));
    }
    sql.push_back(')');
  }
  return sql;
}

bool pg_prepare_schema(const std::string& url, const char* schema, const char* what,
                       std::string* error) {
  PgConnection setup(url);
  PgResult created = setup.exec_script(schema);
  if (created.ok()) return true;
  *error = std::string("cannot prepare ") + what + " at " + pg_url_for_display(url) + ": " +
           created.error();
  return false;
}

std::string pg_url_for_display(std::string_view url) {
  // postgresql://user:password@host/db -> postgresql://user:***@host/db
  size_t scheme = url.find("://");
  size_t at = url.find('@');
  if (scheme == std::string_view::npos || at == std::string_view::npos || at < scheme) {
    return std::string(url);
  }
  size_t colon = url.find(':', scheme + 3);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  std::string shown(url.substr(0, colon + 1));
  shown.append("***");
  shown.append(url.substr(at));
  return shown;
}

}  // namespace relay
