#include "shared/http/http_reply.h"

#include "shared/message.h"

namespace relay {

HttpReply HttpReply::json(int status, const nlohmann::json& body) {
  HttpReply reply;
  reply.status = status;
  reply.body = dump_json(body);
  return reply;
}

HttpReply HttpReply::error(const ApiError& error) {
  HttpReply reply;
  reply.status = error.status;
  reply.body = error_body(error);
  return reply;
}

HttpReply HttpReply::text(int status, std::string body, std::string content_type) {
  HttpReply reply;
  reply.status = status;
  reply.body = std::move(body);
  reply.content_type = std::move(content_type);
  return reply;
}

HttpReply HttpReply::later() {
  HttpReply reply;
  reply.deferred = true;
  return reply;
}

HttpReply HttpReply::on_pool(std::function<HttpReply()> rest) {
  HttpReply reply;
  reply.rest_on_pool = std::move(rest);
  return reply;
}

const char* reason_phrase(int status) {
  // One status per line reads as the table it is.
  // clang-format off
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
  // clang-format on
}

bool is_safe_header_value(std::string_view value) {
  for (unsigned char c : value) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

}  // namespace relay
