// The Llama forward pass, built only from ops (src/ops/*.h) so the same code runs on every
// device: activations are Tensors allocated with Tensor::empty on the model's device.
#include "model/llama.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <regex>

#include "core/env.h"
#include "core/error.h"
#include "ops/add.h"
#include "ops/attention.h"
#include "ops/embedding.h"
#include "ops/rms_norm.h"
#include "ops/rope.h"
#include "ops/silu_mul.h"
#include "model/llama_internal.h"
#include "quant/compressed_tensors.h"
#include "quant/linear_loader.h"

namespace qinfer::model {

namespace {

using detail::LayerWeights;

Tensor to_device(const Tensor& t, Device d) {
  if (!t.defined() || t.device() == d) return t;
  return t.to(d);
}

void to_device(ops::LinearWeight& w, Device d) {
  w.weight = to_device(w.weight, d);
  w.bias = to_device(w.bias, d);
  w.weight_scale = to_device(w.weight_scale, d);
}

// A (n) I32 tensor on `d` holding `v`.
Tensor i32_tensor(const std::vector<int32_t>& v, Device d) {
  Tensor t = Tensor::empty(DType::kI32, {int64_t(v.size())});
  if (!v.empty()) std::memcpy(t.data(), v.data(), v.size() * sizeof(int32_t));
  return to_device(t, d);
}

class Llama final : public LlamaModel {
 public:
  Llama(const io::Checkpoint& ck, const LoadOptions& opt);

  const io::ModelConfig& config() const override { return c_; }
  Device device() const override { return device_; }
  size_t weight_bytes() const override;
  KvCache allocate_kv_cache(int64_t n_block, int64_t block_size) const override;
  size_t kv_block_bytes(int64_t block_size) const override;
  Tensor forward(const Batch& batch, KvCache& kv) override { return run(batch, kv, nullptr); }
  Tensor forward_device(const Batch& batch, KvCache& kv) override;
  Tensor forward_into(const Batch& batch, KvCache& kv, Tensor& logits_buffer) override {
    return run(batch, kv, &logits_buffer);
  }
  void set_linear_observer(LinearObserver observer) override { observer_ = std::move(observer); }

 private:
  Tensor load_norm(const io::Checkpoint& ck, const std::string& name) const;
  void check_layer_names(const io::Checkpoint& ck) const;
  void linear(const ops::LinearWeight& w, const Tensor& x, Tensor& y) const;
  Tensor run(const Batch& batch, KvCache& kv, Tensor* logits_buffer);
  bool use_runner() const { return cuda_ != nullptr && !observer_; }
  DType kv_dtype() const;

