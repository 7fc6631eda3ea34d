// read_json_file (core/json.cc) builds ordered_json through a SAX handler with hashed large
// objects, so 128k-entry vocabularies load in a fraction of a second: it must give exactly
// what Json::parse gives (key order, duplicates: last value in the first position).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/json.h"

namespace qinfer {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(JsonLoad, SameAsJsonParse) {
  for (const char* rel :
       {"llama2-tokenizer/tokenizer.json", "llama3.1-tokenizer/tokenizer_config.json"}) {
    std::string path = std::string(QINFER_SHARED_DIR) + "/models/" + rel;
    EXPECT_EQ(read_json_file(path).dump(), Json::parse(slurp(path)).dump()) << path;
  }
}

TEST(JsonLoad, DuplicateKeysAndNesting) {
  std::string text = R"({"a": 1, "b": {"x": [1, 2.5, "s", null, true, {}]}, "a": 3, "c": {)";
  for (int i = 0; i < 40; ++i)
    text += "\"k" + std::to_string(i) + "\": " + std::to_string(i) + ", ";
  text += R"("k3": 33, "k7": [7]}, "z": []})";
  std::string path = ::testing::TempDir() + "/qinfer_json_load_test.json";
  std::ofstream(path) << text;
  EXPECT_EQ(read_json_file(path).dump(), Json::parse(text).dump());
  std::ofstream(path) << "{\"a\": [1, 2";
  EXPECT_THROW(read_json_file(path), Error);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace qinfer
