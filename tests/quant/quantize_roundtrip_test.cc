// The quantizer end to end in C++: quantize tests/quant/data/tiny_bf16 (a small model trained
// on synthetic text by tools/make_fp8_fixtures.py) with each scheme, check the written
// tensors against llm-compressor's formulas computed here, the config against what
// compressed-tensors itself writes (expected_quantization_config.json, generated from the
// package), and held-out perplexity within 1% of the BF16 model's.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <unistd.h>

#include "core/dtype.h"
#include "core/error.h"
#include "core/json.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "model/llama.h"
#include "quant/calibration.h"
#include "quant/compressed_tensors.h"
#include "quant/fp8_quantizer.h"

namespace qinfer {
namespace {

namespace fs = std::filesystem;
const std::string kData = std::string(QINFER_SOURCE_DIR) + "/tests/quant/data/";
const std::string kTiny = kData + "tiny_bf16";

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Byte-level ids with <s> = 256 (the fixture's tokenizer maps every byte to its value).
std::vector<int32_t> byte_ids(const std::string& text, size_t max_len) {
  std::vector<int32_t> ids = {256};
  for (unsigned char c : text) {
    if (ids.size() >= max_len) break;
    ids.push_back(int32_t(c));
  }
  return ids;
}

// Negative log-likelihood summed over ids[1..], and the count of predicted tokens.
std::pair<double, size_t> nll(model::LlamaModel& m, const std::vector<int32_t>& ids) {
  const int64_t bs = 16, n_block = (int64_t(ids.size()) + bs - 1) / bs;
  model::KvCache kv = m.allocate_kv_cache(n_block, bs);
  model::Batch b;
  b.tokens = ids;
  model::SeqInput s;
  s.n_new = int64_t(ids.size());
  for (int32_t i = 0; i < n_block; ++i) s.block_table.push_back(i);
  s.logits_all = true;
  b.seqs.push_back(s);
  Tensor logits = m.forward(b, kv);
  const int64_t V = logits.dim(1);
  double total = 0.0;
  for (size_t t = 0; t + 1 < ids.size(); ++t) {
    const float* row = logits.data_as<float>() + t * V;
    double mx = row[0], sum = 0.0;
    for (int64_t v = 1; v < V; ++v) mx = std::max(mx, double(row[v]));
    for (int64_t v = 0; v < V; ++v) sum += std::exp(row[v] - mx);
    total -= row[ids[t + 1]] - mx - std::log(sum);
  }
  return {total, ids.size() - 1};
}

// Over windows of 128 tokens (<s> + 127 bytes): the tiny model was trained on that length.
double perplexity(model::LlamaModel& m, const std::string& text) {
  double total = 0.0;
  size_t n = 0;
  for (size_t off = 0; off + 127 <= text.size(); off += 127) {
    const auto [t, k] = nll(m, byte_ids(text.substr(off, 127), 128));
    total += t;
    n += k;
  }
  return std::exp(total / double(n));
}

std::string quantize_tiny(const std::string& scheme) {
  const std::string out =
      (fs::temp_directory_path() / ("qinfer_fp8_" + scheme + "_" + std::to_string(getpid())))
          .string();
  fs::remove_all(out);
  io::Checkpoint ck = io::open_checkpoint(kTiny);
  quant::QuantizeJob job;
  job.in = &ck;
  job.out_dir = out;
  job.scheme = quant::parse_fp8_scheme(scheme);
  job.max_shard_bytes = 64 << 10;  // several shards: exercises the index
  if (job.scheme.act == ops::ActQuant::kStaticPerTensor) {
    auto m = model::LlamaModel::load(ck);
    quant::ActivationAbsmax obs;
    m->set_linear_observer([&](const ops::LinearWeight& w, const Tensor& x) { obs.observe(w, x); });
    std::string text = read_text(kTiny + "/calibration.txt");
    for (size_t off = 0; off < text.size(); off += 400) {
      const std::vector<int32_t> ids = byte_ids(text.substr(off, 400), 512);
      model::KvCache kv = m->allocate_kv_cache(32, 16);
      model::Batch b;
      b.tokens = ids;
      model::SeqInput s{0, int64_t(ids.size()), {}, true, false};
      for (int32_t i = 0; i < 32; ++i) s.block_table.push_back(i);
      b.seqs.push_back(s);
      m->forward(b, kv);
    }
    job.input_absmax = obs.module_absmax();
  }
  quant::write_fp8_checkpoint(job);
  return out;
}

class QuantizeRoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(QuantizeRoundTrip, ConfigTensorsAndPerplexity) {
  const std::string scheme = GetParam();
  const std::string out = quantize_tiny(scheme);
  // config.json: quantization_config as compressed-tensors writes it.
  const Json expected = read_json_file(kData + "expected_quantization_config.json")[scheme];
  const Json got = read_json_file(out + "/config.json")["quantization_config"];
  EXPECT_EQ(got, expected) << "got " << got.dump(1) << "\nexpected " << expected.dump(1);
  EXPECT_TRUE(fs::exists(out + "/model.safetensors.index.json"));
  EXPECT_TRUE(fs::exists(out + "/recipe.yaml"));
  EXPECT_TRUE(fs::exists(out + "/tokenizer.json"));
  // Tensors: llm-compressor's formulas, recomputed here from the BF16 input.
  io::Checkpoint in = io::open_checkpoint(kTiny), q = io::open_checkpoint(out);
  const quant::Fp8Scheme s = quant::parse_fp8_scheme(scheme);
  const std::string mod = "model.layers.1.mlp.down_proj";
  Tensor w = in.tensors->get(mod + ".weight"), wq = q.tensors->get(mod + ".weight");
  Tensor ws = q.tensors->get(mod + ".weight_scale");
  ASSERT_EQ(wq.dtype(), DType::kF8E4M3);
  ASSERT_EQ(ws.dtype(), DType::kBF16);
  ASSERT_EQ(ws.shape(), s.weight_per_channel ? Shape({w.dim(0), 1}) : Shape({1}));
  EXPECT_EQ(q.tensors->has(mod + ".input_scale"), s.act == ops::ActQuant::kStaticPerTensor);
  EXPECT_EQ(q.tensors->get("lm_head.weight").dtype(), DType::kBF16);  // ignored
  const int64_t n_out = w.dim(0), n_in = w.dim(1);
  for (int64_t o = 0; o < n_out; ++o) {
    float amax = 0.0f;
    const int64_t r0 = s.weight_per_channel ? o : 0, r1 = s.weight_per_channel ? o + 1 : n_out;
    for (int64_t i = r0 * n_in; i < r1 * n_in; ++i)
      amax = std::max(amax, std::fabs(bf16_to_f32(w.data_as<uint16_t>()[i])));
    const float scale = bf16_to_f32(f32_to_bf16(amax / 448.0f));
    ASSERT_EQ(bf16_to_f32(ws.data_as<uint16_t>()[s.weight_per_channel ? o : 0]), scale)
        << "row " << o;
    for (int64_t k = 0; k < n_in; ++k) {
      const float x = bf16_to_f32(w.data_as<uint16_t>()[o * n_in + k]);
      const float div = bf16_to_f32(f32_to_bf16(x / scale));
      ASSERT_EQ(wq.data_as<uint8_t>()[o * n_in + k],
                f32_to_fp8e4m3(std::fmin(std::fmax(div, -448.f), 448.f)))
          << "element (" << o << ", " << k << ")";
    }
  }
  // Perplexity on held-out text: FP8 within 1% of BF16.
  const std::string heldout = read_text(kTiny + "/heldout.txt");
  auto m16 = model::LlamaModel::load(in);
  auto m8 = model::LlamaModel::load(q);
  const double p16 = perplexity(*m16, heldout), p8 = perplexity(*m8, heldout);
  std::printf("[ perplexity ] %s: BF16 %.4f, FP8 %.4f (%+.3f%%)\n", scheme.c_str(), p16, p8,
              100.0 * (p8 / p16 - 1.0));
  EXPECT_LT(p16, 4.0) << "the tiny model should have learned its synthetic text";
  EXPECT_LT(std::fabs(p8 / p16 - 1.0), 0.01) << "BF16 " << p16 << " vs FP8 " << p8;
  m8.reset();
  q = io::Checkpoint();
  fs::remove_all(out);
}

INSTANTIATE_TEST_SUITE_P(Schemes, QuantizeRoundTrip,
                         ::testing::Values("fp8", "fp8-dynamic", "fp8-per-tensor"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(Quantize, RejectsAlreadyQuantizedAndUnknownScheme) {
  io::Checkpoint ck = io::open_checkpoint(kData + "fp8_w_channel_a_dynamic");
  quant::QuantizeJob job;
  job.in = &ck;
  job.out_dir = (fs::temp_directory_path() / "qinfer_fp8_bad").string();
  job.scheme = quant::parse_fp8_scheme("fp8-dynamic");
  EXPECT_THROW(quant::write_fp8_checkpoint(job), Error);
  EXPECT_THROW(quant::parse_fp8_scheme("int4"), Error);
}

}  // namespace
}  // namespace qinfer
