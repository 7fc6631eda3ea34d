// Can the memory-bound decode attention and the compute-bound FP8 GEMMs of a decode step run
// side by side? (NanoFlow's overlap, measured before it is built into the engine.) At the
// offline shape (Llama-3.1-8B layers, B sequences of CTX keys, FP8 cache, static-FP8-shaped
// GEMMs), one "layer" is qkv -> attention -> o (+=) -> gate_up -> down (+=); 32 of them run
//   serial:     the whole batch on the backend stream (what the engine does now);
//   streams:    two halves of the batch pipelined on two streams of the whole GPU (attention
//               of one half beside the GEMMs of the other; session 11's layout);
//   green A/G:  the same pipeline with the attention's stream in a green context of A
//               multiprocessors and the GEMMs' in one of the other G (cuGreenCtxCreate), so
//               neither kernel's blocks can take the other's multiprocessors.
// Element-wise kernels (norms, RoPE, silu) are left out of every arm. For each split it also
// times the half-batch attention alone on its A multiprocessors (KV GB/s, ratio to a
// device-to-device copy of the same run) and the half-batch GEMMs alone on G (TFLOP/s).
// Prints a table; --out FILE writes it as JSON.
//
//   gpu_overlap [--out FILE.json] [--batch 512] [--ctx 1500] [--splits 64,80,88,96,104,112]
#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/tensor.h"
#include "ops/cuda/cuda_ops.h"

#ifdef QINFER_HAVE_CUDA
#include <cuda.h>

#include "gpu_bench_data.h"
#include "ops/cuda/attention_cuda.h"
#include "ops/cuda/attention_decode_tc.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/linear_gemm.h"

