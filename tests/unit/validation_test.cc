// Unit tests of shared/validation.h: UTF-8, names, POST /messages bodies, stream filters.

#include "shared/validation.h"

#include <string>
#include <variant>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

namespace relay {
namespace {

// The error parse_message_request returns for `body`; fails the test if it accepted the body.
ApiError request_error(std::string_view body, size_t max_content_bytes = 100) {
  auto result = parse_message_request(body, max_content_bytes);
  const auto* error = std::get_if<ApiError>(&result);
  REQUIRE_MESSAGE(error != nullptr, "accepted: " << std::string(body));
  return *error;
}

// The draft parse_message_request returns for `body`; fails the test if it refused the body.
MessageDraft request_draft(std::string_view body, size_t max_content_bytes = 100) {
  auto result = parse_message_request(body, max_content_bytes);
  const auto* error = std::get_if<ApiError>(&result);
  REQUIRE_MESSAGE(error == nullptr,
                  "refused " << std::string(body) << ": " << (error ? error->code : std::string()));
  return std::get<MessageDraft>(result);
}

}  // namespace

TEST_SUITE_BEGIN("validation");

TEST_CASE("validation: well-formed UTF-8 is accepted") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ASCII ~"));
  CHECK(is_valid_utf8(std::string_view("a\0b", 3)));  // NUL is a valid code point
  CHECK(is_valid_utf8("\xC2\x80"));                   // U+0080, smallest 2-byte
  CHECK(is_valid_utf8("\xC3\xA9"));                   // é
  CHECK(is_valid_utf8("\xDF\xBF"));                   // U+07FF, largest 2-byte
  CHECK(is_valid_utf8("\xE0\xA0\x80"));               // U+0800, smallest 3-byte
  CHECK(is_valid_utf8("\xE2\x82\xAC"));               // €
  CHECK(is_valid_utf8("\xED\x9F\xBF"));               // U+D7FF, just below the surrogates
  CHECK(is_valid_utf8("\xEE\x80\x80"));               // U+E000, just above the surrogates
  CHECK(is_valid_utf8("\xEF\xBF\xBF"));               // U+FFFF
  CHECK(is_valid_utf8("\xF0\x90\x80\x80"));           // U+10000, smallest 4-byte
  CHECK(is_valid_utf8("\xF0\x9F\x8E\x89"));           // 🎉
  CHECK(is_valid_utf8("\xF4\x8F\xBF\xBF"));           // U+10FFFF, the largest code point
  CHECK(is_valid_utf8("mixed \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\x89 end"));
}

TEST_CASE("validation: overlong UTF-8 encodings are refused") {
  CHECK_FALSE(is_valid_utf8("\xC0\x80"));          // NUL as 2 bytes
  CHECK_FALSE(is_valid_utf8("\xC0\xAF"));          // '/' as 2 bytes
  CHECK_FALSE(is_valid_utf8("\xC1\xBF"));          // U+007F as 2 bytes
  CHECK_FALSE(is_valid_utf8("\xE0\x80\x80"));      // NUL as 3 bytes
  CHECK_FALSE(is_valid_utf8("\xE0\x9F\xBF"));      // U+07FF as 3 bytes
  CHECK_FALSE(is_valid_utf8("\xF0\x80\x80\x80"));  // NUL as 4 bytes
  CHECK_FALSE(is_valid_utf8("\xF0\x8F\xBF\xBF"));  // U+FFFF as 4 bytes
}

TEST_CASE("validation: UTF-16 surrogates and code points above U+10FFFF are refused") {
  CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));              // U+D800
  CHECK_FALSE(is_valid_utf8("\xED\xAF\xBF"));              // U+DBFF
  CHECK_FALSE(is_valid_utf8("\xED\xB0\x80"));              // U+DC00
  CHECK_FALSE(is_valid_utf8("\xED\xBF\xBF"));              // U+DFFF
  CHECK_FALSE(is_valid_utf8("\xED\xA0\xBD\xED\xB8\x80"));  // a CESU-8 surrogate pair
  CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));          // U+110000
  CHECK_FALSE(is_valid_utf8("\xF5\x80\x80\x80"));
  CHECK_FALSE(is_valid_utf8("\xF7\xBF\xBF\xBF"));
  CHECK_FALSE(is_valid_utf8("\xF8\x88\x80\x80\x80"));  // old 5-byte form
  CHECK_FALSE(is_valid_utf8("\xFE"));
  CHECK_FALSE(is_valid_utf8("\xFF"));
}

