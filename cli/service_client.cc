#include "cli/service_client.h"

#include <httplib.h>

#include "shared/message.h"

namespace relay::cli {

namespace {

constexpr auto kConnectTimeout = std::chrono::seconds(10);
constexpr auto kReadTimeout = std::chrono::seconds(30);

std::unique_ptr<httplib::Client> make_client(const std::string& base_url,
                                             std::chrono::seconds read_timeout) {
  auto client = std::make_unique<httplib::Client>(base_url);
  client->set_connection_timeout(kConnectTimeout);
  client->set_read_timeout(read_timeout);
  client->set_write_timeout(kReadTimeout);
  client->set_keep_alive(false);
  return client;
}

httplib::Headers to_headers(const HeaderList& list) {
  httplib::Headers headers;
  for (const auto& [name, value] : list) headers.emplace(name, value);
  return headers;
}

int retry_after(const httplib::Headers& headers) {
  auto it = headers.find("Retry-After");
  if (it == headers.end()) return -1;
  try {
    return std::stoi(it->second);
  } catch (...) {
    return -1;
  }
}

// httplib's own names ("Connection", "Read") are terse; say what happened.
std::string describe_error(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection:
      return "could not connect";
    case httplib::Error::ConnectionTimeout:
      return "connecting timed out";
    case httplib::Error::Read:
      return "the connection broke or went silent while reading";
    case httplib::Error::Write:
      return "the connection broke while writing";
    case httplib::Error::Canceled:
      return "cancelled";
    default:
      return httplib::to_string(error);
  }
}

CallResult to_result(const httplib::Result& result) {
  CallResult out;
  if (!result) {
    out.transport_error = describe_error(result.error());
    return out;
  }
  out.status = result->status;
  out.body = result->body;
  out.json = nlohmann::json::parse(out.body, nullptr, false);
  out.retry_after_seconds = retry_after(result->headers);
  auto [first, last] = result->headers.equal_range("Set-Cookie");
  for (auto it = first; it != last; ++it) out.set_cookies.push_back(it->second);
  return out;
}

}  // namespace

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string with_query(const std::string& path, const QueryParams& query) {
  std::string out = path;
  char separator = '?';
  for (const auto& [name, value] : query) {
    out.push_back(separator);
    out += url_encode(name) + "=" + url_encode(value);
    separator = '&';
  }
  return out;
}

ServiceClient::ServiceClient(std::string base_url) : base_url_(std::move(base_url)) {}

ServiceClient::~ServiceClient() = default;

HeaderList ServiceClient::with_authorization(const HeaderList& headers) const {
  HeaderList all = headers;
  if (authorization_) {
    std::string value = authorization_();
    if (!value.empty()) all.emplace_back("Authorization", std::move(value));
  }
  return all;
}

CallResult ServiceClient::get(const std::string& path, const QueryParams& query,
                              const HeaderList& headers) const {
  return to_result(make_client(base_url_, kReadTimeout)
                       ->Get(with_query(path, query), to_headers(with_authorization(headers))));
}

CallResult ServiceClient::post_json(const std::string& path, const nlohmann::json& body,
                                    const HeaderList& headers) const {
  return to_result(make_client(base_url_, kReadTimeout)
                       ->Post(path, to_headers(with_authorization(headers)), dump_json(body),
                              "application/json"));
}

CallResult ServiceClient::del(const std::string& path, const HeaderList& headers) const {
  return to_result(
      make_client(base_url_, kReadTimeout)->Delete(path, to_headers(with_authorization(headers))));
}

CallResult ServiceClient::stream(const std::string& path, const QueryParams& query,
                                 const HeaderList& headers, std::chrono::seconds idle_timeout,
                                 const StreamStart& on_start, const StreamBytes& on_bytes) {
  auto client = make_client(base_url_, idle_timeout);
  {
    std::lock_guard lock(stream_mutex_);
    if (stopped_) {
      CallResult stopped;
      stopped.transport_error = "stopped";
      return stopped;
    }
    streaming_client_ = client.get();
  }
  int status = 0;
  std::string error_body;
  httplib::Result result = client->Get(
      with_query(path, query), to_headers(with_authorization(headers)),
      [&](const httplib::Response& response) {
        status = response.status;
        on_start(status);
        return !stopped_;
      },
      [&](const char* data, size_t length) {
        if (stopped_) return false;
        if (status != 200) {
          error_body.append(data, length);
          return error_body.size() < (1 << 20);
        }
        return on_bytes(std::string_view(data, length));
      });
  {
    std::lock_guard lock(stream_mutex_);
    streaming_client_ = nullptr;
  }
  CallResult out;
  out.status = status;
  if (result) {
    out.retry_after_seconds = retry_after(result->headers);
  } else {
    out.transport_error = describe_error(result.error());
  }
  out.body = std::move(error_body);
  out.json = nlohmann::json::parse(out.body, nullptr, false);
  return out;
}

void ServiceClient::stop() {
  std::lock_guard lock(stream_mutex_);
  stopped_ = true;
  // httplib's stop() only shuts the socket down while a request runs: safe from another thread.
  if (streaming_client_ != nullptr) streaming_client_->stop();
}

}  // namespace relay::cli
