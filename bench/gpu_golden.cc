// GPU end-to-end check: each checkpoint runs on the CPU and on the GPU (same prompt), and the
// GPU must reproduce the CPU's per-position logits within a tolerance and the same greedy
// continuation; where the directory holds a transformers reference (reference.safetensors:
// prompt_a, logits_a, greedy_a, as tools/make_golden.py and tools/gpu_make_random_fp8.py write
// it) the GPU logits are compared with it too. Prints a table, writes JSON, exits 1 on a
// mismatch.
//
// A second check runs three sequences of different lengths together (a step mixing decode and
// prefill, then CUDA-graph decode steps) and requires each one's logits to match its
// single-sequence run.
//
//   gpu_golden [--out FILE.json] [--no-cpu] [--tol-fp8 X] [--tol-dense X]
//              [--kv-dtype F32|BF16|F8_E4M3] DIR...
// --kv-dtype sets the GPU's KV cache (default F32: the CPU's, so the comparison is tight).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/json.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "model/llama.h"
#include "ops/cuda/cuda_ops.h"

namespace qinfer {
namespace {

constexpr int kGreedySteps = 8;
constexpr int64_t kBlock = 16;

struct Run {
  Tensor logits;                // (prompt_len, vocab) every position
  std::vector<int32_t> greedy;  // kGreedySteps tokens after the prompt
};

Run run_model(model::LlamaModel& m, const std::vector<int32_t>& prompt) {
  const int64_t total = int64_t(prompt.size()) + kGreedySteps;
  const int64_t n_block = (total + kBlock - 1) / kBlock;
  model::KvCache kv = m.allocate_kv_cache(n_block, kBlock);
  model::SeqInput s;
  s.n_new = int64_t(prompt.size());
  for (int32_t i = 0; i < n_block; ++i) s.block_table.push_back(i);
  s.logits_all = true;
  Run r;
  r.logits = m.forward(model::Batch{.tokens = prompt, .seqs = {s}}, kv);
  const int64_t V = r.logits.dim(1);
  const float* last = r.logits.data_as<float>() + (r.logits.dim(0) - 1) * V;
  int32_t next = int32_t(std::max_element(last, last + V) - last);
  s.logits_all = false;
  for (int i = 0; i < kGreedySteps; ++i) {
    r.greedy.push_back(next);
    s.n_past = int64_t(prompt.size()) + i;
    s.n_new = 1;
    Tensor l = m.forward(model::Batch{.tokens = {next}, .seqs = {s}}, kv);
    next = int32_t(std::max_element(l.data_as<float>(), l.data_as<float>() + V) - l.data_as<float>());
  }
  return r;
}

// Three sequences (prompts of 5, 11 and 24 tokens) run together and each alone; returns the
// max over sequences and steps of rel_max_diff(together, alone). Together: sequences 0 and 1
// prefill alone, then one mixed step decodes them while sequence 2 prefills (the decode and
// prefill kernels in one batch), then all three decode together (a CUDA-graph bucket).
double rel_max_diff(const Tensor& a, const Tensor& b);

double batched_vs_alone(model::LlamaModel& m, int32_t vocab) {
  const int64_t steps = 6, lens[3] = {5, 11, 24};
  const int64_t per = (24 + steps + 1 + kBlock - 1) / kBlock;
  auto prompt_of = [&](int w) {
    std::vector<int32_t> p;
    for (int64_t i = 0; i < lens[w]; ++i) p.push_back(int32_t((i * 7919 + w * 104729) % vocab));
    return p;
  };
  auto seq_of = [&](int w) {
    model::SeqInput s;
    for (int64_t b = 0; b < per; ++b) s.block_table.push_back(int32_t(w * per + b));
    s.n_new = lens[w];
    return s;
  };
  // The tokens fed after the prompt are fixed (not each run's argmax), so that one greedy
  // flip between the runs cannot send them down different continuations.
  auto token = [&](int w, int64_t i) { return int32_t((w * 31 + i * 17 + 3) % vocab); };
  // out[w][i]: logits after the prompt (i = 0), then after each decoded token.
  std::vector<std::vector<Tensor>> together(3), alone(3);
  auto row = [&](const Tensor& l, int64_t r) { return l.slice_rows(r, r + 1).to(Device::kCpu); };
  {
    model::KvCache kv = m.allocate_kv_cache(per * 3, kBlock);
    std::vector<model::SeqInput> seqs = {seq_of(0), seq_of(1), seq_of(2)};
    std::vector<int32_t> next(3);
    for (int w = 0; w < 2; ++w) {
      Tensor l = m.forward(model::Batch{.tokens = prompt_of(w), .seqs = {seqs[size_t(w)]}}, kv);
      together[size_t(w)].push_back(row(l, 0));
      next[size_t(w)] = token(w, 0);
      seqs[size_t(w)].n_past = lens[w];
      seqs[size_t(w)].n_new = 1;
    }
    model::Batch mixed{.tokens = {next[0], next[1]}, .seqs = seqs};
    for (int32_t t : prompt_of(2)) mixed.tokens.push_back(t);
    Tensor l = m.forward(mixed, kv);
    for (int w = 0; w < 3; ++w) together[size_t(w)].push_back(row(l, w));
    next = {token(0, 1), token(1, 1), token(2, 0)};
    seqs[0].n_past += 1, seqs[1].n_past += 1;
    seqs[2].n_past = lens[2], seqs[2].n_new = 1;
    for (int64_t t = 1; t < steps; ++t) {
      Tensor d = m.forward(model::Batch{.tokens = next, .seqs = seqs}, kv);
      for (int w = 0; w < 3; ++w) {
        together[size_t(w)].push_back(row(d, w));
        next[size_t(w)] = token(w, w == 2 ? t : t + 1);
        seqs[size_t(w)].n_past += 1;
      }
    }
  }
  for (int w = 0; w < 3; ++w) {
    model::KvCache kv = m.allocate_kv_cache(per * 3, kBlock);
    model::SeqInput s = seq_of(w);
    Tensor l = m.forward(model::Batch{.tokens = prompt_of(w), .seqs = {s}}, kv);
    int32_t next = token(w, 0);
    alone[size_t(w)].push_back(row(l, 0));
    s.n_past = lens[w];
    s.n_new = 1;
    for (int64_t t = 0; t < steps; ++t) {
      Tensor d = m.forward(model::Batch{.tokens = {next}, .seqs = {s}}, kv);
      alone[size_t(w)].push_back(row(d, 0));
      next = token(w, t + 1);
      s.n_past += 1;
    }
  }
  double worst = 0;
  for (int w = 0; w < 3; ++w)
    for (size_t i = 0; i < std::min(together[size_t(w)].size(), alone[size_t(w)].size()); ++i)
      worst = std::max(worst, rel_max_diff(together[size_t(w)][i], alone[size_t(w)][i]));
  return worst;
}

// max |a - b| over max |b|.
double rel_max_diff(const Tensor& a, const Tensor& b) {
  double worst = 0, scale = 0;
  const int64_t n = std::min(a.numel(), b.numel());
  for (int64_t i = 0; i < n; ++i) {
    const double d = std::fabs(double(a.data_as<float>()[i]) - double(b.data_as<float>()[i]));
    worst = std::isnan(d) ? INFINITY : std::max(worst, d);
    scale = std::max(scale, std::fabs(double(b.data_as<float>()[i])));
  }
  return scale > 0 ? worst / scale : worst;
}

std::vector<int32_t> ids_of(const Tensor& t) {
  Tensor f = t.to_f32();
  std::vector<int32_t> r;
  for (int64_t i = 0; i < f.numel(); ++i) r.push_back(int32_t(f.data_as<float>()[i]));
  return r;
}

std::string join(const std::vector<int32_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s;
}

}  // namespace
}  // namespace qinfer

