// The Llama forward pass against Hugging Face transformers (tools/make_golden.py): per-position
// logits of two prompts, 8 greedy tokens, and the same logits when the prompts are batched
// together, prefilled in chunks, or decoded one token at a time. Each case runs at every CPU
// kernel level this machine has.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

#include "core/cpu_features.h"
#include "core/error.h"
#include "engine/engine.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "model/llama.h"
#include "ops/cpu/isa.h"
#include "ops/cuda/cuda_ops.h"

namespace qinfer {
namespace {

// The reference runs in fp32 on the stored weights upcast, exactly what the CPU path computes,
// so every dtype gets a tolerance far tighter than the brief's 1e-3 (fp32) / 1e-2 (bf16/fp16):
// the observed max |diff| is ~5e-6 against a logit scale of ~5.
struct Case {
  std::string name;
  float rel_tol;  // of the reference logits' max |value|
};

// gtest prints parameters with PrintTo (ctest shows it): the case name, not its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

const Case kCases[] = {{"tied_mha_f32", 1e-4f},
                       {"gqa2_llama3_bf16", 1e-4f},
                       {"gqa4_hd32_bias_linear_f16", 1e-4f},
                       {"gqa8_bf16", 1e-4f}};

// The checkout and ../shared, as built, or where $QINFER_SOURCE_DIR / $QINFER_SHARED_DIR say
// (the binaries run from another directory on the GPU machine: tools/gpu_run_all.sh step e).
std::string dir_from_env(const char* var, const char* built) {
  const char* e = std::getenv(var);
  return e != nullptr && *e != 0 ? e : built;
}

std::string case_dir(const std::string& name) {
  return dir_from_env("QINFER_SOURCE_DIR", QINFER_SOURCE_DIR) + "/tests/golden/data/" + name;
}

std::vector<int32_t> ids_of(const Tensor& t) {
  Tensor f = t.to_f32();
  std::vector<int32_t> r;
  for (int64_t i = 0; i < f.numel(); ++i) r.push_back(int32_t(f.data_as<float>()[i]));
  return r;
}

// ours (n, V) against rows [row0, row0 + n) of ref; reports the worst element.
::testing::AssertionResult logits_match(const Tensor& ours, const Tensor& ref, int64_t row0,
                                        float tol, const std::string& what) {
  const int64_t V = ref.dim(1);
  if (ours.ndim() != 2 || ours.dim(1) != V || row0 + ours.dim(0) > ref.dim(0))
    return ::testing::AssertionFailure()
           << what << ": logits have shape " << shape_str(ours.shape());
  float worst = -1.0f;
  int64_t wr = 0, wv = 0;
  for (int64_t r = 0; r < ours.dim(0); ++r)
    for (int64_t v = 0; v < V; ++v) {
      const float d =
          std::fabs(ours.data_as<float>()[r * V + v] - ref.data_as<float>()[(row0 + r) * V + v]);
      if (!(d <= worst)) worst = d, wr = r, wv = v;  // NaN counts as worst
    }
  if (worst <= tol) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << what << ": position " << row0 + wr << ", token " << wv << ": ours "
         << ours.data_as<float>()[wr * V + wv] << ", transformers "
         << ref.data_as<float>()[(row0 + wr) * V + wv] << " (|diff| " << worst << " > tol " << tol
         << ")";
}

class LlamaGolden : public ::testing::TestWithParam<std::tuple<Case, CpuIsa>> {
 protected:
  void SetUp() override {
    const auto& [c, isa] = GetParam();
    if (int(isa) > int(cpu_isa())) GTEST_SKIP() << "CPU lacks " << cpu_isa_name(isa);
    ops::cpu::set_ops_isa(isa);
    ck_ = io::open_checkpoint(case_dir(c.name));
    model_ = model::LlamaModel::load(ck_);
    io::SafetensorsFile ref(case_dir(c.name) + "/reference.safetensors");
    prompt_a_ = ids_of(ref.get("prompt_a"));
    prompt_b_ = ids_of(ref.get("prompt_b"));
    greedy_a_ = ids_of(ref.get("greedy_a"));
    logits_a_ = ref.get("logits_a").to_f32();
    logits_b_ = ref.get("logits_b").to_f32();
    float scale = 0.0f;
    for (const Tensor* t : {&logits_a_, &logits_b_})
      for (int64_t i = 0; i < t->numel(); ++i)
        scale = std::max(scale, std::fabs(t->data_as<float>()[i]));
    tol_ = c.rel_tol * scale;
  }
  void TearDown() override { ops::cpu::set_ops_isa(CpuIsa::kAvx512); }

