// A llama-architecture GGUF as a Hugging Face-shaped io::Checkpoint: llama.cpp tensor names ->
// transformers names, `llama.*` metadata -> config.json fields, Q/K rows un-permuted, weights
// dequantized to F32 on get() (docs/FORMATS.md "GGUF").
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <regex>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/gguf.h"

namespace qinfer::io {

namespace {

// llama.cpp's convert_hf_to_gguf.py reorders the rows of q_proj/k_proj (weights and biases)
// from rotate_half (NeoX) order to interleaved-pair (GPT-J) order: per head, the rows viewed
// as (2, head_dim/2) are transposed to (head_dim/2, 2). Undoing it: HF row h*hd + j*hd/2 + i
// is GGUF row h*hd + 2*i + j.
Tensor unpermute_rows(const Tensor& t, int64_t n_head, const std::string& name,
                      const std::string& file) {
  const int64_t rows = t.dim(0);
  QINFER_CHECK(n_head > 0 && rows % (2 * n_head) == 0, file, ": tensor '", name, "' has ", rows,
               " rows, not a multiple of 2 * ", n_head, " heads");
  const int64_t hd = rows / n_head, half = hd / 2;
  const size_t row_bytes = t.nbytes() / size_t(rows);
  Tensor out = Tensor::empty(t.dtype(), t.shape());
  const auto* src = static_cast<const uint8_t*>(t.data());
  auto* dst = static_cast<uint8_t*>(out.data());
  for (int64_t h = 0; h < n_head; ++h)
    for (int64_t j = 0; j < 2; ++j)
      for (int64_t i = 0; i < half; ++i)
        std::memcpy(dst + size_t(h * hd + j * half + i) * row_bytes,
                    src + size_t(h * hd + 2 * i + j) * row_bytes, row_bytes);
  return out;
}

class GgufTensorSource : public TensorSource {
 public:
  GgufTensorSource(std::shared_ptr<GgufFile> file, const ModelConfig& c) : file_(std::move(file)) {
    for (const GgufTensorInfo& t : file_->tensors()) {
      const std::string hf = gguf_to_hf_tensor_name(t.name, file_->path());
      if (hf.empty()) continue;
      const GgmlTypeTraits* tr = ggml_type_traits(t.type);
      QINFER_CHECK(tr->readable, file_->path(), ": tensor '", t.name, "' has type ", tr->name,
                   ", which qinfer cannot dequantize (supported: F32, F16, BF16, Q4_0, Q4_1, "
                   "Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)");
      int64_t permute = 0;
      if (hf.find(".self_attn.q_proj.") != std::string::npos) permute = c.n_head;
      if (hf.find(".self_attn.k_proj.") != std::string::npos) permute = c.n_head_kv;
      QINFER_CHECK(entries_.emplace(hf, Entry{&t, permute}).second, file_->path(),
                   ": two tensors map to '", hf, "'");
    }
  }

  bool has(const std::string& name) const override { return entries_.count(name) != 0; }
  std::vector<std::string> names() const override {
    std::vector<std::string> r;
    for (const auto& [k, v] : entries_) r.push_back(k);
    return r;
  }
  std::string file_of(const std::string&) const override { return file_->path(); }

  // F32/F16/BF16 tensors that need no reordering are views into the mapping; everything else
  // is dequantized to F32, which holds every ggml block format's values exactly.
  Tensor get(const std::string& name) const override {
    auto it = entries_.find(name);
    QINFER_CHECK(it != entries_.end(), file_->path(), ": missing tensor '", name, "'");
    const GgufTensorInfo& t = *it->second.info;
    Tensor x;
    const auto type = GgmlType(t.type);
    if (type == GgmlType::kF32 || type == GgmlType::kF16 || type == GgmlType::kBF16) {
      const DType dt = type == GgmlType::kF32   ? DType::kF32
                       : type == GgmlType::kF16 ? DType::kF16
                                                : DType::kBF16;
      void* p = const_cast<uint8_t*>(file_->tensor_data(t));
      x = Tensor::view(p, dt, t.shape(), Device::kCpu, file_->mapping());
      // general.alignment may be smaller than the element size: never hand out a misaligned view.
      if (reinterpret_cast<uintptr_t>(p) % dtype_size(dt) != 0) {
        Tensor copy = Tensor::empty(dt, t.shape());
        std::memcpy(copy.data(), p, copy.nbytes());
        x = copy;
      }
    } else {
      x = file_->dequantize_f32(t);
    }
    if (it->second.permute_heads > 0)
      x = unpermute_rows(x, it->second.permute_heads, name, file_->path());
    return x;
  }

