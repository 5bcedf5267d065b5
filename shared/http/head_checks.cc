#include "shared/http/head_checks.h"

#include "shared/http_rules.h"

namespace relay {

HeadCheck require_json(const char* what) {
  return [what](HttpRequest& head) -> std::optional<HttpReply> {
    if (is_json_content_type(head.header("content-type"))) return std::nullopt;
    return HttpReply::error(
        {415, "unsupported_media_type",
         std::string("send ") + what + " as JSON with Content-Type: application/json"});
  };
}

}  // namespace relay