int main(int argc, char** argv) {
  using namespace qinfer;
  std::string out;
  bool with_cpu = true;
  double tol_fp8 = 2e-2, tol_dense = 1e-3;
  DType kv_dtype = DType::kF32;
  std::vector<std::string> dirs;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) out = argv[++i];
    else if (a == "--no-cpu") with_cpu = false;
    else if (a == "--tol-fp8" && i + 1 < argc) tol_fp8 = std::atof(argv[++i]);
    else if (a == "--tol-dense" && i + 1 < argc) tol_dense = std::atof(argv[++i]);
    else if (a == "--kv-dtype" && i + 1 < argc) {
      QINFER_CHECK(dtype_from_name(argv[++i], &kv_dtype), "--kv-dtype: unknown dtype ", argv[i]);
    }
    else dirs.push_back(a);
  }
  // Without a GPU the same checks run on the CPU against the references (a self-check of
  // the reference files), and the CPU-vs-GPU column stays empty.
  const Device dev = ops::cuda::available() ? Device::kCuda : Device::kCpu;
  if (dev == Device::kCpu) {
    std::printf("gpu_golden: no CUDA device: checking the CPU against the references only\n");
    with_cpu = false;
  }
  Json results = Json::array();
  bool ok = true;
  std::printf("%-34s %12s %12s %8s %8s %s\n", "checkpoint", "gpu~cpu", "gpu~hf", "tol",
              "greedy", "");
  for (const std::string& dir : dirs) {
    try {
      io::Checkpoint ck = io::open_checkpoint(dir);
      const bool fp8 = !ck.config.quantization_config.is_null();
      const double tol = fp8 ? tol_fp8 : tol_dense;
      const std::string ref_path = dir + "/reference.safetensors";
      const bool has_ref = std::filesystem::exists(ref_path);
      std::vector<int32_t> prompt, ref_greedy;
      Tensor ref_logits;
      if (has_ref) {
        io::SafetensorsFile ref(ref_path);
        prompt = ids_of(ref.get("prompt_a"));
        ref_logits = ref.get("logits_a").to_f32();
        ref_greedy = ids_of(ref.get("greedy_a"));
      } else {
        std::mt19937 rng(7);
        for (int i = 0; i < 24; ++i) prompt.push_back(int32_t(rng() % uint32_t(ck.config.vocab_size)));
      }
      auto gpu_model = model::LlamaModel::load(
          ck, {.device = dev, .kv_cache_dtype = dev == Device::kCuda ? kv_dtype : DType::kF32});
      Run gpu = run_model(*gpu_model, prompt);
      const double d_batch = batched_vs_alone(*gpu_model, int32_t(ck.config.vocab_size));
      gpu_model.reset();
      Json r{{"checkpoint", dir}, {"fp8", fp8}, {"tol", tol}, {"prompt_len", prompt.size()},
             {"gpu_greedy", join(gpu.greedy)}, {"kv_dtype", dtype_name(kv_dtype)},
             {"batched_vs_alone_rel_max_diff", d_batch}};
      // Batched rows may take the tensor-core GEMMs where a lone decode takes the GEMV: FP8
      // checkpoints get the FP8 tolerance.
      const double tol_batch = fp8 ? tol : 1e-4;
      bool case_ok = d_batch <= tol_batch;
      if (d_batch > tol_batch) std::printf("  batched decode differs from single: %.3g\n", d_batch);
      double d_cpu = -1, d_ref = -1;
      std::string greedy_note = "-";
      if (with_cpu) {
        auto cpu_model = model::LlamaModel::load(ck, {.device = Device::kCpu});
        Run cpu = run_model(*cpu_model, prompt);
        d_cpu = rel_max_diff(gpu.logits, cpu.logits);
        r["gpu_vs_cpu_rel_max_diff"] = d_cpu;
        r["cpu_greedy"] = join(cpu.greedy);
        const bool same = cpu.greedy == gpu.greedy;
        r["greedy_same_as_cpu"] = same;
        greedy_note = same ? "=cpu" : "!=cpu";
        case_ok = case_ok && d_cpu <= tol && same;
        if (has_ref) r["cpu_vs_transformers_rel_max_diff"] = rel_max_diff(cpu.logits, ref_logits);
      }
      if (has_ref) {
        d_ref = rel_max_diff(gpu.logits, ref_logits);
        r["gpu_vs_transformers_rel_max_diff"] = d_ref;
        const size_t n = std::min(ref_greedy.size(), gpu.greedy.size());
        const bool same = std::equal(gpu.greedy.begin(), gpu.greedy.begin() + long(n),
                                     ref_greedy.begin());
        r["greedy_same_as_transformers"] = same;
        greedy_note += same ? " =hf" : " !=hf";
        case_ok = case_ok && d_ref <= tol && same;
      }
      r["ok"] = case_ok;
      ok = ok && case_ok;
      std::printf("%-34s %12.2e %12.2e %8.0e %8s %s\n",
                  std::filesystem::path(dir).filename().string().c_str(), d_cpu, d_ref, tol,
                  greedy_note.c_str(), case_ok ? "OK" : "MISMATCH");
      results.push_back(r);
    } catch (const std::exception& e) {
      std::printf("%-34s ERROR %s\n", dir.c_str(), e.what());
      results.push_back({{"checkpoint", dir}, {"error", e.what()}, {"ok", false}});
      ok = false;
    }
  }
  if (!out.empty())
    write_json_file(out, Json{{"device", dev == Device::kCuda ? ops::cuda::gpu_name() : "cpu"},
                              {"results", results}});
  return ok ? 0 : 1;
}