  io::ModelConfig c_;
  Device device_;
  detail::LlamaWeights w_;
  std::optional<DType> kv_dtype_;
  std::unique_ptr<detail::CudaRunner> cuda_;  // the CUDA fast path (device cuda)
  LinearObserver observer_;
};

Tensor Llama::load_norm(const io::Checkpoint& ck, const std::string& name) const {
  return to_device(ck.tensors->get_checked(name, {c_.hidden_size}).to_f32(), device_);
}

// A tensor of layer n >= num_hidden_layers means config and weights disagree.
void Llama::check_layer_names(const io::Checkpoint& ck) const {
  static const std::regex re(R"(^model\.layers\.(\d+)\.)");
  for (const std::string& name : ck.tensors->names()) {
    std::smatch m;
    if (std::regex_search(name, m, re) && std::stoll(m[1].str()) >= c_.n_layer)
      QINFER_FAIL(ck.tensors->file_of(name), ": tensor '", name, "' belongs to layer ", m[1].str(),
                  " but config.json has num_hidden_layers = ", c_.n_layer);
  }
}

Llama::Llama(const io::Checkpoint& ck, const LoadOptions& opt)
    : c_(ck.config), device_(opt.device), kv_dtype_(opt.kv_cache_dtype) {
  const int64_t h = c_.hidden_size, hd = c_.head_dim, nh = c_.n_head, nkv = c_.n_head_kv;
  QINFER_CHECK(h > 0 && hd > 0 && nh > 0 && nkv > 0 && nh % nkv == 0 && hd % 2 == 0 &&
                   c_.n_layer > 0 && c_.vocab_size > 0 && c_.intermediate_size > 0,
               ck.path, ": config.json describes no valid Llama model (hidden ", h, ", head_dim ",
               hd, ", heads ", nh, "/", nkv, ", layers ", c_.n_layer, ")");
  check_layer_names(ck);
  w_.embed = ck.tensors->get_checked("model.embed_tokens.weight", {c_.vocab_size, h});
  QINFER_CHECK(w_.embed.dtype() == DType::kF32 || w_.embed.dtype() == DType::kF16 ||
                   w_.embed.dtype() == DType::kBF16,
               ck.tensors->file_of("model.embed_tokens.weight"),
               ": tensor 'model.embed_tokens.weight' has unsupported dtype ",
               dtype_name(w_.embed.dtype()));
  for (int64_t l = 0; l < c_.n_layer; ++l) {
    const std::string p = str_cat("model.layers.", l, ".");
    LayerWeights L;
    L.attn_norm = load_norm(ck, p + "input_layernorm.weight");
    L.qkv = quant::load_linear(
        ck, {p + "self_attn.q_proj", p + "self_attn.k_proj", p + "self_attn.v_proj"},
        {nh * hd, nkv * hd, nkv * hd}, h, p + "self_attn.qkv_proj", c_.attention_bias);
    L.o = quant::load_linear(ck, {p + "self_attn.o_proj"}, {h}, nh * hd, p + "self_attn.o_proj",
                             c_.attention_bias);
    L.mlp_norm = load_norm(ck, p + "post_attention_layernorm.weight");
    L.gate_up = quant::load_linear(ck, {p + "mlp.gate_proj", p + "mlp.up_proj"},
                                   {c_.intermediate_size, c_.intermediate_size}, h,
                                   p + "mlp.gate_up_proj", c_.mlp_bias);
    L.down = quant::load_linear(ck, {p + "mlp.down_proj"}, {h}, c_.intermediate_size,
                                p + "mlp.down_proj", c_.mlp_bias);
    for (ops::LinearWeight* w : {&L.qkv, &L.o, &L.gate_up, &L.down}) to_device(*w, device_);
    w_.layers.push_back(std::move(L));
  }
  w_.final_norm = load_norm(ck, "model.norm.weight");
  if (c_.tie_word_embeddings) {
    w_.lm_head.name = "lm_head (tied to model.embed_tokens)";
    w_.lm_head.n_out = c_.vocab_size;
    w_.lm_head.n_in = h;
    w_.lm_head.weight = w_.embed;
  } else {
    w_.lm_head = quant::load_linear(ck, {"lm_head"}, {c_.vocab_size}, h, "lm_head", false);
  }
  w_.embed = to_device(w_.embed, device_);
  to_device(w_.lm_head, device_);
  if (c_.tie_word_embeddings) w_.lm_head.weight = w_.embed;
  std::vector<float> inv = io::rope_inv_freq(c_);
  Tensor f = Tensor::empty(DType::kF32, {int64_t(inv.size())});
  std::memcpy(f.data(), inv.data(), inv.size() * sizeof(float));
  w_.inv_freq = to_device(f, device_);
  const quant::KvCacheScales kvs = quant::load_kv_cache_scales(ck);
  w_.k_scale = kvs.k_scale;
  w_.v_scale = kvs.v_scale;
  if (device_ == Device::kCuda && detail::cuda_runner_enabled())
    cuda_ = std::make_unique<detail::CudaRunner>(c_, w_);
  const DType kd = kv_dtype();
  QINFER_CHECK(kd == DType::kF32 || ((kd == DType::kBF16 || kd == DType::kF8E4M3) && cuda_),
               "KV-cache dtype ", dtype_name(kd), " is not supported on ", device_name(device_),
               (cuda_ || device_ != Device::kCuda ? "" : " with QINFER_CUDA_GENERIC=1"),
               " (the CPU path stores F32)");
}

DType Llama::kv_dtype() const {
  if (kv_dtype_) return *kv_dtype_;
  return cuda_ ? DType::kBF16 : DType::kF32;
}

Tensor Llama::forward_device(const Batch& batch, KvCache& kv) {
  if (!use_runner()) return run(batch, kv, nullptr);
  return cuda_->run(batch, kv);
}

size_t Llama::weight_bytes() const {
  size_t n = w_.lm_head.weight_bytes() + w_.final_norm.nbytes();
  for (const LayerWeights& L : w_.layers)
    n += L.qkv.weight_bytes() + L.o.weight_bytes() + L.gate_up.weight_bytes() +
         L.down.weight_bytes() + L.attn_norm.nbytes() + L.mlp_norm.nbytes();
  return n;
}

KvCache Llama::allocate_kv_cache(int64_t n_block, int64_t block_size) const {
  QINFER_CHECK(n_block > 0 && block_size > 0, "allocate_kv_cache: n_block ", n_block,
               " and block_size ", block_size, " must be positive");
  KvCache kv;
  kv.n_layer = c_.n_layer;
  kv.n_block = n_block;
  kv.block_size = block_size;
  kv.n_head_kv = c_.n_head_kv;
  kv.head_dim = c_.head_dim;
  const Shape s = {c_.n_layer, n_block, block_size, c_.n_head_kv, c_.head_dim};
  kv.k = Tensor::empty(kv_dtype(), s, device_);
  kv.v = Tensor::empty(kv_dtype(), s, device_);
  return kv;
}

size_t Llama::kv_block_bytes(int64_t block_size) const {
  return size_t(2 * c_.n_layer * block_size * c_.n_head_kv * c_.head_dim) *
         dtype_size(kv_dtype());
}

void Llama::linear(const ops::LinearWeight& w, const Tensor& x, Tensor& y) const {
  if (observer_) observer_(w, x);
  ops::linear(w, x, y);
}

// Device logits to the host: into *logits_buffer (grown when too small) when given.
Tensor copy_logits_to_host(const Tensor& logits, Tensor* logits_buffer) {
  if (!logits_buffer) return logits.to(Device::kCpu);
  const int64_t n_rows = logits.dim(0), vocab = logits.dim(1);
  Tensor& buf = *logits_buffer;
  if (!buf.defined() || buf.ndim() != 2 || buf.dim(1) != vocab || buf.dim(0) < n_rows ||
      buf.dtype() != DType::kF32 || buf.device() != Device::kCpu)
    buf = Tensor::empty(DType::kF32, {n_rows, vocab});
  Tensor out = buf.slice_rows(0, n_rows);
  if (n_rows > 0) copy_bytes(out.data(), Device::kCpu, logits.data(), logits.device(), logits.nbytes());
  return out;
}

Tensor Llama::run(const Batch& batch, KvCache& kv, Tensor* logits_buffer) {
  const int64_t h = c_.hidden_size, hd = c_.head_dim, nh = c_.n_head, nkv = c_.n_head_kv;
  const int64_t n_tok = int64_t(batch.tokens.size());
  QINFER_CHECK(kv.n_layer == c_.n_layer && kv.n_head_kv == nkv && kv.head_dim == hd,
               "forward: the KV cache was not allocated for this model");
  if (use_runner()) return copy_logits_to_host(cuda_->run(batch, kv), logits_buffer);
  // Per-token positions, per-sequence attention descriptors, and the rows that need logits.
  std::vector<int32_t> pos, rows;
  std::vector<ops::AttentionSeq> seqs;
  int64_t t = 0;
  for (size_t s = 0; s < batch.seqs.size(); ++s) {
    const SeqInput& q = batch.seqs[s];
    for (int64_t i = 0; i < q.n_new; ++i) pos.push_back(int32_t(q.n_past + i));
    for (int64_t i = 0; i < q.n_new; ++i)
      if (q.logits_all || (q.logits_last && i == q.n_new - 1)) rows.push_back(int32_t(t + i));
    seqs.push_back({.n_past = q.n_past,
                    .n_new = q.n_new,
                    .block_table = q.block_table.data(),
                    .n_block_table = int64_t(q.block_table.size())});
    t += q.n_new;
  }
  QINFER_CHECK(t == n_tok, "forward: the sequences declare ", t, " new tokens but the batch has ",
               n_tok);
  if (n_tok == 0) return Tensor::empty(DType::kF32, {0, c_.vocab_size});  // nothing to run
  std::vector<int32_t> tokens = batch.tokens;
  if (!batch.token_from.empty() && device_ != Device::kCpu) {
    // The generic CUDA path reads its inputs on the host: fetch the fed tokens (one copy).
    QINFER_CHECK(batch.token_from.size() == tokens.size() && batch.fed != nullptr,
                 "forward: token_from has ", batch.token_from.size(), " entries for ", n_tok,
                 " tokens");
    const int32_t n_fed =
        *std::max_element(batch.token_from.begin(), batch.token_from.end()) + 1;
    std::vector<int32_t> fed(size_t(std::max(n_fed, 0)));
    copy_bytes(fed.data(), Device::kCpu, batch.fed, device_, fed.size() * sizeof(int32_t));
    for (size_t i = 0; i < tokens.size(); ++i)
      if (batch.token_from[i] >= 0) tokens[i] = fed[size_t(batch.token_from[i])];
  } else {
    tokens = input_tokens(batch);
  }
  const Tensor ids = i32_tensor(tokens, device_);
  const Tensor positions = i32_tensor(pos, device_);
  const ops::AttentionDims dims{
      .n_head = nh, .n_head_kv = nkv, .head_dim = hd, .scale = 1.0f / std::sqrt(float(hd))};
  const DType f32 = DType::kF32;
  Tensor hid = Tensor::empty(f32, {n_tok, h}, device_);  // the residual stream
  Tensor x = Tensor::empty(f32, {n_tok, h}, device_);    // normed input of a block
  Tensor qkv = Tensor::empty(f32, {n_tok, (nh + 2 * nkv) * hd}, device_);
  Tensor attn = Tensor::empty(f32, {n_tok, nh * hd}, device_);
  Tensor proj = Tensor::empty(f32, {n_tok, h}, device_);  // o_proj / down_proj output
  Tensor gate_up = Tensor::empty(f32, {n_tok, 2 * c_.intermediate_size}, device_);
  Tensor act = Tensor::empty(f32, {n_tok, c_.intermediate_size}, device_);
  ops::embedding(w_.embed, ids, hid);
  // QINFER_CPU_RESID_BF16=1: the CPU's residual stream rounded to BF16 after the embedding and
  // each residual add, as the CUDA runner keeps it at large batches (llama_cuda.cc r16: the sum
  // in fp32, rounded once), so that its effect on a real model's perplexity can be measured
  // here against the F32 stream (docs/PERFORMANCE.md, session 38). Off by default.
  static const bool resid_bf16 = env_switch("QINFER_CPU_RESID_BF16", 0) == 1;
  const auto round_hid = [&] {
    if (!resid_bf16 || device_ != Device::kCpu) return;
    float* p = hid.data_as<float>();
    for (int64_t i = 0; i < hid.numel(); ++i) p[i] = bf16_to_f32(f32_to_bf16(p[i]));
  };
  round_hid();
  const Shape layer_kv = {kv.n_block, kv.block_size, nkv, hd};
  for (int64_t l = 0; l < c_.n_layer; ++l) {
    const LayerWeights& L = w_.layers[size_t(l)];
    ops::rms_norm(hid, L.attn_norm, c_.rms_norm_eps, x);
    linear(L.qkv, x, qkv);
    ops::rope(qkv, positions, w_.inv_freq, nh + nkv, hd);
    Tensor k_cache = kv.k.slice_rows(l, l + 1).reshape(layer_kv);
    Tensor v_cache = kv.v.slice_rows(l, l + 1).reshape(layer_kv);
    ops::attention(qkv, seqs, dims, k_cache, v_cache, attn);
    linear(L.o, attn, proj);
    ops::add(hid, proj);
    round_hid();
    ops::rms_norm(hid, L.mlp_norm, c_.rms_norm_eps, x);
    linear(L.gate_up, x, gate_up);
    ops::silu_mul(gate_up, act);
    linear(L.down, act, proj);
    ops::add(hid, proj);
    round_hid();
  }
  // Only the rows that need logits go through the final norm and lm_head.
  const int64_t n_rows = int64_t(rows.size());
  Tensor sel = Tensor::empty(f32, {n_rows, h}, device_);
  if (n_rows > 0) {
    ops::embedding(hid, i32_tensor(rows, device_), sel);
    ops::rms_norm(sel, w_.final_norm, c_.rms_norm_eps, sel);
  }
  if (!logits_buffer) {
    Tensor logits = Tensor::empty(f32, {n_rows, c_.vocab_size}, device_);
    if (n_rows > 0) linear(w_.lm_head, sel, logits);
    return to_device(logits, Device::kCpu);
  }
  Tensor& buf = *logits_buffer;
  if (!buf.defined() || buf.ndim() != 2 || buf.dim(1) != c_.vocab_size || buf.dim(0) < n_rows ||
      buf.dtype() != f32 || buf.device() != Device::kCpu)
    buf = Tensor::empty(f32, {n_rows, c_.vocab_size});
  Tensor out = buf.slice_rows(0, n_rows);
  if (n_rows == 0) return out;
  if (device_ == Device::kCpu) {
    linear(w_.lm_head, sel, out);
  } else {
    Tensor logits = Tensor::empty(f32, {n_rows, c_.vocab_size}, device_);
    linear(w_.lm_head, sel, logits);
    copy_bytes(out.data(), Device::kCpu, logits.data(), device_, logits.nbytes());
  }
  return out;
}

}  // namespace

std::vector<int32_t> input_tokens(const Batch& batch) {
  if (batch.token_from.empty()) return batch.tokens;
  QINFER_CHECK(batch.token_from.size() == batch.tokens.size() && batch.fed != nullptr,
               "forward: token_from has ", batch.token_from.size(), " entries for ",
               batch.tokens.size(), " tokens");
  std::vector<int32_t> out = batch.tokens;
  for (size_t i = 0; i < out.size(); ++i)
    if (batch.token_from[i] >= 0) out[i] = batch.fed[batch.token_from[i]];
  return out;
}

std::unique_ptr<LlamaModel> LlamaModel::load(const io::Checkpoint& ck, const LoadOptions& opt) {
  return std::make_unique<Llama>(ck, opt);
}

}  // namespace qinfer::model