TEST_CASE("validation: truncated and stray UTF-8 sequences are refused") {
  CHECK_FALSE(is_valid_utf8("\x80"));  // lone continuation byte
  CHECK_FALSE(is_valid_utf8("a\xBF"));
  CHECK_FALSE(is_valid_utf8("\xC3"));  // 2-byte lead at the end
  CHECK_FALSE(is_valid_utf8("abc\xC3"));
  CHECK_FALSE(is_valid_utf8("\xE2\x82"));      // 3-byte sequence missing a byte
  CHECK_FALSE(is_valid_utf8("\xF0\x9F\x8E"));  // 4-byte sequence missing a byte
  CHECK_FALSE(is_valid_utf8("\xC3\x41"));      // lead followed by ASCII
  CHECK_FALSE(is_valid_utf8("\xE2\x28\xA1"));
  CHECK_FALSE(is_valid_utf8("\xF0\x9F\x8E\x41"));
  CHECK_FALSE(is_valid_utf8("ok \xC3\xA9 then \xE2\x82"));
}

TEST_CASE("validation: channel names") {
  CHECK(is_valid_channel("general"));
  CHECK(is_valid_channel("a"));
  CHECK(is_valid_channel("Dev_Team-2.0"));
  CHECK(is_valid_channel(std::string(64, 'x')));
  CHECK_FALSE(is_valid_channel(""));
  CHECK_FALSE(is_valid_channel(std::string(65, 'x')));
  CHECK_FALSE(is_valid_channel("two words"));
  CHECK_FALSE(is_valid_channel("a,b"));
  CHECK_FALSE(is_valid_channel("a/b"));
  CHECK_FALSE(is_valid_channel("tab\there"));
  CHECK_FALSE(is_valid_channel("line\n"));
  CHECK_FALSE(is_valid_channel("caf\xC3\xA9"));
}

TEST_CASE("validation: user names") {
  CHECK(is_valid_user_name("alice"));
  CHECK(is_valid_user_name("Zo\xC3\xAB"));
  CHECK(is_valid_user_name("with space"));
  CHECK(is_valid_user_name("\xE6\x97\xA5\xE6\x9C\xAC"));
  CHECK(is_valid_user_name(std::string(64, 'u')));
  std::string thirty_two_e_acute;
  for (int i = 0; i < 32; ++i) thirty_two_e_acute += "\xC3\xA9";
  CHECK(is_valid_user_name(thirty_two_e_acute));                     // 64 bytes
  CHECK_FALSE(is_valid_user_name(thirty_two_e_acute + "\xC3\xA9"));  // 66 bytes
  CHECK_FALSE(is_valid_user_name(""));
  CHECK_FALSE(is_valid_user_name(std::string(65, 'u')));
  CHECK_FALSE(is_valid_user_name("tab\there"));
  CHECK_FALSE(is_valid_user_name("new\nline"));
  CHECK_FALSE(is_valid_user_name("del\x7F"));
  CHECK_FALSE(is_valid_user_name(std::string_view("nul\0", 4)));
  CHECK_FALSE(is_valid_user_name("bad\xFF"));
}

