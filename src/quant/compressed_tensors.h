// compressed-tensors checkpoints (the format llm-compressor writes and vLLM reads), FP8 only:
// config.json "quantization_config" (or "compression_config") with quant_method
// "compressed-tensors" and format "float-quantized". docs/FORMATS.md describes the layout and
// the rules below.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "io/checkpoint.h"
#include "ops/linear.h"

namespace qinfer::quant {

enum class CtStrategy { kTensor, kChannel, kToken };

// One QuantizationArgs dict: only 8-bit symmetric float is accepted.
struct CtArgs {
  CtStrategy strategy = CtStrategy::kTensor;
  bool dynamic = false;
};

struct CtGroup {
  std::string name;                  // "group_0"
  std::vector<std::string> targets;  // "Linear", a module name, or "re:<regex>"
  std::optional<CtArgs> weights;
  std::optional<CtArgs> input_activations;
};

struct CtConfig {
  std::vector<CtGroup> groups;
  std::vector<std::string> ignore;  // module names or "re:<regex>"
  std::optional<CtArgs> kv_cache;   // kv_cache_scheme (per-tensor static fp8)
};

// Parses and validates; anything we do not implement is an Error naming the field.
CtConfig parse_ct_config(const Json& qc, const std::string& source = "config.json");

// The group whose targets match `module` (all our projections are class "Linear"), or null
// when the module is ignored or matched by no group. Matching as compressed-tensors does
// (utils/match.py): an exact name, "re:" + a regex matched against the whole name, or the
// class name; `ignore` wins over every target.
const CtGroup* match_group(const CtConfig& c, const std::string& module,
                           const std::string& class_name = "Linear");

// True when the checkpoint declares `module` quantized. Throws for configs we cannot read.
bool is_quantized_module(const io::Checkpoint& ck, const std::string& module);

// Builds one (possibly fused) FP8 linear layer the way vLLM's CompressedTensorsW8A8Fp8 /
// W8A16Fp8 do in process_weights_after_loading (docs/FORMATS.md, "Fusing"):
//   static input scales    merged by max
//   per-tensor weights     with activation quantization: every shard re-quantized to the
//                          max scale (requantize_with_max_scale); weight-only: expanded to
//                          per-channel (convert_to_channelwise)
//   per-channel weights    scales concatenated
ops::LinearWeight load_quantized(const io::Checkpoint& ck, const std::vector<std::string>& modules,
                                 const std::vector<int64_t>& n_out, int64_t n_in,
                                 const std::string& fused_name);

// vLLM's requantize_with_max_scale for one shard: w' = fp8(clamp(f16(fp8(w) * s) * (1/s_max))).
// (per_tensor_dequantize goes through float16; scaled_fp8_quant multiplies by 1/s_max.)
void requantize_shard(const uint8_t* w, int64_t n, float s, float s_max, uint8_t* out);

// FP8 KV cache scales (kv_cache_scheme): per layer, from "model.layers.N.self_attn.k_scale" /
// "v_scale" (scalars; 1.0 when a layer has none, as vLLM defaults them).
struct KvCacheScales {
  bool fp8 = false;            // kv_cache_scheme present
  std::vector<float> k_scale;  // (n_layer)
  std::vector<float> v_scale;  // (n_layer)
};
KvCacheScales load_kv_cache_scales(const io::Checkpoint& ck);

// A scale tensor ([], [1] or (n) / (n, 1); BF16/F16/F32) as floats, each finite and > 0.
std::vector<float> read_scales(const io::TensorSource& src, const std::string& name,
                               int64_t expected);

}  // namespace qinfer::quant
