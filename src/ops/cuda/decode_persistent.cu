// Batch-1 decode: every layer of a step in one persistent kernel (contract: fused_ops.h
// decode_layers_persistent).
//
// Why. At batch 1 a layer is five kernels (QKV GEMV with RoPE, attention, o, gate_up, down) and
// each boundary costs more than its bytes: the next kernel's blocks become resident only as
// the last one's leave their multiprocessors, so its weight stream starts ~1 us late, and HBM
// idles through the attention (H100 traces, bench/results/gpu_run_s20.cmd q2: the 1B's layer
// takes 33.2 us for 20.3 us of weight bytes, the 8B's 89.4 for 72.7). Here one block a
// multiprocessor runs the whole layer stack: its producer warp streams the block's share of
// every weight of every layer, in order, through a ring of shared-memory stages (bulk copies,
// as gemv_bulk), never waiting for activations, so the stream runs on through the phase
// boundaries and the attention; the consumer warps wait only where the data does.
//
// Phases of a layer, each ended by a counter in global memory that every block adds to
// (release: block barrier, fence, atomic; acquire: one thread spins, then a block barrier;
// data written inside the kernel by other blocks is read through L2, ld.cg / bulk copies):
//   qkv      x = fp8(rms_norm(hid) * attn_norm) made by each block in shared memory; the GEMV's
//            RoPE epilogue stores q, k rotated and v to qkv and K / V into the token's cache slot
//            (gemv_bulk's linear_from_f32_rope arithmetic)
//   attention (KV head, split) items on the first blocks: one key a thread for the scores, fp32,
//            online softmax over passes of 64 keys, warp w adds keys w, w + 8, ... into its
//            lanes' 4 dims of each head; each item stores (m, l, acc) per head; the KV head's
//            last item to arrive merges them (fixed split order) and writes o's input codes
//            under o's static scale (to_act's x * (1 / s)); the counter counts merged KV heads
//   o        x = those codes; hid += o(x) (each block owns a fixed run of hid's rows)
//   gate_up  x = fp8(rms_norm(hid) * mlp_norm); the epilogue pairs gate and up tiles and writes
//            the codes of silu(gate) * up under down's static scale (gemv_bulk's silu_pair)
//   down     x = those codes; hid += down(x)
// GEMV tiles are gemv_bulk's: 16 rows x piece bytes a stage, mma.sync m16n8k32 E4M3 with the
// token as column 0 and its k permutation, the warps' sums added in warp order.
// The last block to leave zeroes the counters for the next launch (every other block has
// passed its last wait by then). A wait that outlives 2 s traps (an error, not a hang).
//
// Measured (H100, session 23, bench/results/gpu_run_s23.cmd): correct (the op test against the
// kernels it replaces, layer by layer, and one launch against one launch a layer bit for bit)
// and slower, off by default: batch 1, 1B 1,247-1,252 against 1,385-1,400 tok/s, 8B 284-288
// against 309-311. Phase traces (QINFER_CUDA_PERSIST_TRACE, tools/persist_trace.py) show the
// weight phases at the stream's rate (8B gate_up 39 us for 117 MB, down 20.5 us for 59 MB) and
// the rest of a layer spent in latency: each grid-wide wait 1.6-3 us (fence, atomic, polling,
// then the next prologue's L2 round trips, all under a saturated memory system) and the
// attention ~9 us on the 1B, ~14 us on the 8B from the last QKV block to the merged codes.
// That is more than the ring (~200 KB a multiprocessor, ~9 us of stream) can cover, so HBM
// idles each layer about as long as it did at the five kernel boundaries, and longer.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/env.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/decode_persistent.cuh"
#include "ops/cuda/fused_ops.h"
#include "ops/cuda/pdl.cuh"