TEST_CASE("validation: user names refuse every code point a terminal interprets") {
  struct Case {
    const char* what;
    std::string text;  // UTF-8 of the code point
  };
  const std::vector<Case> refused = {
      {"U+0000 NUL", std::string(1, '\0')},
      {"U+001B ESC", "\x1B"},
      {"U+001F", "\x1F"},
      {"U+007F DEL", "\x7F"},
      {"U+0080, first C1", "\xC2\x80"},
      {"U+0085 NEL", "\xC2\x85"},
      {"U+009B CSI", "\xC2\x9B"},
      {"U+009F, last C1", "\xC2\x9F"},
      {"U+061C arabic letter mark", "\xD8\x9C"},
      {"U+200B zero width space", "\xE2\x80\x8B"},
      {"U+200D zero width joiner", "\xE2\x80\x8D"},
      {"U+200F right-to-left mark", "\xE2\x80\x8F"},
      {"U+2028 line separator", "\xE2\x80\xA8"},
      {"U+2029 paragraph separator", "\xE2\x80\xA9"},
      {"U+202A LRE", "\xE2\x80\xAA"},
      {"U+202E RLO", "\xE2\x80\xAE"},
      {"U+2060 word joiner", "\xE2\x81\xA0"},
      {"U+2064 invisible plus", "\xE2\x81\xA4"},
      {"U+2066 LRI", "\xE2\x81\xA6"},
      {"U+2069 PDI", "\xE2\x81\xA9"},
      {"U+FEFF byte order mark", "\xEF\xBB\xBF"},
  };
  for (const auto& c : refused) {
    CAPTURE(c.what);
    CHECK_FALSE(is_valid_user_name(c.text));
    CHECK_FALSE(is_valid_user_name("a" + c.text + "b"));
    CHECK_FALSE(is_valid_user_name("name" + c.text));
    CHECK_FALSE(is_valid_channel("a" + c.text + "b"));
  }
  // Their neighbours are ordinary characters.
  const std::vector<Case> accepted = {
      {"U+00A0 no-break space", "\xC2\xA0"},
      {"U+00A1", "\xC2\xA1"},
      {"U+061B arabic semicolon", "\xD8\x9B"},
      {"U+200A hair space", "\xE2\x80\x8A"},
      {"U+2010 hyphen", "\xE2\x80\x90"},
      {"U+2027", "\xE2\x80\xA7"},
      {"U+202F", "\xE2\x80\xAF"},
      {"U+205F", "\xE2\x81\x9F"},
      {"U+2065", "\xE2\x81\xA5"},
      {"U+206A", "\xE2\x81\xAA"},
      {"U+FEFE", "\xEF\xBB\xBE"},
      {"U+FF00", "\xEF\xBC\x80"},
      {"U+1F389", "\xF0\x9F\x8E\x89"},
  };
  for (const auto& c : accepted) {
    CAPTURE(c.what);
    CHECK(is_valid_user_name("a" + c.text + "b"));
  }
  // Invalid UTF-8 stays refused, including a C1 control written as an overlong or a bare byte.
  CHECK_FALSE(is_valid_user_name("\x85"));
  CHECK_FALSE(
      is_valid_user_name("\x9B"
                         "31m"));
  CHECK_FALSE(is_valid_user_name("\xC1\x9B"));
  CHECK_FALSE(is_valid_user_name("\xED\xA0\x80"));  // a surrogate
}

TEST_CASE("validation: typing, receipts and filters refuse C1 and bidi controls in user names") {
  for (const std::string& user : {std::string("a\xC2\x85"
                                              "b"),
                                  std::string("\xC2\x9B"
                                              "31m"),
                                  std::string("\xE2\x80\xAE"
                                              "evil")}) {
    CAPTURE(user);
    nlohmann::json typing = {{"user", user}, {"channel", "general"}};
    auto typed = parse_typing_request(typing.dump());
    REQUIRE(std::holds_alternative<ApiError>(typed));
    CHECK(std::get<ApiError>(typed).code == "invalid_user");
    nlohmann::json typing_to = {{"user", "alice"}, {"to", user}};
    auto typed_to = parse_typing_request(typing_to.dump());
    REQUIRE(std::holds_alternative<ApiError>(typed_to));
    CHECK(std::get<ApiError>(typed_to).code == "invalid_to");
    nlohmann::json receipt = {{"user", user}, {"status", "read"}};
    auto received = parse_receipt_request(receipt.dump());
    REQUIRE(std::holds_alternative<ApiError>(received));
    CHECK(std::get<ApiError>(received).code == "invalid_user");
    nlohmann::json message = {{"content", "x"}, {"user", user}};
    CHECK(request_error(message.dump()).code == "invalid_user");
    nlohmann::json direct = {{"content", "x"}, {"to", user}};
    CHECK(request_error(direct.dump()).code == "invalid_to");
    auto filter = parse_filter("", user);
    REQUIRE(std::holds_alternative<ApiError>(filter));
    CHECK(std::get<ApiError>(filter).code == "invalid_user");
  }
}

TEST_CASE("validation: a minimal message request gets the default user and channel") {
  MessageDraft draft = request_draft(R"({"content":"hi"})");
  CHECK(draft == MessageDraft{"hi", "anonymous", "general", ""});
  CHECK(kDefaultUser == "anonymous");
  CHECK(kDefaultChannel == "general");
  // null is treated as absent
  CHECK(request_draft(R"({"content":"hi","user":null,"channel":null,"to":null})") ==
        MessageDraft{"hi", "anonymous", "general", ""});
}

