// A model checkpoint, whatever its on-disk form: a Hugging Face directory (config.json,
// safetensors, tokenizer files) or a single GGUF file. Everything above io/ sees only this.
#pragma once

#include <memory>
#include <string>

#include "core/json.h"
#include "io/model_config.h"
#include "io/tensor_source.h"

namespace qinfer::io {

struct Checkpoint {
  std::string path;  // the directory or the .gguf file
  ModelConfig config;
  GenerationConfig generation;
  std::shared_ptr<TensorSource> tensors;
  // tokenizer.json and tokenizer_config.json contents (null when the checkpoint has none).
  // For GGUF they are synthesized from the embedded tokenizer metadata.
  Json tokenizer_json;
  Json tokenizer_config;
};

// Opens a directory or a .gguf file. Throws an Error that names the file on any problem.
Checkpoint open_checkpoint(const std::string& path);

// Loads tokenizer.json / tokenizer_config.json from a directory (either may be absent).
void load_tokenizer_files(const std::string& dir, Json* tokenizer_json, Json* tokenizer_config);

// GGUF import (io/gguf*.cc).
Checkpoint open_gguf_checkpoint(const std::string& path);

}  // namespace qinfer::io
