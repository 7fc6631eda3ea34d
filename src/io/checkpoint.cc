#include "io/checkpoint.h"

#include <filesystem>

#include "core/error.h"
#include "io/safetensors.h"

namespace qinfer::io {

namespace fs = std::filesystem;

void load_tokenizer_files(const std::string& dir, Json* tokenizer_json, Json* tokenizer_config) {
  const fs::path tj = fs::path(dir) / "tokenizer.json";
  const fs::path tc = fs::path(dir) / "tokenizer_config.json";
  *tokenizer_json = fs::exists(tj) ? read_json_file(tj.string()) : Json();
  *tokenizer_config = fs::exists(tc) ? read_json_file(tc.string()) : Json();
}

Checkpoint open_checkpoint(const std::string& path) {
  QINFER_CHECK(fs::exists(path), path, ": no such file or directory");
  if (!fs::is_directory(path)) {
    QINFER_CHECK(fs::path(path).extension() == ".gguf", path,
                 ": not a checkpoint directory or a .gguf file");
    return open_gguf_checkpoint(path);
  }
  Checkpoint c;
  c.path = path;
  c.config = load_model_config(path);
  c.generation = load_generation_config(path);
  c.tensors = std::make_shared<SafetensorsCheckpoint>(path);
  load_tokenizer_files(path, &c.tokenizer_json, &c.tokenizer_config);
  return c;
}

}  // namespace qinfer::io
