// FP8 quantizer: writes a compressed-tensors checkpoint (config, safetensors, recipe) that
// llm-compressor would write for the same scheme and vLLM / transformers read
// (docs/FORMATS.md, "qinfer quantize"). Calibration (running the model) lives in the app;
// this layer takes its result, the per-module activation absmax.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/json.h"
#include "io/checkpoint.h"
#include "ops/linear.h"

namespace qinfer::quant {

// Our scheme names (docs/FORMATS.md):
//   fp8             weights per output channel, activations static per tensor (calibrated)
//   fp8-dynamic     llm-compressor FP8_DYNAMIC: weights per channel, activations dynamic per token
//   fp8-per-tensor  llm-compressor FP8: weights per tensor, activations static per tensor
// "FP8" and "FP8_DYNAMIC" are accepted as llm-compressor's preset names.
struct Fp8Scheme {
  std::string name;  // canonical: fp8 | fp8-dynamic | fp8-per-tensor
  bool weight_per_channel;
  ops::ActQuant act;   // kStaticPerTensor or kDynamicPerToken
  const char* preset;  // llm-compressor preset it equals, or nullptr
};
Fp8Scheme parse_fp8_scheme(const std::string& name);

// llm-compressor's weight quantization (compressed_tensors calculate_qparams + _quantize), in
// the weight's dtype D (BF16/F16/F32): s = D(absmax / 448), 0 -> eps(D);
// q = fp8(clamp(D(w / s), -448, 448)). Scale shape [1] (per tensor) or [n_out, 1], dtype D.
struct QuantizedWeight {
  Tensor q;      // (n_out, n_in) F8_E4M3
  Tensor scale;  // [1] or [n_out, 1], the weight's dtype
};
QuantizedWeight quantize_weight_fp8(const Tensor& w, bool per_channel);
// The activation scale llm-compressor stores for a static input: D(D(absmax) / 448), 0 -> eps.
float input_scale_from_absmax(float absmax, DType d);

// True for the Llama layout's Linear weights ("*.{q,k,v,o,gate,up,down}_proj.weight",
// "lm_head.weight"); `module` receives the name without ".weight".
bool is_linear_weight(const std::string& tensor, std::string* module);

// config.json "quantization_config" exactly as compressed-tensors' ModelCompressor.update_config
// writes it (keys sorted), and llm-compressor's recipe.yaml for the same scheme.
Json fp8_quantization_config(const Fp8Scheme& s, const std::vector<std::string>& ignore);
std::string fp8_recipe_yaml(const Fp8Scheme& s, const std::vector<std::string>& ignore);

struct QuantizeJob {
  const io::Checkpoint* in = nullptr;  // a directory checkpoint with dense weights
  std::string out_dir;
  Fp8Scheme scheme;
  std::vector<std::string> ignore = {"lm_head"};
  std::map<std::string, float> input_absmax;  // module -> calibration absmax (static schemes)
  size_t max_shard_bytes = size_t(5) << 30;
  // (tensors done, tensors total, current tensor)
  std::function<void(size_t, size_t, const std::string&)> progress;
};

struct QuantizeStats {
  size_t n_quantized = 0;  // Linear layers written as FP8
  size_t bytes_in = 0, bytes_out = 0;
  size_t n_shards = 0;
};

// Streams every tensor from the mapped input to the output shards (one tensor in memory at a
// time), writes config.json, recipe.yaml, and copies tokenizer / generation files.
QuantizeStats write_fp8_checkpoint(const QuantizeJob& job);

}  // namespace qinfer::quant
