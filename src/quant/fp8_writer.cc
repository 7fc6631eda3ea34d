// write_fp8_checkpoint: the streaming half of `qinfer quantize`. Tensors are planned first
// (names, dtypes, shapes of the output are known from the input), split into shards, and then
// produced one at a time from the mapped input: peak memory is one weight matrix.
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "quant/compressed_tensors.h"
#include "quant/fp8_quantizer.h"
#include "quant/safetensors_stream.h"

namespace qinfer::quant {

namespace fs = std::filesystem;

namespace {

Json sorted_json(const Json& j) {
  if (!j.is_object() && !j.is_array()) return j;
  if (j.is_array()) {
    Json a = Json::array();
    for (const Json& e : j) a.push_back(sorted_json(e));
    return a;
  }
  std::vector<std::string> keys;
  for (const auto& kv : j.items()) keys.push_back(kv.key());
  std::sort(keys.begin(), keys.end());
  Json o = Json::object();
  for (const auto& k : keys) o[k] = sorted_json(j.at(k));
  return o;
}

struct Plan {
  std::vector<PlannedTensor> tensors;
  std::map<std::string, std::string> quantized;  // "<module>.weight" -> module
};

Plan make_plan(const QuantizeJob& job, const CtConfig& ct) {
  Plan p;
  const io::TensorSource& src = *job.in->tensors;
  const bool stat = job.scheme.act == ops::ActQuant::kStaticPerTensor;
  for (const std::string& name : src.names()) {
    Tensor t = src.get(name);
    std::string module;
    if (!is_linear_weight(name, &module) || match_group(ct, module) == nullptr) {
      QINFER_CHECK(t.dtype() != DType::kF8E4M3, src.file_of(name), ": tensor '", name,
                   "' is already FP8; quantize a BF16/F16/F32 checkpoint");
      p.tensors.push_back({name, t.dtype(), t.shape()});
      continue;
    }
    QINFER_CHECK(t.ndim() == 2, src.file_of(name), ": Linear weight '", name, "' has shape ",
                 shape_str(t.shape()));
    p.quantized[name] = module;
    p.tensors.push_back({name, DType::kF8E4M3, t.shape()});
    p.tensors.push_back({module + ".weight_scale", t.dtype(),
                         job.scheme.weight_per_channel ? Shape{t.dim(0), 1} : Shape{1}});
    if (stat) {
      QINFER_CHECK(job.input_absmax.count(module), "calibration: no activations reached '", module,
                   "' (static schemes need calibration data for every Linear)");
      p.tensors.push_back({module + ".input_scale", t.dtype(), {1}});
    }
  }
  return p;
}

// The output tensor for planned entry `p`; quantizes on the weight and keeps the scale for the
// entries that follow it.
Tensor produce(const QuantizeJob& job, const Plan& plan, const PlannedTensor& p,
               QuantizedWeight& pending) {
  const io::TensorSource& src = *job.in->tensors;
  auto q = plan.quantized.find(p.name);
  if (q != plan.quantized.end()) {
    pending = quantize_weight_fp8(src.get(p.name), job.scheme.weight_per_channel);
    Tensor w = pending.q;
    pending.q = Tensor();
    return w;
  }
  const std::string suffix_ws = ".weight_scale", suffix_is = ".input_scale";
  auto ends = [&](const std::string& s) {
    return p.name.size() > s.size() && p.name.compare(p.name.size() - s.size(), s.size(), s) == 0;
  };
  if (ends(suffix_ws) && plan.quantized.count(p.name.substr(0, p.name.size() - 13) + ".weight"))
    return pending.scale;
  if (ends(suffix_is) && plan.quantized.count(p.name.substr(0, p.name.size() - 12) + ".weight")) {
    const std::string module = p.name.substr(0, p.name.size() - 12);
    Tensor s = Tensor::empty(p.dtype, {1});
    const float v = input_scale_from_absmax(job.input_absmax.at(module), p.dtype);
    if (p.dtype == DType::kF32)
      s.data_as<float>()[0] = v;
    else if (p.dtype == DType::kBF16)
      s.data_as<uint16_t>()[0] = f32_to_bf16(v);
    else
      s.data_as<uint16_t>()[0] = f32_to_f16(v);
    return s;
  }
  return src.get(p.name);
}

void copy_side_files(const std::string& in, const std::string& out) {
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "generation_config.json",
                        "special_tokens_map.json", "tokenizer.model", "chat_template.jinja"}) {
    const fs::path s = fs::path(in) / f;
    if (fs::exists(s)) fs::copy_file(s, fs::path(out) / f, fs::copy_options::overwrite_existing);
  }
}

}  // namespace

QuantizeStats write_fp8_checkpoint(const QuantizeJob& job) {
  QINFER_CHECK(job.in && fs::is_directory(job.in->path), "quantize: the input must be a ",
               "checkpoint directory (config.json + safetensors)");
  QINFER_CHECK(job.in->config.quantization_config.is_null(), job.in->path,
               ": the checkpoint is already quantized (config.json has quantization_config)");
  fs::create_directories(job.out_dir);
  const Json qc = fp8_quantization_config(job.scheme, job.ignore);
  const CtConfig ct = parse_ct_config(qc, "generated quantization_config");
  const Plan plan = make_plan(job, ct);
  const auto shards = plan_shards(plan.tensors, job.max_shard_bytes);
  QuantizeStats st;
  st.n_shards = shards.size();
  st.n_quantized = plan.quantized.size();
  Json weight_map = Json::object();
  size_t done = 0, total_bytes = 0;
  QuantizedWeight pending;
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string file = shard_file_name(i, shards.size());
    SafetensorsStreamWriter w((fs::path(job.out_dir) / file).string(), shards[i],
                              {{"format", "pt"}});
    for (const PlannedTensor& p : shards[i]) {
      if (job.progress) job.progress(done, plan.tensors.size(), p.name);
      Tensor t = produce(job, plan, p, pending);
      w.write(p.name, t);
      weight_map[p.name] = file;
      total_bytes += p.nbytes();
      ++done;
    }
    w.finish();
  }
  if (job.progress) job.progress(done, plan.tensors.size(), "");
  if (shards.size() > 1) {
    Json index = {{"metadata", {{"total_size", total_bytes}}}, {"weight_map", weight_map}};
    write_json_file((fs::path(job.out_dir) / "model.safetensors.index.json").string(), index);
  }
  for (const std::string& n : job.in->tensors->names())
    st.bytes_in += job.in->tensors->get(n).nbytes();
  st.bytes_out = total_bytes;
  // config.json: the input's, plus quantization_config; keys sorted as update_config dumps it.
  Json cfg = read_json_file((fs::path(job.in->path) / "config.json").string());
  cfg["quantization_config"] = qc;
  write_json_file((fs::path(job.out_dir) / "config.json").string(), sorted_json(cfg), 2);
  std::ofstream(fs::path(job.out_dir) / "recipe.yaml") << fp8_recipe_yaml(job.scheme, job.ignore);
  copy_side_files(job.in->path, job.out_dir);
  return st;
}

}  // namespace qinfer::quant