  io::Checkpoint ck_;
  std::unique_ptr<model::LlamaModel> model_;
  std::vector<int32_t> prompt_a_, prompt_b_, greedy_a_;
  Tensor logits_a_, logits_b_;
  float tol_ = 0.0f;
};

model::SeqInput seq(int64_t n_past, int64_t n_new, std::vector<int32_t> blocks, bool all) {
  return {.n_past = n_past,
          .n_new = n_new,
          .block_table = std::move(blocks),
          .logits_last = true,
          .logits_all = all};
}

TEST_P(LlamaGolden, PromptLogitsAndGreedy) {
  model::KvCache kv = model_->allocate_kv_cache(8, 4);
  model::Batch b{.tokens = prompt_a_, .seqs = {seq(0, 16, {5, 0, 7, 2, 3, 1}, true)}};
  Tensor logits = model_->forward(b, kv);
  ASSERT_TRUE(logits_match(logits, logits_a_, 0, tol_, "prompt A one-shot"));
  // Greedy decoding, one token a step, through forward_into: the buffer from the prefill
  // (16 rows) is reused for every 1-row step.
  std::vector<int32_t> got;
  const int64_t V = logits.dim(1);
  Tensor buffer = logits;
  const float* last = logits.data_as<float>() + 15 * V;
  for (int step = 0; step < 8; ++step) {
    const int32_t next = int32_t(std::max_element(last, last + V) - last);
    got.push_back(next);
    model::Batch d{.tokens = {next}, .seqs = {seq(16 + step, 1, {5, 0, 7, 2, 3, 1}, false)}};
    Tensor row = model_->forward_into(d, kv, buffer);
    ASSERT_EQ(row.shape(), (Shape{1, V}));
    ASSERT_EQ(row.data(), logits.data()) << "the logits buffer was not reused";
    last = row.data_as<float>();
  }
  EXPECT_EQ(got, greedy_a_);
}

TEST_P(LlamaGolden, BatchedSequencesMatchOneShot) {
  model::KvCache kv = model_->allocate_kv_cache(10, 4);
  model::Batch b;
  b.tokens = prompt_b_;
  b.tokens.insert(b.tokens.end(), prompt_a_.begin(), prompt_a_.end());
  b.seqs = {seq(0, 11, {9, 1, 4}, true), seq(0, 16, {0, 8, 2, 6}, true)};
  Tensor logits = model_->forward(b, kv);
  ASSERT_EQ(logits.dim(0), 27);
  EXPECT_TRUE(logits_match(logits.slice_rows(0, 11), logits_b_, 0, tol_, "batch: prompt B"));
  EXPECT_TRUE(logits_match(logits.slice_rows(11, 27), logits_a_, 0, tol_, "batch: prompt A"));
}

// Prompt A prefilled in chunks of 5, 7, 4 while prompt B decodes one token a step beside it
// (after a 3-token prefill): a mixed prefill/decode batch, as the scheduler builds them.
TEST_P(LlamaGolden, ChunkedPrefillAndDecodeMatchOneShot) {
  model::KvCache kv = model_->allocate_kv_cache(12, 2);
  // Block tables of the two sequences use disjoint blocks of the cache, out of order.
  const std::vector<int32_t> bt_a = {11, 0, 3, 9, 5, 7, 1, 2}, bt_b_ok = {4, 10, 6, 8};
  int64_t a_past = 0, b_past = 0;
  model::Batch first{.tokens = {prompt_b_[0], prompt_b_[1], prompt_b_[2]},
                     .seqs = {seq(0, 3, bt_b_ok, true)}};
  ASSERT_TRUE(logits_match(model_->forward(first, kv), logits_b_, 0, tol_, "B prefill"));
  b_past = 3;
  for (int64_t chunk : {5, 7, 4}) {
    model::Batch b;
    b.tokens.assign(prompt_a_.begin() + a_past, prompt_a_.begin() + a_past + chunk);
    b.tokens.push_back(prompt_b_[size_t(b_past)]);
    b.seqs = {seq(a_past, chunk, bt_a, true), seq(b_past, 1, bt_b_ok, false)};
    Tensor logits = model_->forward(b, kv);
    ASSERT_EQ(logits.dim(0), chunk + 1);
    ASSERT_TRUE(logits_match(logits.slice_rows(0, chunk), logits_a_, a_past, tol_,
                             str_cat("A chunk at ", a_past)));
    ASSERT_TRUE(logits_match(logits.slice_rows(chunk, chunk + 1), logits_b_, b_past, tol_,
                             str_cat("B decode at ", b_past)));
    a_past += chunk;
    ++b_past;
  }
}

std::string param_name(const ::testing::TestParamInfo<std::tuple<Case, CpuIsa>>& info) {
  return std::get<0>(info.param).name + "_" + cpu_isa_name(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Cases, LlamaGolden,
                         ::testing::Combine(::testing::ValuesIn(kCases),
                                            ::testing::Values(CpuIsa::kScalar, CpuIsa::kAvx2,
                                                              CpuIsa::kAvx512)),
                         param_name);

}  // namespace
}  // namespace qinfer

namespace qinfer {
namespace {

// The same model code with weights and activations on the GPU (skipped without one): prompt
// logits, a batched pair and greedy decoding, with the brief's bf16-level tolerance since the
// CUDA kernels may reduce in another order or precision.
class LlamaGoldenCuda : public ::testing::TestWithParam<Case> {};

TEST_P(LlamaGoldenCuda, PromptLogitsBatchAndGreedy) {
  if (!ops::cuda::available()) GTEST_SKIP() << "no CUDA device";
  const std::string dir = case_dir(GetParam().name);
  io::Checkpoint ck = io::open_checkpoint(dir);
  // An F32 cache, as the CPU and the reference keep K/V: greedy ids on these random models have
  // near ties that a BF16 cache's rounding can flip.
  auto m = model::LlamaModel::load(ck, {.device = Device::kCuda, .kv_cache_dtype = DType::kF32});
  io::SafetensorsFile ref(dir + "/reference.safetensors");
  const std::vector<int32_t> a = ids_of(ref.get("prompt_a")), b = ids_of(ref.get("prompt_b"));
  const Tensor la = ref.get("logits_a").to_f32(), lb = ref.get("logits_b").to_f32();
  float scale = 0.0f;
  for (int64_t i = 0; i < la.numel(); ++i)
    scale = std::max(scale, std::fabs(la.data_as<float>()[i]));
  const float tol = 1e-2f * scale;
  // Block sizes the engine may be given (--block-size), over scattered block tables; prompt A
  // alone (contiguous, then scattered blocks) and batched after prompt B.
  for (int64_t bs : {4, 8, 16})
    for (int scene = 0; scene < 3; ++scene) {
      SCOPED_TRACE("block size " + std::to_string(bs) + ", " +
                   (scene == 0 ? "A alone" : scene == 1 ? "A alone, scattered" : "B and A"));
      model::KvCache kv = m->allocate_kv_cache(10, bs);
      const std::vector<int32_t> table_a =
          scene == 0 ? std::vector<int32_t>{0, 1, 2, 3, 4, 5}
                     : std::vector<int32_t>{0, 8, 2, 6, 3, 5};
      model::Batch batch;
      if (scene == 2) {
        batch.tokens = b;
        batch.seqs = {seq(0, 11, {9, 1, 4}, true)};
      }
      batch.tokens.insert(batch.tokens.end(), a.begin(), a.end());
      batch.seqs.push_back(seq(0, 16, {table_a.begin(), table_a.begin() + 4}, true));
      Tensor logits = m->forward(batch, kv);
      ASSERT_EQ(logits.device(), Device::kCpu);
      const int64_t row_a = scene == 2 ? 11 : 0;
      if (scene == 2) {
        EXPECT_TRUE(logits_match(logits.slice_rows(0, 11), lb, 0, tol, "cuda batch: prompt B"));
      }
      EXPECT_TRUE(logits_match(logits.slice_rows(row_a, row_a + 16), la, 0, tol, "cuda: prompt A"));
      std::vector<int32_t> got;
      const int64_t V = logits.dim(1);
      Tensor last = logits.slice_rows(row_a + 15, row_a + 16);
      for (int step = 0; step < 8; ++step) {
        const float* l = last.data_as<float>();
        got.push_back(int32_t(std::max_element(l, l + V) - l));
        last = m->forward(
            {.tokens = {got.back()}, .seqs = {seq(16 + step, 1, table_a, false)}}, kv);
      }
      EXPECT_EQ(got, ids_of(ref.get("greedy_a")));
    }
}

// The engine on the GPU with async scheduling (step N+1 queued before step N's tokens are on
// the host, its input tokens read from the sampler's output on the device) and without: the
// same tokens for greedy, seeded and forked requests, with the F32 and the BF16 cache (the
// latter's decode attention on tensor cores where the head shape allows), and with the F32
// cache transformers' greedy ids for prompt A. Every request ends by length, so both runs
// schedule the same batches.
TEST_P(LlamaGoldenCuda, EngineAsyncStepsMatchSynchronous) {
  if (!ops::cuda::available()) GTEST_SKIP() << "no CUDA device";
  const std::string dir = case_dir(GetParam().name);
  io::Checkpoint ck = io::open_checkpoint(dir);
  io::SafetensorsFile ref(dir + "/reference.safetensors");
  const std::vector<int32_t> a = ids_of(ref.get("prompt_a"));
  const std::vector<int32_t> greedy_a = ids_of(ref.get("greedy_a"));
  std::shared_ptr<const tokenizer::Tokenizer> tok = tokenizer::Tokenizer::from_dir(
      dir_from_env("QINFER_SHARED_DIR", QINFER_SHARED_DIR) + "/models/llama3.1-tokenizer");
  for (DType kv : {DType::kF32, DType::kBF16}) {
    std::shared_ptr<model::LlamaModel> m =
        model::LlamaModel::load(ck, {.device = Device::kCuda, .kv_cache_dtype = kv});
    const int64_t V = m->config().vocab_size;
    std::map<std::string, std::map<int, std::vector<int32_t>>> ids[2];
    for (int k = 0; k < 2; ++k) {
      const engine::AsyncSteps mode = k == 0 ? engine::AsyncSteps::kOff : engine::AsyncSteps::kOn;
      engine::Engine eng(m, tok,
                         {.max_model_len = 128, .max_num_seqs = 8, .max_num_batched_tokens = 64,
                          .async_steps = mode});
      for (int i = 0; i < 7; ++i) {
        Request r{.id = std::to_string(i), .prompt = a, .max_tokens = int64_t(greedy_a.size())};
        if (i > 0) {
          r.prompt.clear();
          for (int j = 0; j < 5 + 9 * i; ++j)
            r.prompt.push_back(int32_t((i * 7919 + j * 104729) % V));
          r.max_tokens = 10 + 6 * i;
        }
        r.sampling.temperature = i % 2 == 0 ? 0.0f : 0.8f;
        r.sampling.seed = uint64_t(i);
        r.n = i == 3 ? 3 : 1;
        r.ignore_eos = true;
        eng.validate(r);
        const std::string id = r.id;
        ASSERT_TRUE(eng.submit(std::move(r), [&ids, k, id](RequestOutput&& o) {
          for (const SeqDelta& d : o.seqs)
            ids[k][id][d.index].insert(ids[k][id][d.index].end(), d.token_ids.begin(),
                                       d.token_ids.end());
        }));
      }
      while (!eng.idle()) eng.step();
    }
    if (kv == DType::kF32) {
      EXPECT_EQ(ids[0]["0"][0], greedy_a);
      EXPECT_EQ(ids[1]["0"][0], greedy_a);
    }
    EXPECT_EQ(ids[0]["3"].size(), 3u);
    for (auto& [id, seqs] : ids[0])
      for (auto& [idx, t] : seqs)
        EXPECT_EQ(ids[1][id][idx], t) << dtype_name(kv) << " cache, request " << id << " sample "
                                      << idx;
  }
}

// A random checkpoint with head_dim 64 (so the GPU takes its tensor-core decode and prefill
// attentions), written next to the temp directory's other files; BF16 weights, tied lm_head.
std::string head64_checkpoint() {
  namespace fs = std::filesystem;
  const fs::path d =
      fs::temp_directory_path() / ("qinfer_head64_" + std::to_string(::getpid())) / "model";
  if (fs::exists(d / "config.json")) return d.string();
  fs::create_directories(d);
  const int64_t hid = 256, inter = 512, vocab = 512, heads = 4, kv_heads = 2, hd = 64;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<std::pair<std::string, Tensor>> ts;
  auto add = [&](const std::string& name, Shape shape, float sd, float mean) {
    Tensor t = Tensor::empty(DType::kBF16, shape);
    for (int64_t i = 0; i < t.numel(); ++i)
      t.data_as<uint16_t>()[i] = f32_to_bf16(mean + sd * nd(rng));
    ts.emplace_back(name, std::move(t));
  };
  add("model.embed_tokens.weight", {vocab, hid}, 1.0f, 0.0f);
  add("model.norm.weight", {hid}, 0.1f, 1.0f);
  for (int l = 0; l < 2; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    const float w = 1.0f / std::sqrt(float(hid));
    add(p + "input_layernorm.weight", {hid}, 0.1f, 1.0f);
    add(p + "post_attention_layernorm.weight", {hid}, 0.1f, 1.0f);
    add(p + "self_attn.q_proj.weight", {heads * hd, hid}, 2.0f * w, 0.0f);
    add(p + "self_attn.k_proj.weight", {kv_heads * hd, hid}, 2.0f * w, 0.0f);
    add(p + "self_attn.v_proj.weight", {kv_heads * hd, hid}, w, 0.0f);
    add(p + "self_attn.o_proj.weight", {hid, heads * hd}, w, 0.0f);
    add(p + "mlp.gate_proj.weight", {inter, hid}, w, 0.0f);
    add(p + "mlp.up_proj.weight", {inter, hid}, w, 0.0f);
    add(p + "mlp.down_proj.weight", {hid, inter}, 1.0f / std::sqrt(float(inter)), 0.0f);
  }
  io::write_safetensors((d / "model.safetensors").string(), ts);
  Json cfg = read_json_file(case_dir("gqa8_bf16") + "/config.json");
  cfg["hidden_size"] = hid;
  cfg["intermediate_size"] = inter;
  cfg["num_attention_heads"] = heads;
  cfg["num_key_value_heads"] = kv_heads;
  cfg["head_dim"] = hd;
  cfg["vocab_size"] = vocab;
  std::ofstream(d / "config.json") << cfg.dump(2);
  return d.string();
}

// A mixed step (decode rows beside prompt chunks) runs its prompt chunks' attention on a
// second stream beside the decode rows' (QINFER_CUDA_MIXED_OVERLAP, default 1; 2 queues the
// decode rows' kernel first; 0 runs them one after the other). The two write disjoint rows and
// are deterministic, so every mode must give the same greedy tokens, bit for bit, with the
// BF16 and the FP8 cache; a missing join (o reading rows not yet written) would not.
TEST(LlamaGoldenCudaMixed, PrefillAttentionBesideDecodeMatchesOneStream) {
  if (!ops::cuda::available()) GTEST_SKIP() << "no CUDA device";
  io::Checkpoint ck = io::open_checkpoint(head64_checkpoint());
  std::shared_ptr<const tokenizer::Tokenizer> tok = tokenizer::Tokenizer::from_dir(
      dir_from_env("QINFER_SHARED_DIR", QINFER_SHARED_DIR) + "/models/llama3.1-tokenizer");
  for (DType kv : {DType::kBF16, DType::kF8E4M3}) {
    std::map<std::string, std::vector<int32_t>> ids[3];
    for (int mode = 0; mode < 3; ++mode) {
      ASSERT_EQ(setenv("QINFER_CUDA_MIXED_OVERLAP", std::to_string(mode).c_str(), 1), 0);
      std::shared_ptr<model::LlamaModel> m =
          model::LlamaModel::load(ck, {.device = Device::kCuda, .kv_cache_dtype = kv});
      unsetenv("QINFER_CUDA_MIXED_OVERLAP");
      // 96 tokens a step: the later prompts (up to 158 tokens) arrive in chunks beside the
      // earlier requests' decode rows.
      engine::Engine eng(m, tok,
                         {.max_model_len = 256, .max_num_seqs = 8, .max_num_batched_tokens = 96});
      for (int i = 0; i < 8; ++i) {
        Request r{.id = std::to_string(i), .prompt = {}, .max_tokens = 12 + 3 * i};
        for (int j = 0; j < 11 + 21 * i; ++j)
          r.prompt.push_back(int32_t((i * 7919 + j * 104729) % 512));
        r.sampling.temperature = 0.0f;
        r.ignore_eos = true;
        eng.validate(r);
        const std::string id = r.id;
        ASSERT_TRUE(eng.submit(std::move(r), [&ids, mode, id](RequestOutput&& o) {
          for (const SeqDelta& d : o.seqs)
            ids[mode][id].insert(ids[mode][id].end(), d.token_ids.begin(), d.token_ids.end());
        }));
      }
      while (!eng.idle()) eng.step();
    }
    for (int i = 0; i < 8; ++i) {
      const std::string id = std::to_string(i);
      EXPECT_EQ(ids[0][id].size(), size_t(12 + 3 * i))
          << dtype_name(kv) << " cache, request " << id;
      EXPECT_EQ(ids[1][id], ids[0][id])
          << dtype_name(kv) << " cache, request " << id << ", side stream";
      EXPECT_EQ(ids[2][id], ids[0][id])
          << dtype_name(kv) << " cache, request " << id << ", side stream, decode queued first";
    }
  }
}

// The K/V a prefill writes land in the sequence's own blocks: after prompt B and prompt A
// prefilled together with every logits row wanted (prompt logprobs) on scattered blocks, and
// after one decode step, every written slot of the GPU's F32 cache equals the CPU model's
// (session 9: the runner's metadata once put the rows list over the block tables, sending such
// a prefill's K/V to blocks 0, 1, 2, ...).
TEST_P(LlamaGoldenCuda, PrefillWritesItsOwnBlocks) {
  if (!ops::cuda::available()) GTEST_SKIP() << "no CUDA device";
  const std::string dir = case_dir(GetParam().name);
  io::Checkpoint ck = io::open_checkpoint(dir);
  io::SafetensorsFile ref(dir + "/reference.safetensors");
  const std::vector<int32_t> a = ids_of(ref.get("prompt_a")), b = ids_of(ref.get("prompt_b"));
  auto gpu = model::LlamaModel::load(ck, {.device = Device::kCuda, .kv_cache_dtype = DType::kF32});
  auto cpu = model::LlamaModel::load(ck);
  const int64_t bs = 8;
  model::KvCache kg = gpu->allocate_kv_cache(10, bs), kc = cpu->allocate_kv_cache(10, bs);
  const std::vector<int32_t> table_b = {9, 4}, table_a = {7, 1, 5};
  // Slots holding data: (block, first slot, slots).
  std::vector<std::array<int64_t, 3>> written = {{9, 0, 8}, {4, 0, 3}, {7, 0, 8}, {1, 0, 8}};
  auto compare = [&](const char* when) {
    const Tensor hk = kg.k.to(Device::kCpu), hv = kg.v.to(Device::kCpu);
    const int64_t per = kc.k.numel() / (kc.n_layer * kc.n_block * bs);  // floats per slot
    for (int64_t l = 0; l < kc.n_layer; ++l)
      for (const auto& [blk, s0, n] : written)
        for (int64_t s = s0; s < s0 + n; ++s) {
          const int64_t off = ((l * kc.n_block + blk) * bs + s) * per;
          const float *gk = hk.data_as<float>() + off, *gv = hv.data_as<float>() + off;
          const float *ck = kc.k.data_as<float>() + off, *cv = kc.v.data_as<float>() + off;
          float dk = 0.0f, dv = 0.0f;
          for (int64_t i = 0; i < per; ++i) {
            dk = std::max(dk, std::fabs(gk[i] - ck[i]));
            dv = std::max(dv, std::fabs(gv[i] - cv[i]));
          }
          EXPECT_TRUE(dk <= 1e-3f && dv <= 1e-3f) << when << ": layer " << l << ", block " << blk
                                                  << ", slot " << s << ": |dk| " << dk
                                                  << ", |dv| " << dv;
        }
  };
  model::Batch pre;
  pre.tokens = b;
  pre.tokens.insert(pre.tokens.end(), a.begin(), a.end());
  pre.seqs = {seq(0, 11, table_b, true), seq(0, 16, {table_a[0], table_a[1]}, true)};
  const Tensor lg = gpu->forward(pre, kg), lc = cpu->forward(pre, kc);
  compare("after the prefill");
  const float* l = lc.data_as<float>() + 26 * lc.dim(1);
  const int32_t next = int32_t(std::max_element(l, l + lc.dim(1)) - l);
  const model::Batch dec{.tokens = {next}, .seqs = {seq(16, 1, table_a, false)}};
  const Tensor dg = gpu->forward(dec, kg), dc = cpu->forward(dec, kc);
  written.push_back({5, 0, 1});
  compare("after a decode step");
  float scale = 0.0f, worst = 0.0f;
  for (int64_t i = 0; i < dc.numel(); ++i) {
    scale = std::max(scale, std::fabs(dc.data_as<float>()[i]));
    worst = std::max(worst, std::fabs(dg.data_as<float>()[i] - dc.data_as<float>()[i]));
  }
  EXPECT_LE(worst, 1e-3f * scale) << "decode logits, GPU against CPU";
}

INSTANTIATE_TEST_SUITE_P(Cases, LlamaGoldenCuda, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace qinfer