 private:
  struct Entry {
    const GgufTensorInfo* info;
    int64_t permute_heads;  // 0: stored as HF stores it
  };
  std::shared_ptr<GgufFile> file_;
  std::map<std::string, Entry> entries_;
};

// Llama 3.1+ GGUFs carry the llama3 rope scaling as a `rope_freqs` tensor of per-frequency
// divisors (convert_hf_to_gguf.py's generate_extra_tensors). The file does not keep the
// parameters, so we try the ones every Llama 3.x release uses (low 1, high 4, original context
// from metadata or 8192, factor = the largest divisor) and accept them only if they reproduce
// the tensor; anything else is an error rather than a silently wrong rope.
void detect_llama3_rope(const GgufFile& f, ModelConfig* c) {
  const GgufTensorInfo* t = f.find_tensor("rope_freqs.weight");
  if (!t) return;
  const Tensor freqs = f.dequantize_f32(*t);
  const int64_t n = freqs.numel();
  QINFER_CHECK(n == c->head_dim / 2, f.path(), ": rope_freqs.weight has ", n,
               " entries, expected head_dim / 2 = ", c->head_dim / 2);
  const float* div = freqs.data_as<float>();
  const float factor = *std::max_element(div, div + n);
  if (factor == 1.0f && *std::min_element(div, div + n) == 1.0f) return;
  ModelConfig base = *c;
  base.rope_scaling = RopeScaling{};
  ModelConfig cand = *c;
  cand.rope_scaling.type = RopeScalingType::kLlama3;
  cand.rope_scaling.factor = factor;
  cand.rope_scaling.low_freq_factor = 1.0f;
  cand.rope_scaling.high_freq_factor = 4.0f;
  cand.rope_scaling.original_max_position_embeddings =
      f.get_int("llama.rope.scaling.original_context_length").value_or(8192);
  const std::vector<float> inv0 = rope_inv_freq(base), inv1 = rope_inv_freq(cand);
  for (int64_t i = 0; i < n; ++i) {
    const float want = inv0[size_t(i)] / div[i];
    QINFER_CHECK(std::fabs(inv1[size_t(i)] - want) <= 1e-4f * std::fabs(want), f.path(),
                 ": rope_freqs.weight[", i, "] = ", div[i],
                 " does not match llama3 rope scaling (factor ", factor,
                 ", low_freq_factor 1, high_freq_factor 4, original context ",
                 cand.rope_scaling.original_max_position_embeddings, ")");
  }
  c->rope_scaling = cand.rope_scaling;
}

}  // namespace

std::string gguf_to_hf_tensor_name(const std::string& g, const std::string& file) {
  static const std::map<std::string, std::string> top = {
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"},
  };
  // llama.cpp's tensor names (gguf-py constants.py, MODEL_ARCH.LLAMA) for one block.
  static const std::map<std::string, std::string> block = {
      {"attn_norm", "input_layernorm"},      {"ffn_norm", "post_attention_layernorm"},
      {"attn_q", "self_attn.q_proj"},        {"attn_k", "self_attn.k_proj"},
      {"attn_v", "self_attn.v_proj"},        {"attn_output", "self_attn.o_proj"},
      {"ffn_gate", "mlp.gate_proj"},         {"ffn_up", "mlp.up_proj"},
      {"ffn_down", "mlp.down_proj"},
  };
  if (auto it = top.find(g); it != top.end()) return it->second;
  if (g == "rope_freqs.weight") return "";  // folded into config.rope_scaling
  static const std::regex re(R"(blk\.(\d{1,6})\.([a-z_]+)\.(weight|bias))");
  std::smatch m;
  if (std::regex_match(g, m, re)) {
    if (m[2] == "attn_rot_embd") return "";  // precomputed rotary table, recomputed by us
    if (auto it = block.find(m[2]); it != block.end())
      return str_cat("model.layers.", std::stoi(m[1]), ".", it->second, ".", m[3].str());
  }
  QINFER_FAIL(file, ": tensor '", g, "' has no Hugging Face Llama counterpart");
}

ModelConfig gguf_model_config(const GgufFile& f) {
  const std::string arch = f.get_string("general.architecture").value_or("");
  QINFER_CHECK(arch == "llama", f.path(), ": general.architecture is '", arch,
               "'; qinfer imports llama GGUF files only");
  auto req = [&](const std::string& key) {
    auto v = f.get_int("llama." + key);
    QINFER_CHECK(v.has_value(), f.path(), ": missing metadata 'llama.", key, "'");
    return *v;
  };
  ModelConfig c;
  c.hidden_size = req("embedding_length");
  c.n_layer = req("block_count");
  c.intermediate_size = req("feed_forward_length");
  c.n_head = req("attention.head_count");
  c.n_head_kv = f.get_int("llama.attention.head_count_kv").value_or(c.n_head);
  QINFER_CHECK(c.n_head > 0 && c.n_head_kv > 0, f.path(), ": head counts must be positive");
  c.head_dim = f.get_int("llama.attention.key_length").value_or(c.hidden_size / c.n_head);
  const int64_t v_len = f.get_int("llama.attention.value_length").value_or(c.head_dim);
  QINFER_CHECK(v_len == c.head_dim, f.path(), ": llama.attention.value_length ", v_len,
               " differs from key_length ", c.head_dim);
  const int64_t rope_dim = f.get_int("llama.rope.dimension_count").value_or(c.head_dim);
  QINFER_CHECK(rope_dim == c.head_dim, f.path(), ": llama.rope.dimension_count ", rope_dim,
               " differs from head_dim ", c.head_dim, " (partial rotary is not supported)");
  c.max_position_embeddings = f.get_int("llama.context_length").value_or(2048);
  c.rms_norm_eps = float(f.get_float("llama.attention.layer_norm_rms_epsilon").value_or(1e-5));
  c.rope_theta = float(f.get_float("llama.rope.freq_base").value_or(10000.0));
  const GgufTensorInfo* embd = f.find_tensor("token_embd.weight");
  QINFER_CHECK(embd && embd->ne.size() == 2, f.path(), ": missing 2-D tensor 'token_embd.weight'");
  c.vocab_size = embd->ne[1];
  if (auto v = f.get_int("llama.vocab_size"))
    QINFER_CHECK(*v == c.vocab_size, f.path(), ": llama.vocab_size ", *v,
                 " differs from token_embd.weight's ", c.vocab_size, " rows");
  c.tie_word_embeddings = f.find_tensor("output.weight") == nullptr;
  c.attention_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
  c.torch_dtype = "float32";
  if (auto t = f.get_string("llama.rope.scaling.type"); t && *t != "none") {
    QINFER_CHECK(*t == "linear", f.path(), ": llama.rope.scaling.type '", *t,
                 "' is not supported (none, linear, or llama3 via rope_freqs)");
    c.rope_scaling.type = RopeScalingType::kLinear;
    c.rope_scaling.factor = float(f.get_float("llama.rope.scaling.factor").value_or(1.0));
  }
  c.bos_token_id = f.get_int("tokenizer.ggml.bos_token_id");
  if (auto e = f.get_int("tokenizer.ggml.eos_token_id")) c.eos_token_ids = {*e};
  detect_llama3_rope(f, &c);
  // Same validation as a config.json (sizes, divisibility, rope parameters).
  return parse_model_config(model_config_to_json(c), f.path());
}

GenerationConfig gguf_generation_config(const GgufFile& f) {
  GenerationConfig g;
  g.bos_token_id = f.get_int("tokenizer.ggml.bos_token_id");
  // eos, then the end-of-turn / end-of-message tokens chat models stop on (Llama 3.x lists all
  // three in generation_config.json's eos_token_id).
  for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                          "tokenizer.ggml.eom_token_id"}) {
    if (auto id = f.get_int(key);
        id && std::find(g.eos_token_ids.begin(), g.eos_token_ids.end(), *id) ==
                  g.eos_token_ids.end())
      g.eos_token_ids.push_back(*id);
  }
  return g;
}

Checkpoint open_gguf_checkpoint(const std::string& path) {
  auto f = std::make_shared<GgufFile>(path);
  Checkpoint ck;
  ck.path = path;
  ck.config = gguf_model_config(*f);
  ck.generation = gguf_generation_config(*f);
  ck.tensors = std::make_shared<GgufTensorSource>(f, ck.config);
  gguf_tokenizer_to_hf(*f, &ck.tokenizer_json, &ck.tokenizer_config);
  if (!ck.tokenizer_config.is_null())
    ck.tokenizer_config["model_max_length"] = ck.config.max_position_embeddings;
  return ck;
}

}  // namespace qinfer::io
