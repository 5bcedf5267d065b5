#include "shared/json_writer.h"

#include <algorithm>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "shared/message.h"
#include "shared/validation.h"

namespace relay {

void append_json_string(std::string_view text, std::string* out) {
  if (!is_valid_utf8(text)) {
    out->append(dump_json(nlohmann::json(std::string(text))));
    return;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t plain = 0;  // start of the run of bytes copied as they are
  for (size_t i = 0; i < text.size(); ++i) {
    auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte != '"' && byte != '\\') continue;
    out->append(text.data() + plain, i - plain);
    plain = i + 1;
    switch (byte) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHex[byte >> 4]);
        out->push_back(kHex[byte & 0xF]);
    }
  }
  out->append(text.data() + plain, text.size() - plain);
  out->push_back('"');
}

void FlatJsonObject::add(std::string_view key, std::string_view value, bool raw) {
  if (count_ == kMaxFields) throw std::length_error("FlatJsonObject: too many fields");
  fields_[count_++] = Field{key, value, raw};
}

void FlatJsonObject::append_to(std::string* out) const {
  std::array<const Field*, kMaxFields> order{};
  for (size_t i = 0; i < count_; ++i) order[i] = &fields_[i];
  std::sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(count_),
            [](const Field* a, const Field* b) { return a->key < b->key; });
  out->push_back('{');
  for (size_t i = 0; i < count_; ++i) {
    if (i > 0) out->push_back(',');
    append_json_string(order[i]->key, out);
    out->push_back(':');
    if (order[i]->raw) {
      out->append(order[i]->value);
    } else {
      append_json_string(order[i]->value, out);
    }
  }
  out->push_back('}');
}

}  // namespace relay