TEST_CASE("validation: a full message request keeps every field") {
  MessageDraft draft = request_draft(
      R"({"content":"caf\u00e9 \ud83c\udf89","user":"alice","channel":"dev-1","to":"bob"})");
  CHECK(draft.content == "caf\xC3\xA9 \xF0\x9F\x8E\x89");
  CHECK(draft.user == "alice");
  CHECK(draft.channel == "dev-1");
  CHECK(draft.to == "bob");
  CHECK(request_draft("{\"content\":\"line1\\nline2\"}").content == "line1\nline2");
}

TEST_CASE("validation: invalid UTF-8 in the body is invalid_utf8") {
  for (const std::string& body : std::vector<std::string>{
           std::string("{\"content\":\"\xFF\"}"), std::string("{\"content\":\"\xC0\x80\"}"),
           std::string("{\"content\":\"\xED\xA0\x80\"}"),
           std::string("{\"content\":\"ok\",\"user\":\"\xC3\"}")}) {
    ApiError error = request_error(body);
    CHECK(error.status == 400);
    CHECK(error.code == "invalid_utf8");
    CHECK_FALSE(error.detail.empty());
  }
}

TEST_CASE("validation: malformed or non-object JSON is invalid_json") {
  for (const std::string& body : std::vector<std::string>{
           "", "{", "{\"content\":", "not json", "[1,2]", "\"text\"", "42", "null",
           "{\"content\":\"a\"} trailing", "{'content':'a'}", R"({"content":"\ud800"})"}) {
    CAPTURE(body);
    ApiError error = request_error(body);
    CHECK(error.status == 400);
    CHECK(error.code == "invalid_json");
  }
}

TEST_CASE("validation: absent content is missing_content") {
  for (const std::string& body : std::vector<std::string>{
           "{}", R"({"user":"alice"})", R"({"content":null})", R"({"Content":"case matters"})"}) {
    CAPTURE(body);
    ApiError error = request_error(body);
    CHECK(error.status == 400);
    CHECK(error.code == "missing_content");
  }
}

TEST_CASE("validation: non-string content is invalid_content") {
  for (const std::string& body :
       std::vector<std::string>{R"({"content":5})", R"({"content":true})", R"({"content":["a"]})",
                                R"({"content":{"text":"a"}})", R"({"content":1.5})"}) {
    CAPTURE(body);
    ApiError error = request_error(body);
    CHECK(error.status == 400);
    CHECK(error.code == "invalid_content");
  }
}

TEST_CASE("validation: empty content is empty_content") {
  ApiError error = request_error(R"({"content":""})");
  CHECK(error.status == 400);
  CHECK(error.code == "empty_content");
}

TEST_CASE("validation: content over the byte limit is 413 content_too_large") {
  CHECK(request_draft(R"({"content":"0123456789"})", 10).content == "0123456789");
  ApiError error = request_error(R"({"content":"0123456789a"})", 10);
  CHECK(error.status == 413);
  CHECK(error.code == "content_too_large");
  CHECK(error.detail.find("10") != std::string::npos);
  // The limit counts UTF-8 bytes, not characters: 5 x "é" is 10 bytes, 6 x is 12.
  CHECK(request_draft("{\"content\":\"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\"}", 10)
            .content.size() == 10);
  CHECK(request_error("{\"content\":\"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\"}", 10)
            .code == "content_too_large");
  // Escapes count after decoding: "\u00e9" is 2 bytes of content.
  CHECK(request_draft(R"({"content":"\u00e9\u00e9\u00e9\u00e9\u00e9"})", 10).content.size() == 10);
}

TEST_CASE("validation: a bad user is invalid_user") {
  for (const std::string& body : std::vector<std::string>{
           R"({"content":"x","user":""})", R"({"content":"x","user":5})",
           R"({"content":"x","user":"a\u0001b"})", R"({"content":"x","user":"tab\there"})",
           "{\"content\":\"x\",\"user\":\"" + std::string(65, 'u') + "\"}"}) {
    CAPTURE(body);
    ApiError error = request_error(body);
    CHECK(error.status == 400);
    CHECK(error.code == "invalid_user");
  }
  CHECK(
      request_draft("{\"content\":\"x\",\"user\":\"" + std::string(64, 'u') + "\"}").user.size() ==
      64);
}

