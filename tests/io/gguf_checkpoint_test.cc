// A tiny llama GGUF built byte by byte -> io::Checkpoint: config from llama.* metadata,
// Hugging Face tensor names, the Q/K row permutation of convert_hf_to_gguf.py undone, tied
// embeddings, the synthesized tokenizer files, and the llama3 rope_freqs detection.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/error.h"
#include "gguf_test_writer.h"
#include "io/checkpoint.h"
#include "io/default_model.h"
#include "io/gguf.h"

namespace qinfer::io {
namespace {

using testing::GgufWriter;

constexpr int64_t kHidden = 32, kHead = 4, kHeadKv = 2, kHeadDim = 8, kFfn = 64, kVocab = 6;

std::vector<float> iota(size_t n, float scale) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = scale * float(i);
  return v;
}

// convert_hf_to_gguf.py's LlamaModel.permute, restated: rows viewed as (n_head, 2, hd/2) are
// transposed to (n_head, hd/2, 2). `w` is (rows, cols) row-major.
std::vector<float> permute(const std::vector<float>& w, int64_t rows, int64_t cols,
                           int64_t n_head) {
  const int64_t hd = rows / n_head;
  std::vector<float> out(w.size());
  for (int64_t h = 0; h < n_head; ++h)
    for (int64_t a = 0; a < 2; ++a)
      for (int64_t i = 0; i < hd / 2; ++i)
        for (int64_t c = 0; c < cols; ++c)
          out[size_t(((h * hd / 2 + i) * 2 + a) * cols + c)] =
              w[size_t(((h * 2 + a) * hd / 2 + i) * cols + c)];
  return out;
}

GgufWriter tiny_llama(bool with_output, const std::vector<float>& rope_freqs = {}) {
  GgufWriter w;
  w.kv_str("general.architecture", "llama");
  w.kv_u32("llama.block_count", 1);
  w.kv_u32("llama.context_length", 256);
  w.kv_u32("llama.embedding_length", kHidden);
  w.kv_u32("llama.feed_forward_length", kFfn);
  w.kv_u32("llama.attention.head_count", kHead);
  w.kv_u32("llama.attention.head_count_kv", kHeadKv);
  w.kv_f32("llama.rope.freq_base", 500000.0f);
  w.kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.kv_u32("llama.rope.dimension_count", kHeadDim);
  w.kv_str("tokenizer.ggml.model", "gpt2");
  w.kv_str("tokenizer.ggml.pre", "smollm");
  w.kv_str_array("tokenizer.ggml.tokens", {"<|endoftext|>", "a", "b", "ab", "Ġ", "Ġab"});
  w.kv_i32_array("tokenizer.ggml.token_type", {3, 1, 1, 1, 1, 1});
  w.kv_str_array("tokenizer.ggml.merges", {"a b", "Ġ ab"});
  w.kv_u32("tokenizer.ggml.bos_token_id", 0);
  w.kv_u32("tokenizer.ggml.eos_token_id", 0);
  w.kv_bool("tokenizer.ggml.add_bos_token", false);
  w.kv_str("tokenizer.chat_template", "{{ messages[0]['content'] }}");
  w.tensor_f32("token_embd.weight", {kHidden, kVocab}, iota(kHidden * kVocab, 0.5f));
  w.tensor_f32("output_norm.weight", {kHidden}, iota(kHidden, 1.0f));
  if (with_output) w.tensor_f32("output.weight", {kHidden, kVocab}, iota(kHidden * kVocab, 2.0f));
  if (!rope_freqs.empty())
    w.tensor_f32("rope_freqs.weight", {int64_t(rope_freqs.size())}, rope_freqs);
  const std::vector<float> q = iota(kHidden * kHidden, 1.0f);
  const std::vector<float> k = iota(kHeadKv * kHeadDim * kHidden, -1.0f);
  w.tensor_f32("blk.0.attn_q.weight", {kHidden, kHidden}, permute(q, kHidden, kHidden, kHead));
  w.tensor_f32("blk.0.attn_k.weight", {kHidden, kHeadKv * kHeadDim},
               permute(k, kHeadKv * kHeadDim, kHidden, kHeadKv));
  w.tensor_f32("blk.0.attn_v.weight", {kHidden, kHeadKv * kHeadDim},
               iota(kHeadKv * kHeadDim * kHidden, 3.0f));
  w.tensor_f32("blk.0.attn_output.weight", {kHidden, kHidden}, iota(kHidden * kHidden, 4.0f));
  w.tensor_f32("blk.0.ffn_gate.weight", {kHidden, kFfn}, iota(kHidden * kFfn, 5.0f));
  w.tensor_f32("blk.0.ffn_up.weight", {kHidden, kFfn}, iota(kHidden * kFfn, 6.0f));
  w.tensor_f32("blk.0.ffn_down.weight", {kFfn, kHidden}, iota(kHidden * kFfn, 7.0f));
  w.tensor_f32("blk.0.attn_norm.weight", {kHidden}, iota(kHidden, 8.0f));
  w.tensor_f32("blk.0.ffn_norm.weight", {kHidden}, iota(kHidden, 9.0f));
  return w;
}

std::string write_temp(const GgufWriter& w, const std::string& name) {
  const std::string p = (std::filesystem::temp_directory_path() /
                         ("qinfer_ck_" + std::to_string(::getpid()) + name + ".gguf"))
                            .string();
  GgufWriter::write_file(p, w.bytes());
  return p;
}

TEST(GgufCheckpoint, ConfigNamesAndUnpermutedWeights) {
  const std::string p = write_temp(tiny_llama(false), "tied");
  Checkpoint ck = open_checkpoint(p);
  const ModelConfig& c = ck.config;
  EXPECT_EQ(c.hidden_size, kHidden);
  EXPECT_EQ(c.n_layer, 1);
  EXPECT_EQ(c.intermediate_size, kFfn);
  EXPECT_EQ(c.n_head, kHead);
  EXPECT_EQ(c.n_head_kv, kHeadKv);
  EXPECT_EQ(c.head_dim, kHeadDim);
  EXPECT_EQ(c.vocab_size, kVocab);
  EXPECT_EQ(c.max_position_embeddings, 256);
  EXPECT_EQ(c.rope_theta, 500000.0f);
  EXPECT_EQ(c.rms_norm_eps, 1e-5f);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::kNone);
  EXPECT_FALSE(ck.tensors->has("lm_head.weight"));
  EXPECT_EQ(ck.tensors->names().size(), 11u);

