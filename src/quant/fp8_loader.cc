// load_quantized: one (possibly fused) FP8 linear layer from a compressed-tensors checkpoint,
// with vLLM's rules for merging the members' parameters (docs/FORMATS.md, "Fusing").
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/dtype.h"
#include "core/error.h"
#include "quant/compressed_tensors.h"

namespace qinfer::quant {

namespace {

struct Member {
  std::string module;
  int64_t n_out;
  Tensor weight;               // (n_out, n_in) F8_E4M3, a view into the checkpoint
  std::vector<float> w_scale;  // 1 or n_out
  float input_scale = 0.0f;    // static activations
};

Member read_member(const io::Checkpoint& ck, const CtGroup& g, const std::string& module,
                   int64_t n_out, int64_t n_in) {
  Member m{module, n_out, Tensor(), {}, 0.0f};
  const std::string wn = module + ".weight";
  QINFER_CHECK(ck.tensors->has(wn), ck.path, ": tensor '", wn, "' is missing (quantization_config ",
               g.name, " targets it)");
  m.weight = ck.tensors->get_checked(wn, {n_out, n_in});
  QINFER_CHECK(m.weight.dtype() == DType::kF8E4M3, ck.tensors->file_of(wn), ": tensor '", wn,
               "' has dtype ", dtype_name(m.weight.dtype()), "; quantization_config ", g.name,
               " declares it FP8 (F8_E4M3)");
  const bool per_channel = g.weights->strategy == CtStrategy::kChannel;
  m.w_scale = read_scales(*ck.tensors, module + ".weight_scale", per_channel ? n_out : 1);
  if (g.input_activations && !g.input_activations->dynamic)
    m.input_scale = read_scales(*ck.tensors, module + ".input_scale", 1)[0];
  return m;
}

ops::ActQuant act_quant_of(const CtGroup& g) {
  if (!g.input_activations) return ops::ActQuant::kNone;
  return g.input_activations->dynamic ? ops::ActQuant::kDynamicPerToken
                                      : ops::ActQuant::kStaticPerTensor;
}

Tensor f32_tensor(const std::vector<float>& v) {
  Tensor t = Tensor::empty(DType::kF32, {int64_t(v.size())});
  std::memcpy(t.data(), v.data(), v.size() * sizeof(float));
  return t;
}

}  // namespace

ops::LinearWeight load_quantized(const io::Checkpoint& ck, const std::vector<std::string>& modules,
                                 const std::vector<int64_t>& n_out, int64_t n_in,
                                 const std::string& fused_name) {
  const CtConfig c = parse_ct_config(ck.config.quantization_config, ck.path + "/config.json");
  const CtGroup* g = match_group(c, modules[0]);
  QINFER_CHECK(g != nullptr, fused_name, ": module '", modules[0], "' is not quantized");
  std::vector<Member> members;
  for (size_t i = 0; i < modules.size(); ++i) {
    const CtGroup* gi = match_group(c, modules[i]);
    QINFER_CHECK(gi == g, fused_name, ": modules '", modules[0], "' and '", modules[i],
                 "' are fused but quantized differently (", g->name, " vs ",
                 gi ? gi->name : std::string("not quantized"), ")");
    members.push_back(read_member(ck, *g, modules[i], n_out[i], n_in));
  }
  ops::LinearWeight w;
  w.name = fused_name;
  w.n_in = n_in;
  for (const Member& m : members) w.n_out += m.n_out;
  w.act_quant = act_quant_of(*g);
  if (w.act_quant == ops::ActQuant::kStaticPerTensor) {
    // vLLM: layer.input_scale = input_scale.max() over the fused shards.
    for (const Member& m : members) w.input_scale = std::max(w.input_scale, m.input_scale);
  }
  const bool per_tensor = g->weights->strategy == CtStrategy::kTensor;
  const bool requantize = per_tensor && w.act_quant != ops::ActQuant::kNone;
  if (members.size() == 1 && !requantize) {
    w.weight = members[0].weight;  // zero-copy view of the mapped file
    w.weight_scale = f32_tensor(members[0].w_scale);
    return w;
  }
  w.weight = Tensor::empty(DType::kF8E4M3, {w.n_out, n_in});
  uint8_t* dst = w.weight.data_as<uint8_t>();
  std::vector<float> scales;
  float s_max = 0.0f;
  for (const Member& m : members) s_max = std::max(s_max, m.w_scale[0]);
  for (const Member& m : members) {
    const int64_t n = m.n_out * n_in;
    if (requantize) {
      // requantize_with_max_scale: every shard onto the largest scale.
      requantize_shard(m.weight.data_as<uint8_t>(), n, m.w_scale[0], s_max, dst);
    } else {
      std::memcpy(dst, m.weight.data(), size_t(n));
      // Per-channel: concatenated. Per-tensor weight-only: convert_to_channelwise.
      if (per_tensor)
        scales.insert(scales.end(), size_t(m.n_out), m.w_scale[0]);
      else
        scales.insert(scales.end(), m.w_scale.begin(), m.w_scale.end());
    }
    dst += n;
  }
  w.weight_scale = requantize ? f32_tensor({s_max}) : f32_tensor(scales);
  return w;
}

}  // namespace qinfer::quant
