#include "shared/validation.h"

#include <charconv>

namespace relay {

std::string error_body(const ApiError& error) {
  return dump_json({{"error", error.code}, {"detail", error.detail}});
}

bool is_valid_utf8(std::string_view text) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t extra;
    uint32_t code;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      code = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      code = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= n) return false;
    for (size_t k = 1; k <= extra; ++k) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      code = (code << 6) | (cc & 0x3F);
    }
    if ((extra == 2 && code < 0x800) || (extra == 3 && code < 0x10000) || code > 0x10FFFF ||
        (code >= 0xD800 && code <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

bool is_valid_channel(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

namespace {

// True for the code points a terminal or a text renderer interprets rather than shows: C0
// controls and DEL, C1 controls (U+0085 NEL, U+009B CSI, ...), the Arabic letter mark, zero-width
// and directional marks, line and paragraph separators, bidi embeddings, overrides and isolates,
// invisible operators, and the byte order mark.
bool is_interpreted_code_point(uint32_t code) {
  return code < 0x20 || (code >= 0x7F && code <= 0x9F) || code == 0x061C ||
         (code >= 0x200B && code <= 0x200F) || (code >= 0x2028 && code <= 0x202E) ||
         (code >= 0x2060 && code <= 0x2064) || (code >= 0x2066 && code <= 0x2069) || code == 0xFEFF;
}

}  // namespace

bool is_valid_user_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes || !is_valid_utf8(name)) return false;
  // Well-formed UTF-8 from here: decode each code point without re-checking continuation bytes.
  for (size_t i = 0; i < name.size();) {
    auto lead = static_cast<unsigned char>(name[i]);
    size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    uint32_t code = length == 1 ? lead : lead & (0x7F >> length);
    for (size_t k = 1; k < length; ++k) {
      code = (code << 6) | (static_cast<unsigned char>(name[i + k]) & 0x3F);
    }
    if (is_interpreted_code_point(code)) return false;
    i += length;
  }
  return true;
}

namespace {

ApiError bad_request(std::string code, std::string detail) {
  return ApiError{400, std::move(code), std::move(detail)};
}

// Reads an optional string field; returns an error when present but not a string.
std::optional<ApiError> optional_string(const nlohmann::json& body, const char* key,
                                        std::string* out, bool* present) {
  *present = false;
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) {
    return bad_request(std::string("invalid_") + key,
                       std::string("\"") + key + "\" must be a string");
  }
  *out = it->get<std::string>();
  *present = true;
  return std::nullopt;
}

// Reads an optional user name field ("user", "to"); invalid_<key> when present but not 1 to 64
// bytes without control characters.
std::optional<ApiError> optional_user_name(const nlohmann::json& body, const char* key,
                                           std::string* out, bool* present) {
  if (auto error = optional_string(body, key, out, present)) return error;
  if (*present && !is_valid_user_name(*out)) {
    return bad_request(
        std::string("invalid_") + key,
        std::string("\"") + key +
            "\" must be 1 to 64 bytes of UTF-8 with no control or invisible formatting characters");
  }
  return std::nullopt;
}

ApiError invalid_channel() {
  return bad_request("invalid_channel",
                     "\"channel\" must be 1 to 64 characters from A-Z a-z 0-9 _ . -");
}

// Reads an optional "channel"; invalid_channel when present but not a channel name.
std::optional<ApiError> optional_channel(const nlohmann::json& body, std::string* out,
                                         bool* present) {
  if (auto error = optional_string(body, "channel", out, present)) return error;
  if (*present && !is_valid_channel(*out)) return invalid_channel();
  return std::nullopt;
}

// Parses a request body that must be a JSON object of valid UTF-8.
std::variant<nlohmann::json, ApiError> parse_object_body(std::string_view body) {
  if (!is_valid_utf8(body)) {
    return bad_request("invalid_utf8", "the request body must be valid UTF-8");
  }
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded()) {
    return bad_request("invalid_json", "the request body is not valid JSON");
  }
  if (!parsed.is_object()) {
    return bad_request("invalid_json", "the request body must be a JSON object");
  }
  return parsed;
}

