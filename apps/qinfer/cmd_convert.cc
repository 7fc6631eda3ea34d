// `qinfer convert --input MODEL.gguf --output DIR`: a GGUF as a Hugging Face checkpoint that
// transformers loads (config.json, generation_config.json, model.safetensors, tokenizer.json,
// tokenizer_config.json). Weights are written in F32 by default: every ggml block format
// dequantizes exactly into F32, so the checkpoint computes what the GGUF does; --dtype bf16
// halves the size at the cost of rounding (docs/FORMATS.md "GGUF").
#include <cstdio>
#include <filesystem>

#include "cli.h"
#include "core/error.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"

namespace qinfer::cli {
namespace {

namespace fs = std::filesystem;

Tensor to_dtype(const Tensor& t, DType dt) {
  if (t.dtype() == dt) return t;
  Tensor f = t.to_f32();
  if (dt == DType::kF32) return f;
  Tensor out = Tensor::empty(dt, t.shape());
  const float* src = f.data_as<float>();
  uint16_t* dst = out.data_as<uint16_t>();
  for (int64_t i = 0; i < f.numel(); ++i)
    dst[i] = dt == DType::kBF16 ? f32_to_bf16(src[i]) : f32_to_f16(src[i]);
  return out;
}

Json generation_json(const io::GenerationConfig& g) {
  Json j = Json::object();
  if (g.bos_token_id) j["bos_token_id"] = *g.bos_token_id;
  if (g.eos_token_ids.size() == 1)
    j["eos_token_id"] = g.eos_token_ids[0];
  else if (!g.eos_token_ids.empty())
    j["eos_token_id"] = g.eos_token_ids;
  return j;
}

int run_convert(Args& args) {
  const std::string input = args.require("input");
  const std::string output = args.require("output");
  const std::string dtype = args.get_or("dtype", "f32");
  const int64_t shard_mb = args.get_int("max-shard-mb", 5000);
  args.finish();
  QINFER_CHECK(dtype == "f32" || dtype == "bf16" || dtype == "f16",
               "--dtype must be f32, bf16 or f16, not '", dtype, "'");
  QINFER_CHECK(fs::path(input).extension() == ".gguf", "--input ", input,
               " is not a .gguf file");
  const DType dt = dtype == "f32" ? DType::kF32 : dtype == "bf16" ? DType::kBF16 : DType::kF16;
  // Never mix with an earlier checkpoint: a stale index or shard would shadow the new weights.
  for (const char* f : {"model.safetensors", "model.safetensors.index.json", "config.json"})
    QINFER_CHECK(!fs::exists(fs::path(output) / f), output, " already holds ",
                 f, "; choose a new or empty directory");
  io::Checkpoint ck = io::open_checkpoint(input);
  fs::create_directories(output);

  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& name : ck.tensors->names())
    tensors.emplace_back(name, to_dtype(ck.tensors->get(name), dt));
  io::write_safetensors_sharded(output, tensors, size_t(shard_mb) << 20, {{"format", "pt"}});

  io::ModelConfig c = ck.config;
  c.torch_dtype = dt == DType::kF32 ? "float32" : dt == DType::kBF16 ? "bfloat16" : "float16";
  write_json_file((fs::path(output) / "config.json").string(), io::model_config_to_json(c));
  write_json_file((fs::path(output) / "generation_config.json").string(),
                  generation_json(ck.generation));
  if (!ck.tokenizer_json.is_null())
    write_json_file((fs::path(output) / "tokenizer.json").string(), ck.tokenizer_json);
  if (!ck.tokenizer_config.is_null())
    write_json_file((fs::path(output) / "tokenizer_config.json").string(), ck.tokenizer_config);
  std::printf("wrote %s: %zu tensors (%s), config.json, generation_config.json%s\n",
              output.c_str(), tensors.size(), dtype.c_str(),
              ck.tokenizer_json.is_null() ? "" : ", tokenizer.json, tokenizer_config.json");
  return 0;
}

Registrar reg({.name = "convert",
               .summary = "convert a GGUF file into a Hugging Face checkpoint directory",
               .usage = "qinfer convert --input MODEL.gguf --output DIR [--dtype f32|bf16|f16]\n"
                        "                [--max-shard-mb N]\n"
                        "  --dtype          weights' dtype (default f32: exact for every GGUF "
                        "type)\n"
                        "  --max-shard-mb   shard model.safetensors above this size (default "
                        "5000)",
               .flags = {},
               .run = run_convert});

}  // namespace
}  // namespace qinfer::cli
