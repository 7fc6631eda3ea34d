// Batch-1 decode: one token's attention and the o projection (FP8 W8A8, static input scale) in
// one kernel (contract: fused_ops.h attention_o).
//
// Why. At batch 1 the step's attention is latency: 7.55 us a layer on the 8B over 128-256 keys
// for well under a microsecond of bytes, during which HBM idles, and the o GEMV then streams its
// 16.8 MB (5.6 us at the copy rate) only after the attention's grid has drained and its own
// prologue has made x (bench/results/gpu_run_s20.cmd q2: 7.55 + 7.21 us a layer). With a static
// per-tensor input scale an FP8 code of o's input depends on its own element only, so o splits
// along its inputs by KV head: block (kvh, slice) owns the G = n_head / n_head_kv heads of KV
// head kvh, which are inputs [kvh G D, (kvh + 1) G D) of o, and a slice of o's output rows. It
// bulk-copies its piece of o's weight (rows x G D bytes) into shared memory before
// griddepcontrol.wait, computes its heads' attention itself (redundantly with the other slices
// of the same KV head: the keys come from L2), quantizes the G D outputs under o's input scale
// into shared memory and multiplies them on the tensor cores against its weight piece. Each
// block stores its rows' partial sums (scaled) to a scratch array; the last block of a slice
// to arrive (a counter a slice) adds the n_head_kv partials in KV-head order, deterministic,
// and the bias, into y. The weight stream thus runs during the attention instead of after it,
// and one kernel boundary (a grid drain and a release, ~1 us, bench/results/gpu_run_s18.cmd)
// and o's prologue go.
//
// Attention (one token, all keys of its sequence, fp32 throughout as attention_decode): keys
// in chunks of 256, one thread a key. Thread k holds its key's K row in registers (loaded
// before griddepcontrol.wait for every key older than the token's own: AttnBatch::past_ready)
// and forms its G scores from Q in shared memory (pre-scaled by scale log2(e), k_scale); the
// chunk's maxima and sums come from warp shuffles and a pass over the warps' values; the V
// rows are staged in shared memory by cp.async (also issued before the wait), and warp w adds
// keys [32 w, 32 w + 32) of the chunk into its lanes' D / 32 dims of each head (online softmax
// across chunks, Milakov & Gimelshein 2018). The warps' sums meet in shared memory in warp
// order, divided by the softmax sum (times v_scale).
//
// Measured (H100, bench/results/gpu_run_s22.cmd q2): correct, and slower than the pair it
// replaces: 8B batch 1 297 against 310 tok/s, 1B 1,242 against 1,400. The fused kernel takes
// 16.5 us a layer against 8.1 + 7.2 (the one-block fp32 attention, repeated by 16 slices, and
// the last-block merge cost more than the overlap saves), and gate_up, which used to fill its
// ring during o, finds no room beside its 220 KB blocks (+3 us). Off by default.
//
// o: rows x G D codes as 16-row tiles x 64-byte k blocks, mma.sync m16n8k32 E4M3 with the
// activation as the MMA's column 0 and gemv_bulk's k permutation (exact), each k block's two
// MMAs from zero added to fp32 accumulators; weight rows `pitch` = 64 (mod 128) bytes apart.
#include <cstdint>

#include "core/env.h"
#include "ops/cuda/attention_device.h"
#include "ops/cuda/bulk_copy.cuh"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/fp8_device.cuh"
#include "ops/cuda/fused_ops.h"
#include "ops/cuda/mma.cuh"
#include "ops/cuda/pdl.cuh"