// Reads the "user" a body is from. Signed in (`caller` set): absent means the caller, anything
// else must be the caller. Otherwise it is required, or `fallback` when there is one.
std::optional<ApiError> author(const nlohmann::json& body, const std::string& caller,
                               std::optional<std::string_view> fallback, std::string* user) {
  bool present = false;
  if (auto error = optional_user_name(body, "user", user, &present)) return error;
  if (auto error = check_claimed_user(*user, present, caller)) return error;
  if (present) return std::nullopt;
  if (!caller.empty()) {
    *user = caller;
  } else if (fallback) {
    *user = std::string(*fallback);
  } else {
    return bad_request("missing_user", "\"user\" is required: who this is from");
  }
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> check_claimed_user(std::string_view claimed, bool present,
                                           const std::string& caller) {
  if (caller.empty() || !present || claimed == caller) return std::nullopt;
  return ApiError{403, "forbidden",
                  "\"user\" must be left out or be your own name (" + caller +
                      "): nobody acts or reads in another's name"};
}

std::variant<TypingDraft, ApiError> parse_typing_request(std::string_view body,
                                                         const std::string& caller) {
  auto object = parse_object_body(body);
  if (auto* error = std::get_if<ApiError>(&object)) return *error;
  const auto& parsed = std::get<nlohmann::json>(object);
  TypingDraft draft;
  if (auto error = author(parsed, caller, std::nullopt, &draft.user)) return *error;
  bool has_to = false;
  bool has_channel = false;
  if (auto error = optional_user_name(parsed, "to", &draft.to, &has_to)) return *error;
  if (auto error = optional_string(parsed, "channel", &draft.channel, &has_channel)) return *error;
  if (has_channel && has_to) {
    return bad_request("invalid_to", "give \"channel\" or \"to\", not both");
  }
  if (has_channel && !is_valid_channel(draft.channel)) return invalid_channel();
  if (!has_channel && !has_to) draft.channel = kDefaultChannel;
  return draft;
}

std::variant<ReceiptDraft, ApiError> parse_receipt_request(std::string_view body,
                                                           const std::string& caller) {
  auto object = parse_object_body(body);
  if (auto* error = std::get_if<ApiError>(&object)) return *error;
  const auto& parsed = std::get<nlohmann::json>(object);
  ReceiptDraft draft;
  if (auto error = author(parsed, caller, std::nullopt, &draft.user)) return *error;
  bool present = false;
  auto status_error = optional_string(parsed, "status", &draft.status, &present);
  if (status_error || !present || (draft.status != "delivered" && draft.status != "read")) {
    return bad_request("invalid_status", "\"status\" must be \"delivered\" or \"read\"");
  }
  return draft;
}

std::variant<ChannelDraft, ApiError> parse_channel_request(std::string_view body) {
  auto object = parse_object_body(body);
  if (auto* error = std::get_if<ApiError>(&object)) return *error;
  const auto& parsed = std::get<nlohmann::json>(object);
  ChannelDraft draft;
  auto name = parsed.find("name");
  if (name == parsed.end() || !name->is_string() ||
      !is_valid_channel(name->get_ref<const std::string&>())) {
    return bad_request("invalid_channel",
                       "\"name\" is required: 1 to 64 characters from A-Z a-z 0-9 _ . -");
  }
  draft.name = name->get<std::string>();
  auto is_private = parsed.find("private");
  if (is_private != parsed.end() && !is_private->is_null()) {
    if (!is_private->is_boolean()) {
      return bad_request("invalid_private", "\"private\" must be true or false");
    }
    draft.is_private = is_private->get<bool>();
  }
  return draft;
}

std::variant<std::string, ApiError> parse_member_request(std::string_view body) {
  auto object = parse_object_body(body);
  if (auto* error = std::get_if<ApiError>(&object)) return *error;
  std::string user;
  bool present = false;
  if (auto error = optional_user_name(std::get<nlohmann::json>(object), "user", &user, &present))
    return *error;
  if (!present) return bad_request("missing_user", "\"user\" is required: who to add");
  return user;
}

std::variant<MessageDraft, ApiError> parse_message_request(std::string_view body,
                                                           size_t max_content_bytes,
                                                           const std::string& caller) {
  auto object = parse_object_body(body);
  if (auto* error = std::get_if<ApiError>(&object)) return *error;
  const auto& parsed = std::get<nlohmann::json>(object);
  MessageDraft draft;
  auto content = parsed.find("content");
  if (content == parsed.end() || content->is_null()) {
    return bad_request("missing_content", "\"content\" is required: a non-empty string");
  }
  if (!content->is_string()) {
    return bad_request("invalid_content", "\"content\" must be a string");
  }
  draft.content = content->get<std::string>();
  if (draft.content.empty()) {
    return bad_request("empty_content", "\"content\" must not be empty");
  }
  if (draft.content.size() > max_content_bytes) {
    return ApiError{413, "content_too_large",
                    "\"content\" is " + std::to_string(draft.content.size()) +
                        " bytes; the limit is " + std::to_string(max_content_bytes) + " bytes"};
  }

  bool present = false;
  if (auto error = author(parsed, caller, kDefaultUser, &draft.user)) return *error;
  if (auto error = optional_channel(parsed, &draft.channel, &present)) return *error;
  if (!present) draft.channel = kDefaultChannel;
  if (auto error = optional_user_name(parsed, "to", &draft.to, &present)) return *error;
  return draft;
}

std::variant<MessageFilter, ApiError> parse_filter(std::string_view channels_csv,
                                                   std::string_view user) {
  MessageFilter filter;
  size_t start = 0;
  while (start <= channels_csv.size() && !channels_csv.empty()) {
    size_t comma = channels_csv.find(',', start);
    if (comma == std::string_view::npos) comma = channels_csv.size();
    auto name = channels_csv.substr(start, comma - start);
    if (!is_valid_channel(name)) {
      return bad_request("invalid_channel",
                         "each channel must be 1 to 64 characters from A-Z a-z 0-9 _ . - "
                         "(comma-separated)");
    }
    filter.channels.emplace_back(name);
    start = comma + 1;
  }
  if (!user.empty()) {
    if (!is_valid_user_name(user)) {
      return bad_request("invalid_user",
                         "\"user\" must be 1 to 64 bytes of UTF-8 with no control or invisible "
                         "formatting characters");
    }
    filter.user = std::string(user);
  }
  return filter;
}

std::optional<int64_t> parse_non_negative(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

bool is_printable_token(std::string_view text, size_t max_bytes) {
  if (text.empty() || text.size() > max_bytes) return false;
  for (char c : text) {
    if (c < 0x21 || c > 0x7E) return false;
  }
  return true;
}

bool is_valid_idempotency_key(std::string_view key) {
  return is_printable_token(key, 200);
}

}  // namespace relay