  Tensor q = ck.tensors->get_checked("model.layers.0.self_attn.q_proj.weight", {kHidden, kHidden});
  const std::vector<float> want_q = iota(kHidden * kHidden, 1.0f);
  for (size_t i = 0; i < want_q.size(); ++i)
    ASSERT_EQ(q.data_as<float>()[i], want_q[i]) << "q_proj element " << i;
  Tensor k = ck.tensors->get_checked("model.layers.0.self_attn.k_proj.weight",
                                     {kHeadKv * kHeadDim, kHidden});
  const std::vector<float> want_k = iota(kHeadKv * kHeadDim * kHidden, -1.0f);
  for (size_t i = 0; i < want_k.size(); ++i)
    ASSERT_EQ(k.data_as<float>()[i], want_k[i]) << "k_proj element " << i;
  Tensor down = ck.tensors->get_checked("model.layers.0.mlp.down_proj.weight", {kHidden, kFfn});
  EXPECT_EQ(down.data_as<float>()[3], 21.0f);
  ck.tensors->get_checked("model.layers.0.post_attention_layernorm.weight", {kHidden});
  ck.tensors->get_checked("model.embed_tokens.weight", {kVocab, kHidden});

  EXPECT_EQ(ck.generation.eos_token_ids, (std::vector<int64_t>{0}));
  const Json& tj = ck.tokenizer_json;
  EXPECT_EQ(tj["model"]["type"], "BPE");
  EXPECT_EQ(tj["model"]["vocab"]["Ġab"], 5);
  EXPECT_EQ(tj["model"]["merges"], Json({"a b", "Ġ ab"}));
  EXPECT_EQ(tj["pre_tokenizer"]["pretokenizers"][0]["type"], "Digits");
  EXPECT_EQ(tj["post_processor"]["type"], "ByteLevel");
  ASSERT_EQ(tj["added_tokens"].size(), 1u);
  EXPECT_EQ(tj["added_tokens"][0]["content"], "<|endoftext|>");
  EXPECT_EQ(ck.tokenizer_config["chat_template"], "{{ messages[0]['content'] }}");
  EXPECT_EQ(ck.tokenizer_config["eos_token"], "<|endoftext|>");
  EXPECT_EQ(ck.tokenizer_config["add_bos_token"], false);
  std::remove(p.c_str());
}

TEST(GgufCheckpoint, UntiedOutput) {
  const std::string p = write_temp(tiny_llama(true), "untied");
  Checkpoint ck = open_checkpoint(p);
  EXPECT_FALSE(ck.config.tie_word_embeddings);
  ck.tensors->get_checked("lm_head.weight", {kVocab, kHidden});
  std::remove(p.c_str());
}

// rope_freqs as convert_hf_to_gguf.py writes it for Llama 3.1 (factor 8, low 1, high 4,
// original context 8192): the divisor per frequency, by the published llama3 formula.
std::vector<float> llama3_divisors(float theta, float factor) {
  std::vector<float> r;
  const double low_wavelen = 8192.0 / 1.0, high_wavelen = 8192.0 / 4.0;
  for (int64_t i = 0; i < kHeadDim; i += 2) {
    const double freq = 1.0 / std::pow(double(theta), double(i) / double(kHeadDim));
    const double wavelen = 2 * M_PI / freq;
    if (wavelen < high_wavelen) {
      r.push_back(1.0f);
    } else if (wavelen > low_wavelen) {
      r.push_back(factor);
    } else {
      const double smooth = (8192.0 / wavelen - 1.0) / (4.0 - 1.0);
      r.push_back(float(1.0 / ((1 - smooth) / factor + smooth)));
    }
  }
  return r;
}