namespace qinfer::ops::cuda {
namespace {

using attn::Bf16;
using attn::Fp8;

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kChunk = kThreads;     // keys a pass: one a thread for the scores
constexpr int kTileRows = 16;        // MMA M
constexpr int kMaxTilesPerWarp = 4;  // rows a slice <= kWarps kMaxTilesPerWarp 16 = 512
constexpr int kRowPad = 64;
constexpr int kHeaderBytes = 128;  // the weights' mbarrier, the last-block flag

struct AoArgs {
  const float* qkv;  // (1, (n_head + 2 n_head_kv) head_dim), q rotated (the step's QKV)
  AttnBatch b;       // one token: tok_pos, tok_seq, block_tables
  int n_head, n_head_kv;
  float q_scale;  // scale log2(e) (k_scale for FP8): folded into Q
  const void* k;  // (n_block, block_size, n_head_kv, D) of T
  const void* v;
  int block_size;
  float v_scale;     // FP8 cache: out *= v_scale; 1 otherwise
  const uint8_t* w;  // (n_out, n_in) E4M3, n_in = n_head D
  const float* w_scale;
  int w_scale_stride;  // 1: per channel, 0: per tensor
  const float* bias;   // (n_out) or null
  float x_scale;       // o's static input scale
  float* y;            // (1, n_out): y += o(attention)
  float* part;         // (n_head_kv, n_out) the blocks' scaled partial sums
  unsigned* count;     // (n_slices) arrivals; zero between launches
  float* attn_out;     // (1, n_head D) or null: the attention's output (tests)
  int64_t n_out;
  int rows;    // output rows a slice, a multiple of 16
  int pitch;   // bytes between weight rows in shared memory
  int w_late;  // 1: the weight copies start after griddepcontrol.wait
};

// Shared memory: header | Q (G, D) f32 | P (G, kChunk) f32 | warps' maxima and sums (2, kWarps,
// G) | x codes (G D) | V chunk (kChunk, D) of T, later the warps' sums (kWarps, G, D) f32 |
// weights (rows, pitch).
struct Layout {
  int q, p, red, x, v, w, total;
};
__host__ __device__ inline int align128(int x) {
  return (x + 127) / 128 * 128;
}
__host__ __device__ inline Layout layout(int G, int D, int elem, int rows, int pitch) {
  Layout l;
  l.q = kHeaderBytes;
  l.p = l.q + align128(G * D * 4);
  l.red = l.p + align128(G * kChunk * 4);
  l.x = l.red + align128(2 * kWarps * G * 4);
  l.v = l.x + align128(G * D);
  const int vb = kChunk * D * elem, sums = kWarps * G * D * 4;
  l.w = l.v + align128(vb > sums ? vb : sums);
  l.total = l.w + rows * pitch;
  return l;
}

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
using bulk::bulk_load;
using bulk::mbar_expect;
using bulk::mbar_init;
using bulk::mbar_wait;
#endif

// The key's K row (D elements of T) in registers, as 8-element vectors.
template <typename T, int D>
struct KRow {
  attn::Vec8<T> c[D / 8];
  __device__ __forceinline__ void load(const T* row) {
#pragma unroll
    for (int i = 0; i < D / 8; ++i) c[i].load(row + 8 * i);
  }
};

// The V row's D / 32 elements of lane `lane` from shared memory -> floats.
template <typename T, int D>
__device__ __forceinline__ void v_lane(const T* row, int lane, float* f) {
  constexpr int E = D / 32;
#pragma unroll
  for (int e = 0; e < E; e += 2) {
    attn::Vec2<T> v;
    v.load(row + lane * E + e);
    v.to_float(f + e);
  }
}

// cp.async of the D elements of T of a cache row into shared memory, 16 bytes a copy.
template <typename T, int D>
__device__ __forceinline__ void stage_row(T* dst, const T* src) {
  constexpr int kCopies = D * int(sizeof(T)) / 16;
#pragma unroll
  for (int i = 0; i < kCopies; ++i)
    mma::cp_async_16(reinterpret_cast<uint8_t*>(dst) + 16 * i,
                     reinterpret_cast<const uint8_t*>(src) + 16 * i, 16);
}

template <typename T, int D, int G>
__global__ void __launch_bounds__(kThreads, 1) attention_o_kernel(AoArgs a) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  static_assert(D % 64 == 0 && D <= 128 && G >= 1 && G <= 8, "head_dim 64 / 128, group <= 8");
  constexpr int KB = G * D;  // o's inputs a block: the bytes of a weight row's piece
  constexpr int E = D / 32;  // dims a lane in P V
  extern __shared__ __align__(128) uint8_t smem[];
  const Layout L = layout(G, D, int(sizeof(T)), a.rows, a.pitch);
  uint64_t* wbar = reinterpret_cast<uint64_t*>(smem);
  int* last_flag = reinterpret_cast<int*>(smem + 64);
  float* qs = reinterpret_cast<float*>(smem + L.q);      // (G, D)
  float* ps = reinterpret_cast<float*>(smem + L.p);      // (G, kChunk)
  float* rmax = reinterpret_cast<float*>(smem + L.red);  // (kWarps, G)
  float* rsum = rmax + kWarps * G;                       // (kWarps, G)
  uint8_t* xs = smem + L.x;                              // (G D) codes
  T* vs = reinterpret_cast<T*>(smem + L.v);              // (kChunk, D)
  float* osum = reinterpret_cast<float*>(smem + L.v);    // (kWarps, G, D), after the last chunk
  uint8_t* ws = smem + L.w;                              // (rows, pitch)