TEST_CASE("validation: a bad channel is invalid_channel") {
  for (const std::string& body : std::vector<std::string>{
           R"({"content":"x","channel":""})", R"({"content":"x","channel":7})",
           R"({"content":"x","channel":"two words"})", R"({"content":"x","channel":"a,b"})",
           "{\"content\":\"x\",\"channel\":\"" + std::string(65, 'c') + "\"}"}) {
    CAPTURE(body);
    ApiError error = request_error(body);
    CHECK(error.status == 400);
    CHECK(error.code == "invalid_channel");
  }
}

TEST_CASE("validation: a bad recipient is invalid_to") {
  for (const std::string& body :
       std::vector<std::string>{R"({"content":"x","to":""})", R"({"content":"x","to":["bob"]})",
                                R"({"content":"x","to":"b\u0000b"})",
                                "{\"content\":\"x\",\"to\":\"" + std::string(65, 't') + "\"}"}) {
    CAPTURE(body);
    ApiError error = request_error(body);
    CHECK(error.status == 400);
    CHECK(error.code == "invalid_to");
  }
}

TEST_CASE("validation: error_body renders the error and detail") {
  auto body = nlohmann::json::parse(error_body({415, "unsupported_media_type", "use JSON"}));
  CHECK(body == nlohmann::json{{"error", "unsupported_media_type"}, {"detail", "use JSON"}});
}

TEST_CASE("validation: parse_filter") {
  auto all = parse_filter("", "");
  REQUIRE(std::holds_alternative<MessageFilter>(all));
  CHECK(std::get<MessageFilter>(all).channels.empty());
  CHECK(std::get<MessageFilter>(all).user.empty());

  auto two = parse_filter("a,b.c", "alice");
  REQUIRE(std::holds_alternative<MessageFilter>(two));
  CHECK(std::get<MessageFilter>(two).channels == std::vector<std::string>{"a", "b.c"});
  CHECK(std::get<MessageFilter>(two).user == "alice");

  for (std::string_view csv : {"a,,b", "a,", ",a", ",", "two words", "a;b"}) {
    CAPTURE(csv);
    auto result = parse_filter(csv, "");
    REQUIRE(std::holds_alternative<ApiError>(result));
    CHECK(std::get<ApiError>(result).status == 400);
    CHECK(std::get<ApiError>(result).code == "invalid_channel");
  }
  for (std::string user : {std::string("a\x01"), std::string("\xFF"), std::string(65, 'x')}) {
    auto result = parse_filter("a", user);
    REQUIRE(std::holds_alternative<ApiError>(result));
    CHECK(std::get<ApiError>(result).code == "invalid_user");
  }
}

TEST_CASE("validation: parse_non_negative") {
  CHECK(parse_non_negative("0") == 0);
  CHECK(parse_non_negative("42") == 42);
  CHECK(parse_non_negative("007") == 7);
  CHECK(parse_non_negative("9223372036854775807") == INT64_MAX);
  CHECK_FALSE(parse_non_negative("9223372036854775808").has_value());
  CHECK_FALSE(parse_non_negative("12345678901234567890").has_value());
  CHECK_FALSE(parse_non_negative("").has_value());
  CHECK_FALSE(parse_non_negative("-1").has_value());
  CHECK_FALSE(parse_non_negative("+1").has_value());
  CHECK_FALSE(parse_non_negative(" 1").has_value());
  CHECK_FALSE(parse_non_negative("1 ").has_value());
  CHECK_FALSE(parse_non_negative("1.0").has_value());
  CHECK_FALSE(parse_non_negative("0x10").has_value());
  CHECK_FALSE(parse_non_negative("abc").has_value());
}

TEST_CASE("validation: idempotency keys") {
  CHECK(is_valid_idempotency_key("a"));
  CHECK(is_valid_idempotency_key("3f2b-9c1e_ABC:~!"));
  CHECK(is_valid_idempotency_key(std::string(200, 'k')));
  CHECK_FALSE(is_valid_idempotency_key(""));
  CHECK_FALSE(is_valid_idempotency_key(std::string(201, 'k')));
  CHECK_FALSE(is_valid_idempotency_key("with space"));
  CHECK_FALSE(is_valid_idempotency_key("tab\t"));
  CHECK_FALSE(is_valid_idempotency_key("del\x7F"));
  CHECK_FALSE(is_valid_idempotency_key("caf\xC3\xA9"));
}

TEST_SUITE_END();

}  // namespace relay