namespace qinfer {
namespace {

namespace cu = ops::cuda;

constexpr int kLayers = 32, kReps = 5;
using bench::kDims;
using bench::kHeadDim;
using bench::kHeadKv;
using bench::random_device;

// The green-context entry points of the driver (found at run time: no libcuda link).
struct Driver {
  CUresult (*get_resource)(CUdevice, CUdevResource*, CUdevResourceType) = nullptr;
  CUresult (*split)(CUdevResource*, unsigned*, const CUdevResource*, CUdevResource*, unsigned,
                    unsigned) = nullptr;
  CUresult (*gen_desc)(CUdevResourceDesc*, CUdevResource*, unsigned) = nullptr;
  CUresult (*green_create)(CUgreenCtx*, CUdevResourceDesc, CUdevice, unsigned) = nullptr;
  CUresult (*green_stream)(CUstream*, CUgreenCtx, unsigned, int) = nullptr;
  CUresult (*green_destroy)(CUgreenCtx) = nullptr;
  CUresult (*stream_destroy)(CUstream) = nullptr;
};

template <typename F>
void entry(const char* name, F*& fn) {
  void* p = nullptr;
  cudaDriverEntryPointQueryResult q{};
  QINFER_CUDA_CHECK(cudaGetDriverEntryPointByVersion(name, &p, 12050, cudaEnableDefault, &q));
  QINFER_CHECK(q == cudaDriverEntryPointSuccess && p != nullptr, "the driver has no ",
               name);
  fn = reinterpret_cast<F*>(p);
}

void check_cu(CUresult r, const char* what) {
  QINFER_CHECK(r == CUDA_SUCCESS, what, " failed (CUresult ", int(r), ")");
}

Driver load_driver() {
  Driver d;
  entry("cuDeviceGetDevResource", d.get_resource);
  entry("cuDevSmResourceSplitByCount", d.split);
  entry("cuDevResourceGenerateDesc", d.gen_desc);
  entry("cuGreenCtxCreate", d.green_create);
  entry("cuGreenCtxStreamCreate", d.green_stream);
  entry("cuGreenCtxDestroy", d.green_destroy);
  entry("cuStreamDestroy", d.stream_destroy);
  return d;
}

// Two streams on disjoint multiprocessors: `a` on a group of `want` of them, `g` on the rest;
// the streams and their green contexts go with it.
struct Partition {
  const Driver* d = nullptr;
  cudaStream_t a = nullptr, g = nullptr;
  CUgreenCtx ctx[2] = {nullptr, nullptr};
  int a_sms = 0, g_sms = 0;
  Partition() = default;
  Partition(const Partition&) = delete;
  Partition& operator=(const Partition&) = delete;
  ~Partition() {
    for (cudaStream_t s : {a, g})
      if (s != nullptr) (void)d->stream_destroy(static_cast<CUstream>(s));
    for (CUgreenCtx c : ctx)
      if (c != nullptr) (void)d->green_destroy(c);
  }
};

void make_partition(const Driver& d, int want, Partition& p) {
  CUdevResource all{}, group{}, rest{};
  check_cu(d.get_resource(0, &all, CU_DEV_RESOURCE_TYPE_SM), "cuDeviceGetDevResource");
  unsigned n_groups = 1;
  check_cu(d.split(&group, &n_groups, &all, &rest, 0, unsigned(want)),
           "cuDevSmResourceSplitByCount");
  QINFER_CHECK(n_groups == 1, "no group of ", want, " multiprocessors");
  p.d = &d;
  p.a_sms = int(group.sm.smCount);
  p.g_sms = int(rest.sm.smCount);
  auto stream_on = [&](CUdevResource& r, CUgreenCtx& ctx) {
    CUdevResourceDesc desc = nullptr;
    check_cu(d.gen_desc(&desc, &r, 1), "cuDevResourceGenerateDesc");
    check_cu(d.green_create(&ctx, desc, 0, CU_GREEN_CTX_DEFAULT_STREAM), "cuGreenCtxCreate");
    CUstream s = nullptr;
    check_cu(d.green_stream(&s, ctx, CU_STREAM_NON_BLOCKING, 0), "cuGreenCtxStreamCreate");
    return static_cast<cudaStream_t>(s);
  };
  p.a = stream_on(group, p.ctx[0]);
  p.g = stream_on(rest, p.ctx[1]);
}

// One layer's FP8 weights (shared by every layer: 218 MB, far past L2 between reuses).
struct Linear {
  bench::LinearShape shape;
  Tensor w, w_scale;  // (n_out, n_in) FP8 codes, (n_out) F32
};

// The GEMM operands of `rows` tokens.
struct Acts {
  int64_t rows = 0;
  Tensor x, x_scale, y_qkv, y_hid, y_gu;
};

// A decode batch of n_seq sequences at `ctx` keys (one new token each) on an FP8 cache, at the
// split count the engine plans there (one a (token, KV head) unit).
bench::Batch make_attn(int n_seq, int ctx) {
  bench::Batch B = bench::make_batch(n_seq, ctx - 1, 1, DType::kF8E4M3);
  B.b.n_split = 1;
  return B;
}

struct Model {
  std::vector<Linear> lin;  // bench::kLinears8B's: qkv, o, gate_up, down
};

Model make_model() {
  Model m;
  uint64_t i = 0;
  for (const bench::LinearShape& l : bench::kLinears8B) {
    m.lin.push_back({l, random_device(DType::kF8E4M3, l.n_out * l.n_in, 100 + i),
                     random_device(DType::kF32, l.n_out, 200 + i)});
    ++i;
  }
  return m;
}

// x is as wide as the widest input (down's), each y as its linear's output.
Acts make_acts(const Model& m, int64_t rows, uint64_t seed) {
  Acts a;
  a.rows = rows;
  a.x = random_device(DType::kF8E4M3, rows * m.lin[3].shape.n_in, seed);
  a.x_scale = random_device(DType::kF32, rows, seed + 1);
  a.y_qkv = Tensor::empty(DType::kF32, {rows * m.lin[0].shape.n_out}, Device::kCuda);
  a.y_hid = random_device(DType::kF32, rows * m.lin[1].shape.n_out, seed + 2);
  a.y_gu = Tensor::empty(DType::kF32, {rows * m.lin[2].shape.n_out}, Device::kCuda);
  return a;
}

void gemm(const Linear& l, Acts& a, float* y, cudaStream_t s) {
  const bench::LinearShape& sh = l.shape;
  const auto r = cu::gemm_fp8_scaled(l.w.data(), a.x.data(), y, a.rows, sh.n_in, sh.n_out,
                                     a.x_scale.data_as<float>(), l.w_scale.data_as<float>(),
                                     sh.accumulate, s);
  QINFER_CHECK(r == cu::GemmResult::kDone, "no FP8 GEMM for ", a.rows, " x ", sh.n_in, " -> ",
               sh.n_out);
}

void qkv(const Model& m, Acts& a, cudaStream_t s) {
  gemm(m.lin[0], a, a.y_qkv.data_as<float>(), s);
}
void attend(bench::Batch& t, cudaStream_t s) {
  cu::attention_decode_tc(t.qkv.data_as<float>(), t.b, kDims, t.kv, t.out.data_as<float>(), s);
}
void rest(const Model& m, Acts& a, cudaStream_t s) {
  gemm(m.lin[1], a, a.y_hid.data_as<float>(), s);
  gemm(m.lin[2], a, a.y_gu.data_as<float>(), s);
  gemm(m.lin[3], a, a.y_hid.data_as<float>(), s);
}
// kLayers of one kind of work on one stream: the attentions, or the GEMM sets.
void attend_layers(bench::Batch& t, cudaStream_t s) {
  for (int l = 0; l < kLayers; ++l) attend(t, s);
}
void gemm_layers(const Model& m, Acts& a, cudaStream_t s) {
  for (int l = 0; l < kLayers; ++l) {
    qkv(m, a, s);
    rest(m, a, s);
  }
}

// Median ms of fn(), which queues work on the streams in `used` after they wait for the start
// event on the backend stream; the backend stream then waits for all of them.
template <typename F>
double time_streams(const std::vector<cudaStream_t>& used, F fn) {
  cudaStream_t base = cu::stream();
  cudaEvent_t start, stop;
  QINFER_CUDA_CHECK(cudaEventCreate(&start));
  QINFER_CUDA_CHECK(cudaEventCreate(&stop));
  std::vector<cudaEvent_t> done(used.size());
  for (auto& e : done) QINFER_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  std::vector<double> ts;
  for (int r = 0; r < kReps + 1; ++r) {
    QINFER_CUDA_CHECK(cudaEventRecord(start, base));
    for (cudaStream_t s : used) QINFER_CUDA_CHECK(cudaStreamWaitEvent(s, start));
    fn();
    for (size_t i = 0; i < used.size(); ++i) {
      QINFER_CUDA_CHECK(cudaEventRecord(done[i], used[i]));
      QINFER_CUDA_CHECK(cudaStreamWaitEvent(base, done[i]));
    }
    QINFER_CUDA_CHECK(cudaEventRecord(stop, base));
    QINFER_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    QINFER_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    if (r > 0) ts.push_back(ms);  // the first is the warm-up (plans, module loads)
  }
  for (auto& e : done) cudaEventDestroy(e);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(ts.begin(), ts.end());
  return ts[ts.size() / 2];
}

// kLayers layers of two halves pipelined: the attention stream `sa` takes each half's
// attention once its qkv is done; the GEMM stream `sg` runs qkv of both halves, then per half
// its o / gate_up / down once its attention is done, followed by its next layer's qkv.
void pipeline(const Model& m, Acts (&a)[2], bench::Batch (&t)[2], cudaStream_t sa, cudaStream_t sg,
              cudaEvent_t (&q_done)[2], cudaEvent_t (&a_done)[2]) {
  for (int l = 0; l < kLayers; ++l)
    for (int h = 0; h < 2; ++h) {
      if (l > 0) {
        QINFER_CUDA_CHECK(cudaStreamWaitEvent(sg, a_done[h]));
        rest(m, a[h], sg);
      }
      qkv(m, a[h], sg);
      QINFER_CUDA_CHECK(cudaEventRecord(q_done[h], sg));
      QINFER_CUDA_CHECK(cudaStreamWaitEvent(sa, q_done[h]));
      attend(t[h], sa);
      QINFER_CUDA_CHECK(cudaEventRecord(a_done[h], sa));
    }
  for (int h = 0; h < 2; ++h) {
    QINFER_CUDA_CHECK(cudaStreamWaitEvent(sg, a_done[h]));
    rest(m, a[h], sg);
  }
}

std::vector<int> parse_list(const std::string& s) {
  std::vector<int> v;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) v.push_back(std::stoi(item));
  return v;
}

int run(const std::string& out_path, int batch, int ctx, const std::vector<int>& splits) {
  QINFER_CHECK(cu::available(), "gpu_overlap: no CUDA device");
  QINFER_CHECK(batch >= 2 && batch % 2 == 0, "--batch must be even, got ", batch);
  const Driver drv = load_driver();
  const double hbm = cu::measure_copy_bandwidth_gbs(size_t(1) << 30);
  const Model m = make_model();
  const int half = batch / 2;
  Acts full = make_acts(m, batch, 1);
  Acts halves[2] = {make_acts(m, half, 11), make_acts(m, half, 21)};
  bench::Batch t_full = make_attn(batch, ctx);
  bench::Batch t_half[2] = {make_attn(half, ctx), make_attn(half, ctx)};
  double layer_flop = 0;
  for (const Linear& l : m.lin) layer_flop += 2.0 * double(l.shape.n_out) * double(l.shape.n_in);
  const double kv_bytes = double(half) * ctx * kHeadKv * kHeadDim * 2;  // a half's FP8 K + V
  cudaEvent_t q_done[2], a_done[2];
  for (int h = 0; h < 2; ++h) {
    QINFER_CUDA_CHECK(cudaEventCreateWithFlags(&q_done[h], cudaEventDisableTiming));
    QINFER_CUDA_CHECK(cudaEventCreateWithFlags(&a_done[h], cudaEventDisableTiming));
  }
  cudaStream_t base = cu::stream();

  Json j;
  j["device"] = cu::gpu_name();
  j["hbm_copy_gbs"] = hbm;
  j["batch"] = batch;
  j["ctx"] = ctx;
  j["layers"] = kLayers;
  std::printf("device %s | HBM copy %.0f GB/s | batch %d x %d keys (FP8 K/V), 8B layers x %d\n",
              cu::gpu_name().c_str(), hbm, batch, ctx, kLayers);

  // The whole GPU, one stream: the engine's order today.
  const double serial = time_streams({}, [&] {
    for (int l = 0; l < kLayers; ++l) {
      qkv(m, full, base);
      attend(t_full, base);
      rest(m, full, base);
    }
  }) / kLayers;
  const double att_full = time_streams({}, [&] { attend_layers(t_full, base); }) / kLayers;
  const double gemm_full = time_streams({}, [&] { gemm_layers(m, full, base); }) / kLayers;
  std::printf("\nwhole GPU, one stream, %d rows: layer %.1f us = attention %.1f us (%.0f GB/s, "
              "%.3f of copy) + GEMMs %.1f us (%.0f TFLOP/s)\n",
              batch, serial * 1e3, att_full * 1e3, 2 * kv_bytes / (att_full * 1e-3) / 1e9,
              2 * kv_bytes / (att_full * 1e-3) / 1e9 / hbm, gemm_full * 1e3,
              layer_flop * batch / (gemm_full * 1e-3) / 1e12);
  j["serial"] = {{"layer_us", serial * 1e3},
                 {"attention_us", att_full * 1e3},
                 {"gemms_us", gemm_full * 1e3}};

  // Two halves on two streams of the whole GPU.
  cudaStream_t sa = nullptr, sg = nullptr;
  QINFER_CUDA_CHECK(cudaStreamCreateWithFlags(&sa, cudaStreamNonBlocking));
  QINFER_CUDA_CHECK(cudaStreamCreateWithFlags(&sg, cudaStreamNonBlocking));
  const double streams = time_streams({sa, sg}, [&] {
    pipeline(m, halves, t_half, sa, sg, q_done, a_done);
  }) / kLayers;
  // No dependencies between the streams: kLayers half attentions beside kLayers half GEMM
  // sets (whether the streams run concurrently at all, and what sharing HBM costs).
  const auto side_by_side = [&](cudaStream_t a, cudaStream_t g) {
    return time_streams({a, g}, [&] {
      attend_layers(t_half[0], a);
      gemm_layers(m, halves[0], g);
    }) / kLayers;
  };
  const double streams_free = side_by_side(sa, sg);
  std::printf("whole GPU, two halves on two streams: layer %.1f us (%.3f of serial); a half's "
              "attentions and GEMM sets side by side, no dependencies: %.1f us a layer\n",
              streams * 1e3, streams / serial, streams_free * 1e3);
  j["streams"] = {{"layer_us", streams * 1e3},
                  {"ratio_to_serial", streams / serial},
                  {"side_by_side_us", streams_free * 1e3}};

  std::printf("\n%6s %6s | %14s %9s %6s | %13s %8s | %11s %6s | %14s %8s\n", "att SM",
              "gemm SM", "half attn us", "KV GB/s", "ratio", "half GEMM us", "TFLOP/s",
              "side by side", "/max", "overlap layer us", "/serial");
  for (int want : splits) {
    Partition p;
    make_partition(drv, want, p);
    const double att = time_streams({p.a}, [&] { attend_layers(t_half[0], p.a); }) / kLayers;
    const double gm = time_streams({p.g}, [&] { gemm_layers(m, halves[0], p.g); }) / kLayers;
    const double ov = time_streams({p.a, p.g}, [&] {
      pipeline(m, halves, t_half, p.a, p.g, q_done, a_done);
    }) / kLayers;
    const double free = side_by_side(p.a, p.g);
    const double gbs = kv_bytes / (att * 1e-3) / 1e9;
    const double tf = layer_flop * half / (gm * 1e-3) / 1e12;
    std::printf("%6d %6d | %14.1f %9.0f %6.3f | %13.1f %8.0f | %11.1f %6.3f | %14.1f %8.3f\n",
                p.a_sms, p.g_sms, att * 1e3, gbs, gbs / hbm, gm * 1e3, tf, free * 1e3,
                free / std::max(att, gm), ov * 1e3, ov / serial);
    j["green"].push_back({{"attention_sms", p.a_sms},
                          {"gemm_sms", p.g_sms},
                          {"half_attention_us", att * 1e3},
                          {"half_attention_kv_gbs", gbs},
                          {"half_attention_ratio_to_copy", gbs / hbm},
                          {"half_gemms_us", gm * 1e3},
                          {"half_gemms_tflops", tf},
                          {"side_by_side_us", free * 1e3},
                          {"overlap_layer_us", ov * 1e3},
                          {"overlap_ratio_to_serial", ov / serial}});
  }
  std::printf("(layer = qkv, attention, o, gate_up, down; element-wise kernels left out)\n");
  cu::synchronize();
  for (cudaStream_t s : {sa, sg}) QINFER_CUDA_CHECK(cudaStreamDestroy(s));
  for (int h = 0; h < 2; ++h) {
    QINFER_CUDA_CHECK(cudaEventDestroy(q_done[h]));
    QINFER_CUDA_CHECK(cudaEventDestroy(a_done[h]));
  }
  if (!out_path.empty()) write_json_file(out_path, j);
  return 0;
}

}  // namespace
}  // namespace qinfer
#endif

int main(int argc, char** argv) {
  std::string out, splits = "64,80,88,96,104,112";
  int batch = 512, ctx = 1500;
  for (int i = 1; i + 1 < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out") out = argv[++i];
    else if (a == "--batch") batch = std::atoi(argv[++i]);
    else if (a == "--ctx") ctx = std::atoi(argv[++i]);
    else if (a == "--splits") splits = argv[++i];
  }
#ifdef QINFER_HAVE_CUDA
  try {
    return qinfer::run(out, batch, ctx, qinfer::parse_list(splits));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpu_overlap: %s\n", e.what());
    return 1;
  }
#else
  (void)batch;
  (void)ctx;
  std::printf("gpu_overlap: built without CUDA; nothing to measure (%s %s)\n", out.c_str(),
              splits.c_str());
  return 0;
#endif
}
