// JSON: nlohmann::ordered_json everywhere, so objects keep their key order (chat templates'
// tojson must not sort keys; written configs read like the ones llm-compressor writes).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace qinfer {

using Json = nlohmann::ordered_json;

// Parses a whole file; errors name the file and the parser's position.
Json read_json_file(const std::string& path);
void write_json_file(const std::string& path, const Json& j, int indent = 2);

}  // namespace qinfer
