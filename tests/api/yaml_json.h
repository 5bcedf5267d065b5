#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace relay::testing {

/// Reads the YAML file at `path` (its first document) with libyaml into JSON: mappings become
/// objects (keys as their scalar text; a repeated key keeps its last value), sequences arrays,
/// and every scalar a string, as written (no type resolution: `8080`, `true` and `null` stay
/// text). Aliases are followed up to a nesting depth of 64. Returns nullopt and sets `*error`
/// (with the line and column libyaml reports) when the file cannot be read or parsed.
std::optional<nlohmann::json> read_yaml_file(const std::string& path, std::string* error);

}  // namespace relay::testing