  const int kvh = blockIdx.x, slice = blockIdx.y;
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  const int nkv = a.n_head_kv;
  const int64_t n_in = int64_t(a.n_head) * D;
  const int64_t r0 = int64_t(slice) * a.rows;

  if (tid == 0) {
    mbar_init(wbar, 1);
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();
  pdl_trigger();
  // The weight piece: every byte is read once a step (evict_first, as gemv_bulk). Issued at
  // the start (AoArgs::w_late 0: while the previous kernel may still stream its own weights)
  // or once the previous kernel is done (1: during the attention only).
  const auto issue_weights = [&] {
    if (warp != 0) return;
    uint64_t policy;
    asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
    if (lane == 0) mbar_expect(wbar, uint32_t(a.rows) * KB);
    __syncwarp();
    const uint8_t* src = a.w + r0 * n_in + int64_t(kvh) * KB;
    for (int r = lane; r < a.rows; r += 32)
      bulk_load(ws + r * a.pitch, src + r * n_in, KB, wbar, policy);
  };
  if (!a.w_late) issue_weights();
  // The epilogue's weight scales (constants) for the rows this thread finishes: lane (g, 0) of
  // warp w finishes rows g and g + 8 of tiles w, w + kWarps, ...
  const int g = lane / 4, c = lane % 4;
  const int n_tiles = a.rows / kTileRows;
  float wsc[kMaxTilesPerWarp][2];
#pragma unroll
  for (int i = 0; i < kMaxTilesPerWarp; ++i) {
    const int tile = warp + kWarps * i;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int64_t row = r0 + tile * kTileRows + g + 8 * h;
      wsc[i][h] = c == 0 && tile < n_tiles && a.w_scale != nullptr
                      ? a.w_scale[row * a.w_scale_stride]
                      : 1.0f;
    }
  }

  // The token's metadata and every key before its own were written before this step
  // (past_ready): read them, the first chunk's K rows and V copies, before the wait.
  const bool ahead = a.b.past_ready;
  if (!ahead) {
    pdl_wait();
    if (a.w_late) issue_weights();
  }
  const int len = a.b.tok_pos[0] + 1;
  const int32_t* table = a.b.block_tables + int64_t(a.b.tok_seq[0]) * a.b.max_blocks;
  const T* kc = static_cast<const T*>(a.k);
  const T* vc = static_cast<const T*>(a.v);
  auto row_of = [&](int pos) { return attn::kv_row(table, pos, a.block_size, nkv, kvh) * D; };
  KRow<T, D> kr;
  {
    const int key = tid;
    if (key < len && (key < len - 1 || !ahead)) {
      const int64_t at = row_of(key);
      kr.load(kc + at);
      stage_row<T, D>(vs + key * D, vc + at);
    }
    mma::cp_async_commit();
  }
  if (ahead) {
    pdl_wait();
    if (a.w_late) issue_weights();
    if (tid == len - 1) {  // the token's own row, written by the previous kernel
      const int64_t at = row_of(tid);
      kr.load(kc + at);
      stage_row<T, D>(vs + tid * D, vc + at);
    }
    mma::cp_async_commit();
  }
  // Q of the G heads, pre-scaled.
  {
    const float* q = a.qkv + int64_t(kvh) * G * D;
    for (int i = tid; i < G * D; i += kThreads) qs[i] = q[i] * a.q_scale;
  }
  __syncthreads();

