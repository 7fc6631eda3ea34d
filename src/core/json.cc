#include "core/json.h"

#include <fstream>
#include <sstream>

#include "core/error.h"

namespace qinfer {

Json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  QINFER_CHECK(in.good(), path, ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return Json::parse(ss.str());
  } catch (const nlohmann::json::exception& e) {
    QINFER_FAIL(path, ": invalid JSON: ", e.what());
  }
}

void write_json_file(const std::string& path, const Json& j, int indent) {
  std::ofstream out(path, std::ios::binary);
  QINFER_CHECK(out.good(), path, ": cannot write");
  out << j.dump(indent) << "\n";
  QINFER_CHECK(out.good(), path, ": write failed");
}

}  // namespace qinfer
