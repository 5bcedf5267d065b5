#include "tests/support/http_client.h"

#include <algorithm>
#include <cctype>
#include <memory>

namespace relay::testing {

namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

std::string HttpResponse::header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (lower(key) == lower(name)) return value;
  }
  return {};
}

bool HttpResponse::has_header(const std::string& name) const {
  for (const auto& entry : headers) {
    if (lower(entry.first) == lower(name)) return true;
  }
  return false;
}

Json HttpResponse::json() const {
  return Json::parse(body, nullptr, false);
}

std::string HttpResponse::describe() const {
  if (status == 0) return "no response: " + error;
  std::string shown = body.size() > 600 ? body.substr(0, 600) + "..." : body;
  return "status " + std::to_string(status) + " body " + shown;
}

namespace {

HttpResponse to_response(const httplib::Result& result) {
  HttpResponse response;
  if (!result) {
    response.error = httplib::to_string(result.error());
    return response;
  }
  response.status = result->status;
  response.body = result->body;
  response.headers = result->headers;
  return response;
}

std::unique_ptr<httplib::Client> make_client(int port, Millis timeout) {
  auto client = std::make_unique<httplib::Client>("127.0.0.1", port);
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(timeout - seconds);
  client->set_connection_timeout(seconds.count(), micros.count());
  client->set_read_timeout(seconds.count(), micros.count());
  client->set_write_timeout(seconds.count(), micros.count());
  client->set_keep_alive(false);
  return client;
}

}  // namespace

HttpResponse HttpClient::get(const std::string& path, const httplib::Headers& headers) const {
  return to_response(make_client(port_, timeout_)->Get(path, merged(headers)));
}

HttpResponse HttpClient::post(const std::string& path, const std::string& body,
                              const std::string& content_type,
                              const httplib::Headers& headers) const {
  return to_response(make_client(port_, timeout_)->Post(path, merged(headers), body, content_type));
}

HttpResponse HttpClient::post_json(const std::string& path, const Json& body,
                                   const httplib::Headers& headers) const {
  return post(path, body.dump(), "application/json", headers);
}

HttpResponse HttpClient::del(const std::string& path, const httplib::Headers& headers) const {
  return to_response(make_client(port_, timeout_)->Delete(path, merged(headers)));
}

HttpResponse HttpClient::options(const std::string& path) const {
  return to_response(make_client(port_, timeout_)->Options(path, merged({})));
}

HttpClient HttpClient::with_headers(const httplib::Headers& headers) const {
  HttpClient copy = *this;
  copy.defaults_.insert(headers.begin(), headers.end());
  return copy;
}

httplib::Headers HttpClient::merged(const httplib::Headers& headers) const {
  if (defaults_.empty()) return headers;
  httplib::Headers all = defaults_;
  all.insert(headers.begin(), headers.end());
  return all;
}

}  // namespace relay::testing