  float m_run[G], l_run[G], acc[G][E];
#pragma unroll
  for (int j = 0; j < G; ++j) {
    m_run[j] = -INFINITY;
    l_run[j] = 0.0f;
#pragma unroll
    for (int e = 0; e < E; ++e) acc[j][e] = 0.0f;
  }
  for (int c0 = 0; c0 < len; c0 += kChunk) {
    if (c0 > 0) {       // the next chunk's rows (all visible now)
      __syncthreads();  // every warp is done with the previous chunk's V and P
      const int key = c0 + tid;
      if (key < len) {
        const int64_t at = row_of(key);
        kr.load(kc + at);
        stage_row<T, D>(vs + tid * D, vc + at);
      }
      mma::cp_async_commit();
    }
    // Scores of this thread's key: s_j = Σ_d q_j[d] K[d] (already in base 2).
    const bool valid = c0 + tid < len;
    float s[G];
#pragma unroll
    for (int j = 0; j < G; ++j) s[j] = 0.0f;
#pragma unroll
    for (int i = 0; i < D / 8; ++i) {
      float kf[8];
      kr.c[i].to_float(kf);
#pragma unroll
      for (int j = 0; j < G; ++j) s[j] += attn::dot8(qs + j * D + 8 * i, kf);
    }
    // The chunk's maximum a head, then P = 2^(s - m) and its sum.
#pragma unroll
    for (int j = 0; j < G; ++j) {
      if (!valid) s[j] = -INFINITY;
      float m = s[j];
      for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
      if (lane == 0) rmax[warp * G + j] = m;
    }
    __syncthreads();
    float alpha[G];
#pragma unroll
    for (int j = 0; j < G; ++j) {
      float m = m_run[j];
      for (int w = 0; w < kWarps; ++w) m = fmaxf(m, rmax[w * G + j]);
      alpha[j] = attn::exp2_rel(m_run[j], m);  // m is finite: the chunk has a key
      m_run[j] = m;
      const float p = valid ? exp2f(s[j] - m) : 0.0f;
      ps[j * kChunk + tid] = p;
      float t = p;
      for (int o = 16; o > 0; o >>= 1) t += __shfl_xor_sync(0xffffffffu, t, o);
      if (lane == 0) rsum[warp * G + j] = t;
    }
    mma::cp_async_wait<0>();
    __syncthreads();  // P, the sums and every thread's V rows
#pragma unroll
    for (int j = 0; j < G; ++j) {
      float t = 0.0f;
      for (int w = 0; w < kWarps; ++w) t += rsum[w * G + j];
      l_run[j] = l_run[j] * alpha[j] + t;
#pragma unroll
      for (int e = 0; e < E; ++e) acc[j][e] *= alpha[j];
    }
    // P V over the warp's 32 keys of the chunk.
    const int k_end = min(32, len - c0 - 32 * warp);
    for (int kk = 0; kk < k_end; ++kk) {
      const int key = 32 * warp + kk;
      float vf[E];
      v_lane<T, D>(vs + key * D, lane, vf);
#pragma unroll
      for (int j = 0; j < G; ++j) {
        const float p = ps[j * kChunk + key];
#pragma unroll
        for (int e = 0; e < E; ++e) acc[j][e] += p * vf[e];
      }
    }
  }
  __syncthreads();  // V's region becomes the warps' sums
#pragma unroll
  for (int j = 0; j < G; ++j)
#pragma unroll
    for (int e = 0; e < E; ++e) osum[(warp * G + j) * D + lane * E + e] = acc[j][e];
  __syncthreads();
  const Fp8Quant quant(a.x_scale, true);  // to_act's static arithmetic, x * (1 / s)
  for (int i = tid; i < KB; i += kThreads) {
    float o = 0.0f;
    for (int w = 0; w < kWarps; ++w) o += osum[w * KB + i];
    float lj = 0.0f;
#pragma unroll
    for (int j = 0; j < G; ++j)
      if (i / D == j) lj = l_run[j];
    o = o / lj * a.v_scale;
    if (a.attn_out != nullptr && slice == 0) a.attn_out[int64_t(kvh) * KB + i] = o;
    xs[i] = quant(o);
  }
  __syncthreads();

