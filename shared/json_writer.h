#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace relay {

/// Appends `text` as a JSON string, quoted and escaped exactly as nlohmann's dump() (through
/// dump_json) writes it: `"` and `\` escaped, \b \f \n \r \t, other C0 controls as \u00xx,
/// everything else as is; text that is not valid UTF-8 goes through dump_json, so it is
/// replaced the same way.
void append_json_string(std::string_view text, std::string* out);

/// One flat JSON object written straight to text, byte for byte what dump_json writes for the
/// same object (keys in byte order, no spaces), without building a DOM first: for the paths that
/// write one per message. Holds views: every key and value must outlive append_to(). At most
/// kMaxFields fields, each key once. Not thread-safe; a local value.
class FlatJsonObject {
 public:
  static constexpr size_t kMaxFields = 12;

  /// A string value.
  void add_string(std::string_view key, std::string_view value) { add(key, value, false); }
  /// A value that is JSON already (a number, `null`, `[]`).
  void add_raw(std::string_view key, std::string_view json) { add(key, json, true); }
  /// Writes the object.
  void append_to(std::string* out) const;

 private:
  struct Field {
    std::string_view key;
    std::string_view value;
    bool raw = false;
  };
  void add(std::string_view key, std::string_view value, bool raw);

  std::array<Field, kMaxFields> fields_;
  size_t count_ = 0;
};

}  // namespace relay