TEST(GgufCheckpoint, DetectsLlama3RopeScaling) {
  const std::string p = write_temp(tiny_llama(false, llama3_divisors(500000.0f, 8.0f)), "l3");
  Checkpoint ck = open_checkpoint(p);
  EXPECT_EQ(ck.config.rope_scaling.type, RopeScalingType::kLlama3);
  EXPECT_EQ(ck.config.rope_scaling.factor, 8.0f);
  EXPECT_FALSE(ck.tensors->has("rope_freqs.weight"));
  std::remove(p.c_str());
  std::vector<float> odd = llama3_divisors(500000.0f, 8.0f);
  odd[0] = 3.0f;
  const std::string q = write_temp(tiny_llama(false, odd), "l3bad");
  EXPECT_THROW(open_checkpoint(q), Error);
  std::remove(q.c_str());
}

TEST(GgufCheckpoint, RejectsOtherArchitecturesAndUnknownTensors) {
  GgufWriter w;
  w.kv_str("general.architecture", "gemma");
  const std::string p = write_temp(w, "gemma");
  EXPECT_THROW(open_checkpoint(p), Error);
  std::remove(p.c_str());
  EXPECT_THROW(gguf_to_hf_tensor_name("blk.0.ffn_gate_exps.weight", "f.gguf"), Error);
  EXPECT_EQ(gguf_to_hf_tensor_name("blk.12.attn_v.weight", "f.gguf"),
            "model.layers.12.self_attn.v_proj.weight");
}

// SentencePiece vocabulary: merges recovered from scores as transformers' generate_merges does
// (expected list computed by hand from its definition: ranked by the merged piece's score, ties
// by longer left piece, then vocab order), byte fallback, BOS by default.
TEST(GgufCheckpoint, SentencePieceTokenizerFromScores) {
  GgufWriter s;
  s.kv_str("general.architecture", "llama");
  s.kv_u32("llama.block_count", 1);
  s.kv_u32("llama.embedding_length", kHidden);
  s.kv_u32("llama.feed_forward_length", kFfn);
  s.kv_u32("llama.attention.head_count", kHead);
  s.kv_str("tokenizer.ggml.model", "llama");
  s.kv_str_array("tokenizer.ggml.tokens",
                 {"<unk>", "<s>", "</s>", "\u2581", "a", "b", "\u2581a", "ab", "\u2581ab"});
  s.kv_f32_array("tokenizer.ggml.scores", {0, 0, 0, -1, -2, -3, -4, -5, -6});
  s.kv_i32_array("tokenizer.ggml.token_type", {2, 3, 3, 1, 1, 1, 1, 1, 1});
  s.kv_u32("tokenizer.ggml.bos_token_id", 1);
  s.kv_u32("tokenizer.ggml.eos_token_id", 2);
  s.kv_u32("tokenizer.ggml.unknown_token_id", 0);
  s.tensor_f32("token_embd.weight", {kHidden, 9}, iota(kHidden * 9, 1.0f));
  const std::string p = write_temp(s, "spm");
  GgufFile f(p);
  Json tj, tc;
  gguf_tokenizer_to_hf(f, &tj, &tc);
  EXPECT_EQ(tj["model"]["merges"],
            Json({"\u2581 a", "a b", "\u2581a b", "\u2581 ab"}));
  EXPECT_EQ(tj["model"]["byte_fallback"], true);
  EXPECT_EQ(tj["model"]["unk_token"], "<unk>");
  EXPECT_EQ(tj["normalizer"]["normalizers"][0]["type"], "Prepend");
  EXPECT_EQ(tj["post_processor"]["single"][0]["SpecialToken"]["id"], "<s>");
  EXPECT_EQ(tj["added_tokens"].size(), 3u);
  EXPECT_EQ(tc["add_bos_token"], true);
  EXPECT_EQ(tc["tokenizer_class"], "LlamaTokenizer");
  std::remove(p.c_str());
}

// The real default model, when tools/fetch_default_model.sh has fetched it: its config must be
// SmolLM2-135M's (HuggingFaceTB/SmolLM2-135M-Instruct config.json).
TEST(GgufCheckpoint, DefaultModelIsSmolLM2) {
  std::string path;
  try {
    path = default_model_path();
  } catch (const Error& e) {
    GTEST_SKIP() << e.what();
  }
  Checkpoint ck = open_checkpoint(path);
  const ModelConfig& c = ck.config;
  EXPECT_EQ(c.hidden_size, 576);
  EXPECT_EQ(c.intermediate_size, 1536);
  EXPECT_EQ(c.n_layer, 30);
  EXPECT_EQ(c.n_head, 9);
  EXPECT_EQ(c.n_head_kv, 3);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.vocab_size, 49152);
  EXPECT_EQ(c.max_position_embeddings, 8192);
  EXPECT_EQ(c.rope_theta, 100000.0f);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(ck.tensors->names().size(), 272u);
  EXPECT_EQ(ck.tokenizer_config["eos_token"], "<|im_end|>");
  Tensor e = ck.tensors->get_checked("model.embed_tokens.weight", {49152, 576});
  EXPECT_EQ(e.dtype(), DType::kF32);
}

}  // namespace
}  // namespace qinfer::io