  // o's piece: rows x KB codes against x.
  mbar_wait(wbar, 0);
  float* part = a.part + int64_t(kvh) * a.n_out + r0;
#pragma unroll
  for (int i = 0; i < kMaxTilesPerWarp; ++i) {
    const int tile = warp + kWarps * i;
    if (tile >= n_tiles) break;
    float sum[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    const uint8_t* wt = ws + (tile * kTileRows + g) * a.pitch + 16 * c;
#pragma unroll
    for (int b = 0; b < KB / 64; ++b) {
      const uint4 lo = *reinterpret_cast<const uint4*>(wt + 64 * b);
      const uint4 hi = *reinterpret_cast<const uint4*>(wt + 8 * a.pitch + 64 * b);
      const uint4 xv =
          g == 0 ? *reinterpret_cast<const uint4*>(xs + 64 * b + 16 * c) : make_uint4(0, 0, 0, 0);
      float d[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      mma::mma_e4m3(d, lo.x, hi.x, lo.y, hi.y, xv.x, xv.y);
      mma::mma_e4m3(d, lo.z, hi.z, lo.w, hi.w, xv.z, xv.w);
#pragma unroll
      for (int k = 0; k < 4; ++k) sum[k] += d[k];
    }
    if (c == 0) {  // column 0: the token; rows g and g + 8
      part[tile * kTileRows + g] = sum[0] * a.x_scale * wsc[i][0];
      part[tile * kTileRows + g + 8] = sum[2] * a.x_scale * wsc[i][1];
    }
  }
  // The slice's last block adds the KV heads' partials in order (threadFenceReduction).
  __threadfence();
  __syncthreads();
  if (tid == 0) *last_flag = atomicAdd(a.count + slice, 1u) == unsigned(nkv - 1);
  __syncthreads();
  if (*last_flag == 0) return;
  __threadfence();
  for (int r = tid; r < a.rows; r += kThreads) {
    float v = 0.0f;
    for (int h = 0; h < nkv; ++h) v += __ldcg(a.part + int64_t(h) * a.n_out + r0 + r);
    if (a.bias != nullptr) v += a.bias[r0 + r];
    a.y[r0 + r] += v;
  }
  if (tid == 0) a.count[slice] = 0;
#endif
}

int g_mode = 0;           // set_attention_o
ScratchBuffer g_scratch;  // (kMaxSlices) counters, then (n_head_kv, n_out) partials
constexpr int kMaxSlices = 1024;
constexpr size_t kCounterBytes = kMaxSlices * sizeof(unsigned);
void* g_zeroed = nullptr;  // the scratch whose counters were zeroed

template <typename T, int D, int G>
void launch(const AoArgs& a, dim3 grid, size_t smem, cudaStream_t s) {
  static bool done = false;
  if (!done) {
    QINFER_CUDA_CHECK(cudaFuncSetAttribute(attention_o_kernel<T, D, G>,
                                           cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           int(smem_per_sm() - smem_reserved_per_block())));
    done = true;
  }
  launch_pdl_smem_on(s, attention_o_kernel<T, D, G>, grid, dim3(kThreads), smem, a);
}

template <typename T, int D>
void launch_g(int G, const AoArgs& a, dim3 grid, size_t smem, cudaStream_t s) {
  if (G == 4) return launch<T, D, 4>(a, grid, smem, s);
  launch<T, D, 8>(a, grid, smem, s);
}

}  // namespace

void set_attention_o(int mode) {
  g_mode = mode;
}

int attention_o_max_keys() {
  static const int n = env_int("QINFER_CUDA_ATTN_O_MAX_KEYS", 512);
  return n;
}

bool attention_o(const LinearWeight& w, const float* qkv, const AttnBatch& b, const AttnDims& d,
                 const KvCacheView& kv, float* y, float* attn_out) {
  static const int env_on = env_switch("QINFER_CUDA_ATTN_O", 0);
  // QINFER_CUDA_ATTN_O_W_LATE=1: o's weight copies wait for the previous kernel (AoArgs).
  static const int w_late = env_switch("QINFER_CUDA_ATTN_O_W_LATE", 0);
  const bool on = g_mode == 2 || (g_mode == 0 && env_on != 0);
  const int D = d.head_dim, G = d.n_head_kv > 0 ? d.n_head / d.n_head_kv : 0;
  if (!on || !sm90a_available() || b.n_tok != 1 || b.n_seq != 1 ||
      b.max_q_len > 1 || b.max_seq_len > attention_o_max_keys() ||
      w.weight.dtype() != DType::kF8E4M3 || w.act_quant != ActQuant::kStaticPerTensor ||
      !(w.input_scale > 0.0f) || (D != 64 && D != 128) || (G != 4 && G != 8) ||
      d.n_head != G * d.n_head_kv || w.n_in != int64_t(d.n_head) * D ||
      !(kv.dtype == DType::kBF16 || kv.dtype == DType::kF8E4M3) ||
      reinterpret_cast<uintptr_t>(w.weight.data()) % 16 != 0)
    return false;
  // Slices: as many as fit one wave beside the KV heads, each a multiple of 16 rows.
  const int64_t n_out = w.n_out;
  int slices = 0;
  for (int sl = sm_count() / d.n_head_kv; sl >= 1; --sl)
    if (n_out % (kTileRows * sl) == 0 && n_out / sl <= kWarps * kMaxTilesPerWarp * kTileRows) {
      slices = sl;
      break;
    }
  if (slices == 0) return false;
  const int rows = int(n_out / slices), kb = G * D;
  const int pitch = align128(kb) + kRowPad;
  const int elem = kv.dtype == DType::kF8E4M3 ? 1 : 2;
  const Layout lay = layout(G, D, elem, rows, pitch);
  if (size_t(lay.total) > smem_per_sm() - smem_reserved_per_block()) return false;

  // The counters first, at a fixed place whatever the shape (a launch of another shape must
  // find them zero), then the partials.
  if (slices > kMaxSlices) return false;
  const size_t part_bytes = size_t(d.n_head_kv) * size_t(n_out) * sizeof(float);
  const size_t bytes = kCounterBytes + part_bytes;
  void* scratch = g_scratch.get(bytes);
  cudaStream_t s = stream();
  if (scratch != g_zeroed) {  // a fresh buffer (not inside a capture: the eager step comes first)
    QINFER_CUDA_CHECK(cudaMemsetAsync(scratch, 0, bytes, s));
    g_zeroed = scratch;
  }
  const bool per_channel = w.weight_scale.numel() == w.n_out && w.n_out != 1;
  const float k_scale = kv.dtype == DType::kF8E4M3 ? kv.k_scale : 1.0f;
  AoArgs a{.qkv = qkv,
           .b = b,
           .n_head = d.n_head,
           .n_head_kv = d.n_head_kv,
           .q_scale = d.scale * attn::kLog2e * k_scale,
           .k = kv.k,
           .v = kv.v,
           .block_size = kv.block_size,
           .v_scale = kv.dtype == DType::kF8E4M3 ? kv.v_scale : 1.0f,
           .w = static_cast<const uint8_t*>(w.weight.data()),
           .w_scale = w.weight_scale.defined() ? w.weight_scale.data_as<float>() : nullptr,
           .w_scale_stride = per_channel ? 1 : 0,
           .bias = w.bias.defined() ? w.bias.data_as<float>() : nullptr,
           .x_scale = w.input_scale,
           .y = y,
           .part = reinterpret_cast<float*>(static_cast<uint8_t*>(scratch) + kCounterBytes),
           .count = static_cast<unsigned*>(scratch),
           .attn_out = attn_out,
           .n_out = n_out,
           .rows = rows,
           .pitch = pitch,
           .w_late = w_late};
  const dim3 grid(unsigned(d.n_head_kv), unsigned(slices));
  const size_t smem = size_t(lay.total);
  if (kv.dtype == DType::kF8E4M3) {
    if (D == 64)
      launch_g<Fp8, 64>(G, a, grid, smem, s);
    else
      launch_g<Fp8, 128>(G, a, grid, smem, s);
  } else {
    if (D == 64)
      launch_g<Bf16, 64>(G, a, grid, smem, s);
    else
      launch_g<Bf16, 128>(G, a, grid, smem, s);
  }
  return true;
}

}  // namespace qinfer::ops::cuda