namespace qinfer::ops::cuda {
namespace {

using namespace persist;  // the kernel's own types and device functions (decode_persistent.cuh)
using attn::Bf16;
using attn::Fp8;

template <typename T, int kD>
__global__ void __launch_bounds__(kThreads, 1) decode_persistent_kernel(Params p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  extern __shared__ __align__(128) uint8_t smem[];
  uint64_t* full = reinterpret_cast<uint64_t*>(smem);
  uint64_t* empty = full + kMaxStages;
  int* flag = reinterpret_cast<int*>(smem + 2 * kMaxStages * 8);
  float* part = reinterpret_cast<float*>(smem + kPartAt);        // (2, kConsumers, 16)
  float* scratch = reinterpret_cast<float*>(smem + kScratchAt);  // reductions, pairs, softmax
  uint8_t* region = smem + kHeader;                               // x's codes / the attention's
  uint8_t* ring = region + p.region;
  const int warp = threadIdx.x / 32;
  if (threadIdx.x == 0) {
    for (int i = 0; i < p.stages; ++i) {
      mbar_init(full + i, 1);
      mbar_init(empty + i, kConsumers);
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();
  pdl_trigger();
  if (warp == kConsumers) {  // weights do not depend on anything this step computes
    if (threadIdx.x % 32 == 0) produce(p, ring, full, empty);
    return;
  }
  pdl_wait();  // hid, cos / sin and the slot come from the previous kernel
  const int len = p.tok_pos[0] + 1;
  const int32_t* table = p.tables + int64_t(p.tok_seq[0]) * p.max_blocks;
  const int per_layer = kPhaseCounters + p.n_head_kv;
  const unsigned nb = gridDim.x;
  int st = 0;
  for (int l = 0; l < p.n_layer; ++l) {
    const LayerDesc& L = p.layers[l];
    unsigned* cnt = p.count + l * per_layer;
    uint64_t* stamp = p.trace != nullptr ? p.trace + (int64_t(blockIdx.x) * p.n_layer + l) * kStamps
                                         : nullptr;
    const auto mark = [&](int k) {
      if (stamp != nullptr && threadIdx.x == 0) stamp[k] = global_ns();
    };
    const Rows rq = rows_of(p, kQkv), ro = rows_of(p, kO);
    const Rows rg = rows_of(p, kGateUp), rd = rows_of(p, kDown);
    Epi e = load_epi<kQkv>(p, L.op[kQkv], rq, 0);
    if (l > 0) wait_count(cnt - per_layer + kDown, nb);
    mark(0);
    make_x(p.hid, L.attn_norm, p.eps, p.n_in[kQkv], L.op[kQkv].x_scale, region, scratch);
    gemv<kQkv>(p, L, rq, e, ring, full, empty, region, part, scratch, st);
    mark(1);
    signal_count(cnt + kQkv);
    e = load_epi<kO>(p, L.op[kO], ro, 0);
    attention<T, kD>(p, L, cnt, region, scratch, flag, len, table, stamp);
    mark(2);
    wait_count(cnt + 1, unsigned(p.n_head_kv));
    mark(3);
    copy_x(p.xo, p.n_in[kO], region);
    gemv<kO>(p, L, ro, e, ring, full, empty, region, part, scratch, st);
    mark(4);
    signal_count(cnt + kO);
    e = load_epi<kGateUp>(p, L.op[kGateUp], rg, 0);
    wait_count(cnt + kO, nb);
    mark(5);
    make_x(p.hid, L.mlp_norm, p.eps, p.n_in[kGateUp], L.op[kGateUp].x_scale, region, scratch);
    gemv<kGateUp>(p, L, rg, e, ring, full, empty, region, part, scratch, st);
    mark(6);
    signal_count(cnt + kGateUp);
    e = load_epi<kDown>(p, L.op[kDown], rd, 0);
    wait_count(cnt + kGateUp, nb);
    mark(7);
    copy_x(p.hc, p.n_in[kDown], region);
    gemv<kDown>(p, L, rd, e, ring, full, empty, region, part, scratch, st);
    mark(8);
    signal_count(cnt + kDown);
  }
  // The last block out zeroes every counter for the next launch.
  if (threadIdx.x == 0) {
    unsigned* exit = p.count + p.n_layer * per_layer;
    __threadfence();
    if (atomicAdd(exit, 1u) == nb - 1) {
      for (int i = 0; i <= p.n_layer * per_layer; ++i) p.count[i] = 0;
      __threadfence();
    }
  }
#endif
}

int g_mode = 0;  // set_decode_persistent
struct State {
  std::vector<LayerDesc> host;  // the descriptors on the device
  void* layers = nullptr;
  size_t layers_bytes = 0;
  void* scratch = nullptr;  // counters, split records, o's and down's input codes
  size_t scratch_bytes = 0;
  size_t n_count = 0;  // counters of the last launch
  void* trace = nullptr;
  size_t trace_n = 0;  // its stamps
};
State g_state;

// Launches one block a multiprocessor; false (nothing launched) where one block of this size
// would not be resident on each (the blocks wait for one another).
template <typename T, int kD>
bool launch(const Params& p, size_t smem, cudaStream_t s) {
  static bool done = false;
  if (!done) {
    QINFER_CUDA_CHECK(cudaFuncSetAttribute(decode_persistent_kernel<T, kD>,
                                           cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           int(smem_per_sm() - smem_reserved_per_block())));
    done = true;
  }
  int occ = 0;
  QINFER_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
      &occ, decode_persistent_kernel<T, kD>, kThreads, smem));
  if (occ < 1) return false;
  launch_pdl_smem_on(s, decode_persistent_kernel<T, kD>, dim3(unsigned(sm_count())),
                     dim3(kThreads), smem, p);
  return true;
}

bool capturing(cudaStream_t s) {
  cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
  QINFER_CUDA_CHECK(cudaStreamIsCapturing(s, &st));
  return st != cudaStreamCaptureStatusNone;
}

size_t align256(size_t x) { return (x + 255) / 256 * 256; }

OpW op_of(const LinearWeight& w) {
  const bool per_channel = w.weight_scale.numel() == w.n_out && w.n_out != 1;
  OpW o;
  std::memset(&o, 0, sizeof o);
  o.w = static_cast<const uint8_t*>(w.weight.data());
  o.w_scale = w.weight_scale.defined() ? w.weight_scale.data_as<float>() : nullptr;
  o.bias = w.bias.defined() ? w.bias.data_as<float>() : nullptr;
  o.x_scale = w.input_scale;
  o.ws_stride = per_channel ? 1 : 0;
  return o;
}

bool static_fp8(const LinearWeight& w, int64_t n_in, int64_t n_out) {
  return w.weight.dtype() == DType::kF8E4M3 && w.act_quant == ActQuant::kStaticPerTensor &&
         w.input_scale > 0.0f && w.n_in == n_in && w.n_out == n_out && n_in % 64 == 0 &&
         reinterpret_cast<uintptr_t>(w.weight.data()) % 16 == 0;
}

}  // namespace

void set_decode_persistent(int mode) { g_mode = mode; }

int decode_persistent_max_keys() {
  static const int n = env_int("QINFER_CUDA_PERSIST_MAX_KEYS", 4096);
  return n;
}

namespace {

// Whether the switch, the build, the device and the batch allow the kernel at all.
bool wanted(const AttnBatch& b, const AttnDims& d) {
  static const int env_on = env_switch("QINFER_CUDA_PERSIST", 0);
  const bool on = g_mode == 2 || (g_mode == 0 && env_on != 0);
  return on && sm90a_available() && b.n_tok == 1 && b.n_seq == 1 &&
         b.max_q_len <= 1 && b.max_seq_len <= decode_persistent_max_keys() &&
         (d.head_dim == 64 || d.head_dim == 128) && d.n_head_kv > 0 &&
         d.n_head % d.n_head_kv == 0 && d.n_head / d.n_head_kv <= kMaxGroup;
}

// The layers' descriptors, or false where a layer is not the kernel's (shapes, schemes, caches).
bool layer_descs(const std::vector<DecodeLayer>& layers, const AttnDims& d,
                 std::vector<LayerDesc>* out) {
  const DecodeLayer& f = layers.front();
  const int64_t n_embd = f.qkv->n_in, inter = f.down->n_in, D = d.head_dim;
  const int64_t qkv_w = (d.n_head + 2 * d.n_head_kv) * D, attn_w = d.n_head * D;
  const DType cdt = f.kv.dtype;
  if (n_embd > kMaxEmbd || n_embd % 64 != 0 || inter % 64 != 0 ||
      !(cdt == DType::kBF16 || cdt == DType::kF8E4M3))
    return false;
  for (const DecodeLayer& L : layers) {
    if (!static_fp8(*L.qkv, n_embd, qkv_w) || !static_fp8(*L.o, attn_w, n_embd) ||
        !static_fp8(*L.gate_up, n_embd, 2 * inter) || !static_fp8(*L.down, inter, n_embd) ||
        L.kv.dtype != cdt || L.kv.block_size != f.kv.block_size ||
        L.attn_norm->numel() != n_embd || L.mlp_norm->numel() != n_embd)
      return false;
    const bool fp8 = cdt == DType::kF8E4M3;
    LayerDesc ld;
    std::memset(&ld, 0, sizeof ld);  // padding too: the descriptors are compared bytewise
    const LinearWeight* ws[4] = {L.qkv, L.o, L.gate_up, L.down};
    for (int i = 0; i < 4; ++i) ld.op[i] = op_of(*ws[i]);
    ld.attn_norm = L.attn_norm->data_as<float>();
    ld.mlp_norm = L.mlp_norm->data_as<float>();
    ld.k = L.kv.k;
    ld.v = L.kv.v;
    ld.k_scale = fp8 ? L.kv.k_scale : 1.0f;
    ld.v_scale = fp8 ? L.kv.v_scale : 1.0f;
    out->push_back(ld);
  }
  return true;
}

// The descriptors on the device and the scratch (counters, split records, o's and down's
// input codes: `bytes`, the first n_count words zero). False where that would need an upload
// or an allocation inside a graph capture.
bool prepare_state(const std::vector<LayerDesc>& descs, size_t bytes, size_t n_count,
                   cudaStream_t s) {
  const bool cap = capturing(s);
  const size_t lb = descs.size() * sizeof(LayerDesc);
  const bool same = g_state.host.size() == descs.size() &&
                    std::memcmp(g_state.host.data(), descs.data(), lb) == 0;
  // The counters must read zero where this launch has them: a launch of another shape left
  // its split records where this one's counters may lie (zeroed again when the count changes).
  if (cap && (!same || bytes > g_state.scratch_bytes || n_count != g_state.n_count))
    return false;
  if (!same) {
    if (lb > g_state.layers_bytes) {
      if (g_state.layers != nullptr) device_free(g_state.layers, g_state.layers_bytes);
      g_state.layers = device_alloc(lb);
      g_state.layers_bytes = lb;
    }
    QINFER_CUDA_CHECK(cudaMemcpyAsync(g_state.layers, descs.data(), lb, cudaMemcpyHostToDevice, s));
    QINFER_CUDA_CHECK(cudaStreamSynchronize(s));
    g_state.host = descs;
  }
  if (bytes > g_state.scratch_bytes) {
    QINFER_CUDA_CHECK(cudaStreamSynchronize(s));  // no launch still uses the old one
    if (g_state.scratch != nullptr) device_free(g_state.scratch, g_state.scratch_bytes);
    g_state.scratch = device_alloc(bytes);
    g_state.scratch_bytes = bytes;
    QINFER_CUDA_CHECK(cudaMemsetAsync(g_state.scratch, 0, bytes, s));
  }
  if (n_count != g_state.n_count) {
    QINFER_CUDA_CHECK(cudaMemsetAsync(g_state.scratch, 0, n_count * 4, s));
    g_state.n_count = n_count;
  }
  return true;
}

// QINFER_CUDA_PERSIST_TRACE=FILE (eager steps only, QINFER_CUDA_GRAPHS=0): the launch's phase
// stamps, (gridDim.x, n_layer, kStamps) ns, written to FILE (the last launch's remain).
const char* trace_file() {
  static const char* f = std::getenv("QINFER_CUDA_PERSIST_TRACE");
  return f != nullptr && *f != 0 ? f : nullptr;
}
uint64_t* trace_buffer(size_t n, cudaStream_t s) {
  if (n > g_state.trace_n) {
    if (g_state.trace != nullptr) device_free(g_state.trace, g_state.trace_n * 8);
    g_state.trace = device_alloc(n * 8);
    g_state.trace_n = n;
  }
  QINFER_CUDA_CHECK(cudaMemsetAsync(g_state.trace, 0, n * 8, s));
  return static_cast<uint64_t*>(g_state.trace);
}
void write_trace(const uint64_t* dev, size_t n_layer, cudaStream_t s) {
  const size_t n = size_t(sm_count()) * n_layer * kStamps;
  std::vector<uint64_t> h(n);
  QINFER_CUDA_CHECK(cudaMemcpyAsync(h.data(), dev, n * 8, cudaMemcpyDeviceToHost, s));
  QINFER_CUDA_CHECK(cudaStreamSynchronize(s));
  FILE* f = std::fopen(trace_file(), "w");
  if (f == nullptr) return;
  std::fprintf(f, "block,layer,stamps_ns\n");
  for (size_t i = 0; i < n; i += kStamps) {
    std::fprintf(f, "%zu,%zu", i / kStamps / n_layer, i / kStamps % n_layer);
    for (int k = 0; k < kStamps; ++k) std::fprintf(f, ",%llu", (unsigned long long)h[i + k]);
    std::fprintf(f, "\n");
  }
  std::fclose(f);
}

}  // namespace

bool decode_layers_persistent(const std::vector<DecodeLayer>& layers, float* hid, float eps,
                              float* qkv, const float* cos_sin, const int64_t* slot,
                              const AttnBatch& b, const AttnDims& d) {
  std::vector<LayerDesc> descs;
  if (layers.empty() || !wanted(b, d) || !layer_descs(layers, d, &descs)) return false;
  const DecodeLayer& f = layers.front();
  const int64_t n_embd = f.qkv->n_in, inter = f.down->n_in;
  const int D = d.head_dim, G = d.n_head / d.n_head_kv;
  const int64_t qkv_w = int64_t(d.n_head + 2 * d.n_head_kv) * D, attn_w = int64_t(d.n_head) * D;
  const DType cdt = f.kv.dtype;
  // Shared memory: header, x's codes / the attention's arrays, the ring.
  const size_t attn_bytes = size_t(kMaxGroup * kMaxD + kMaxGroup * kKeys + kConsumers * G * D) * 4;
  const size_t x_bytes = size_t(std::max({n_embd, attn_w, inter}));
  const int region = int((std::max(attn_bytes, x_bytes) + 127) / 128 * 128);
  const int piece = kMaxPiece;  // 1 KiB pieces measured slower (1B 1,061 against 1,181, q5)
  const int pitch = piece + kRowPad;
  const size_t avail = smem_per_sm() - smem_reserved_per_block();
  if (avail < size_t(kHeader + region) + 2 * size_t(kTileRows * pitch)) return false;
  const size_t ring_room = avail - size_t(kHeader) - size_t(region);
  const int stages = int(std::min<size_t>(kMaxStages, ring_room / size_t(kTileRows * pitch)));
  const size_t smem = size_t(kHeader + region) + size_t(stages) * kTileRows * pitch;
  // Scratch: counters, split records, o's and down's input codes.
  const int max_splits = std::min(kMaxSplits, sm_count() / d.n_head_kv);
  const size_t n_count = layers.size() * size_t(kPhaseCounters + d.n_head_kv) + 1;
  const size_t part_bytes = size_t(d.n_head_kv) * max_splits * G * (2 + D) * 4;
  const size_t bytes = align256(n_count * 4) + align256(part_bytes) + align256(size_t(attn_w)) +
                       align256(size_t(inter));
  cudaStream_t s = stream();
  if (!prepare_state(descs, bytes, n_count, s)) return false;

  auto* base = static_cast<uint8_t*>(g_state.scratch);
  Params p{};
  p.layers = static_cast<const LayerDesc*>(g_state.layers);
  p.n_layer = int(layers.size());
  const int64_t n_in[4] = {n_embd, attn_w, n_embd, inter};
  const int64_t n_out[4] = {qkv_w, n_embd, 2 * inter, n_embd};
  for (int i = 0; i < 4; ++i) p.n_in[i] = int(n_in[i]), p.n_out[i] = int(n_out[i]);
  p.n_head = d.n_head;
  p.n_head_kv = d.n_head_kv;
  p.group = G;
  p.head_dim = D;
  p.cache_bytes = cdt == DType::kF8E4M3 ? 1 : 2;
  p.block_size = f.kv.block_size;
  p.max_blocks = b.max_blocks;
  p.eps = eps;
  p.q_scale = d.scale * attn::kLog2e;
  p.hid = hid;
  p.qkv = qkv;
  p.count = reinterpret_cast<unsigned*>(base);
  p.part = reinterpret_cast<float*>(base + align256(n_count * 4));
  p.xo = base + align256(n_count * 4) + align256(part_bytes);
  p.hc = p.xo + align256(size_t(attn_w));
  p.cos_sin = cos_sin;
  p.slot = slot;
  p.tok_pos = b.tok_pos;
  p.tok_seq = b.tok_seq;
  p.tables = b.block_tables;
  p.max_splits = max_splits;
  p.piece = piece;
  p.pitch = pitch;
  p.stages = stages;
  p.region = region;
  const bool tracing = trace_file() != nullptr && !capturing(s);
  if (tracing) p.trace = trace_buffer(size_t(sm_count()) * layers.size() * kStamps, s);
  const bool ok = cdt == DType::kF8E4M3
                      ? (D == 64 ? launch<Fp8, 64>(p, smem, s) : launch<Fp8, 128>(p, smem, s))
                      : (D == 64 ? launch<Bf16, 64>(p, smem, s) : launch<Bf16, 128>(p, smem, s));
  if (ok && tracing) write_trace(p.trace, layers.size(), s);
  return ok;
}

}  // namespace qinfer::ops::cuda
