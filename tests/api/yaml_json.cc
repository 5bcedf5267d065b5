#include "tests/api/yaml_json.h"

#include <yaml.h>

#include <cstdio>
#include <memory>

namespace relay::testing {

namespace {

constexpr int kMaxDepth = 64;

std::string node_text(const yaml_node_t& node) {
  return std::string(reinterpret_cast<const char*>(node.data.scalar.value),
                     node.data.scalar.length);
}

// The JSON of node `index` of `document`; false when nesting passes kMaxDepth (an alias loop).
bool to_json(yaml_document_t* document, int index, int depth, nlohmann::json* out) {
  if (depth > kMaxDepth) return false;
  yaml_node_t* node = yaml_document_get_node(document, index);
  if (node == nullptr) {
    *out = nullptr;
    return true;
  }
  switch (node->type) {
    case YAML_SCALAR_NODE:
      *out = node_text(*node);
      return true;
    case YAML_SEQUENCE_NODE: {
      *out = nlohmann::json::array();
      for (yaml_node_item_t* item = node->data.sequence.items.start;
           item < node->data.sequence.items.top; ++item) {
        nlohmann::json value;
        if (!to_json(document, *item, depth + 1, &value)) return false;
        out->push_back(std::move(value));
      }
      return true;
    }
    case YAML_MAPPING_NODE: {
      *out = nlohmann::json::object();
      for (yaml_node_pair_t* pair = node->data.mapping.pairs.start;
           pair < node->data.mapping.pairs.top; ++pair) {
        yaml_node_t* key = yaml_document_get_node(document, pair->key);
        if (key == nullptr || key->type != YAML_SCALAR_NODE) continue;  // not in our files
        nlohmann::json value;
        if (!to_json(document, pair->value, depth + 1, &value)) return false;
        (*out)[node_text(*key)] = std::move(value);
      }
      return true;
    }
    case YAML_NO_NODE:
      break;
  }
  *out = nullptr;
  return true;
}

}  // namespace

std::optional<nlohmann::json> read_yaml_file(const std::string& path, std::string* error) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) {
    *error = "cannot open " + path;
    return std::nullopt;
  }
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) {
    *error = "libyaml could not start";
    return std::nullopt;
  }
  yaml_parser_set_input_file(&parser, file.get());
  yaml_document_t document;
  bool loaded = yaml_parser_load(&parser, &document) != 0;
  if (!loaded) {
    *error = path + ":" + std::to_string(parser.problem_mark.line + 1) + ":" +
             std::to_string(parser.problem_mark.column + 1) + ": " +
             (parser.problem != nullptr ? parser.problem : "not YAML");
    yaml_parser_delete(&parser);
    return std::nullopt;
  }
  nlohmann::json out;
  bool converted = to_json(&document, 1, 0, &out);  // node 1 is the root (none: empty file)
  yaml_document_delete(&document);
  yaml_parser_delete(&parser);
  if (!converted) {
    *error = path + ": nested deeper than " + std::to_string(kMaxDepth) + " (an alias loop?)";
    return std::nullopt;
  }
  return out;
}

}  // namespace relay::testing
