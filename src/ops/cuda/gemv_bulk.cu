// The decode GEMV for FP8 x FP8 (W8A8) on Hopper: weights streamed by the bulk copy engine into
// a ring of shared-memory stages, multiplied on the tensor cores (mma.sync m16n8k32 E4M3, the
// n <= 8 activation rows as the MMA's N columns).
//
// Why (bench/results/gpu_kernels_h100_s5r2.json): the warp-per-row GEMV of fused.cu reads the
// 8B layer weights at 0.61-0.94 of HBM bandwidth at batch 1 and 0.48-0.71 at batch 2; a ring
// that only copies streams the same bytes at 0.80-0.99, but decoding FP8 and multiplying on
// the CUDA cores (~65 instructions a lane per 16 weights) cannot keep up with it from eight
// consumer warps (measured 0.49-0.80). On the tensor cores a warp spends 5 instructions on
// 16 rows x 64 bytes, so the ring's copy rate is the limit.
//
// Layout. One block per SM owns a contiguous run of output rows (balanced to one row). Its work
// is 16-row tiles, each cut into pieces of `piece` bytes of k; a stage is one piece of one tile,
// loaded by the producer warp as one bulk copy per row into rows `pitch` = 64 (mod 128) bytes
// apart (so the 8 lanes of a quarter warp, reading 16 bytes of rows 2q and 2q + 1, hit 32
// distinct banks), completion counted on the stage's mbarrier. The producer fills the ring
// before griddepcontrol.wait (weights do not depend on the previous kernel: under programmatic
// dependent launch the first stages arrive while the norm, attention or previous GEMV runs).
//
// Consumers: warp w takes the piece's 64-byte k blocks w, w + 8, ...; lane (g, c) = (lane / 4,
// lane % 4) loads 16 bytes of rows g and g + 8 at column 16 c of the block and 16 bytes of
// activation row g (zero for g >= n) from global memory (L1), and runs two MMAs: a k
// permutation inside the block (logical k = 4c + i is physical 16c + i, k = 16 + 4c + i is
// 16c + 4 + i, the next 8 bytes the second MMA) applied to both operands, so exact. Each block's
// two MMAs start from zero and are added to the fp32 accumulators (the tensor core's own FP8
// accumulation never spans more than 64 products). At a tile's end the 8 warps' partial sums
// meet in shared memory and are added in warp order (deterministic):
//   y[t, o] (=, or +=) sum * x_scale[t] * w_scale[o] + bias[o].
#include <algorithm>
#include <cstdint>

#include "core/env.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/linear_cuda.h"
#include "ops/cuda/mma.cuh"
#include "ops/cuda/pdl.cuh"

namespace qinfer::ops::cuda {
namespace {

constexpr int kConsumers = 8;                    // consumer warps
constexpr int kThreads = (kConsumers + 1) * 32;  // + the producer warp
constexpr int kMaxStages = 8;
constexpr int kTileRows = 16;  // MMA M
constexpr int kTokens = 8;     // MMA N: activation rows
constexpr int kRowPad = 64;
constexpr int kBarrierBytes = 2 * kMaxStages * 8;
constexpr int kPartBytes = 2 * kConsumers * kTileRows * kTokens * 4;  // two tiles' partials
constexpr int kHeaderBytes = kBarrierBytes + kPartBytes;             // 128-byte multiple

// Launch options (set_gemv_bulk flags).
constexpr int kCopyOnly = 1;     // consumers only wait for and free stages: the ring's copy rate
constexpr int kSmallPieces = 2;  // 1 KiB pieces instead of 2 KiB

struct BulkParams {
  const uint8_t* w;  // (n_out, n_in) E4M3
  const uint8_t* x;  // (n, n_in) E4M3 codes
  const float* x_scale;
  const float* w_scale;
  int w_scale_stride;
  const float* bias;
  float* y;
  int64_t n, n_in, n_out;
  int accumulate;
  int piece;  // k bytes per stage, a multiple of 64
  int pitch;  // piece rounded up to 128, + kRowPad
  int stages;
  int flags;
};

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
__device__ __forceinline__ void mbar_init(uint64_t* bar, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(mma::smem_addr(bar)), "r"(count));
}
__device__ __forceinline__ void mbar_wait(uint64_t* bar, uint32_t parity) {
  asm volatile(
      "{\n .reg .pred p;\n"
      "WAIT_%=:\n"
      " mbarrier.try_wait.parity.shared::cta.b64 p, [%0], %1;\n"
      " @!p bra WAIT_%=;\n}" ::"r"(mma::smem_addr(bar)),
      "r"(parity)
      : "memory");
}
__device__ __forceinline__ void mbar_arrive(uint64_t* bar) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(mma::smem_addr(bar)) : "memory");
}
__device__ __forceinline__ void mbar_expect(uint64_t* bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(
                   mma::smem_addr(bar)),
               "r"(bytes)
               : "memory");
}
// Bulk copy of `bytes` (a multiple of 16, both addresses 16-byte aligned) global -> shared,
// counted on `bar`. evict_first: each weight byte is read once a step and should not push the
// activations or the KV cache out of L2.
__device__ __forceinline__ void bulk_load(void* dst, const void* src, uint32_t bytes,
                                          uint64_t* bar, uint64_t policy) {
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint"
      " [%0], [%1], %2, [%3], %4;" ::"r"(mma::smem_addr(dst)),
      "l"(src), "r"(bytes), "r"(mma::smem_addr(bar)), "l"(policy)
      : "memory");
}
#endif

__global__ void __launch_bounds__(kThreads, 1) gemv_bulk_kernel(BulkParams p) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  extern __shared__ __align__(128) uint8_t smem[];
  uint64_t* full = reinterpret_cast<uint64_t*>(smem);
  uint64_t* empty = full + kMaxStages;
  float* part = reinterpret_cast<float*>(smem + kBarrierBytes);  // [2][kConsumers][16][kTokens]
  uint8_t* ring = smem + kHeaderBytes;

  const int64_t row_begin = int64_t(blockIdx.x) * p.n_out / gridDim.x;
  const int64_t row_end = int64_t(blockIdx.x + 1) * p.n_out / gridDim.x;
  const int n_tiles = int((row_end - row_begin + kTileRows - 1) / kTileRows);
  const int n_pieces = int((p.n_in + p.piece - 1) / p.piece);
  const int n_stages = n_tiles * n_pieces;
  const int stage_bytes = kTileRows * p.pitch;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;

  if (threadIdx.x == 0) {
    for (int i = 0; i < p.stages; ++i) {
      mbar_init(full + i, 1);
      mbar_init(empty + i, kConsumers);
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();
  pdl_trigger();

  if (warp == kConsumers) {  // producer: one lane issues every copy
    if (lane == 0) {
      uint64_t policy;
      asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
      for (int st = 0; st < n_stages; ++st) {
        const int slot = st % p.stages;
        if (st >= p.stages) mbar_wait(empty + slot, uint32_t((st / p.stages - 1) & 1));
        const int64_t r0 = row_begin + int64_t(st / n_pieces) * kTileRows;
        const int rows = int(min(int64_t(kTileRows), row_end - r0));
        const int64_t k0 = int64_t(st % n_pieces) * p.piece;
        const uint32_t kb = uint32_t(min(int64_t(p.piece), p.n_in - k0));
        mbar_expect(full + slot, uint32_t(rows) * kb);
        uint8_t* dst = ring + slot * stage_bytes;
        const uint8_t* src = p.w + r0 * p.n_in + k0;
        for (int r = 0; r < rows; ++r)
          bulk_load(dst + r * p.pitch, src + r * p.n_in, kb, full + slot, policy);
      }
    }
    return;
  }

  pdl_wait();  // x and its scales come from the previous kernel
  const int g = lane / 4, c = lane % 4;
  const int nt = int(p.n);
  const uint8_t* xrow = p.x + int64_t(g < nt ? g : 0) * p.n_in + 16 * c;
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int st = 0; st < n_stages; ++st) {
    const int slot = st % p.stages;
    const int tile = st / n_pieces, pc = st % n_pieces;
    const int64_t k0 = int64_t(pc) * p.piece;
    const int blocks = int(min(int64_t(p.piece), p.n_in - k0) / 64);
    const uint8_t* base = ring + slot * stage_bytes + 16 * c;
    mbar_wait(full + slot, uint32_t((st / p.stages) & 1));
    if (!(p.flags & kCopyOnly)) {
      for (int b = warp; b < blocks; b += kConsumers) {
        const uint4 lo = *reinterpret_cast<const uint4*>(base + g * p.pitch + 64 * b);
        const uint4 hi = *reinterpret_cast<const uint4*>(base + (g + 8) * p.pitch + 64 * b);
        uint4 xv = make_uint4(0, 0, 0, 0);
        if (g < nt) xv = __ldg(reinterpret_cast<const uint4*>(xrow + k0 + 64 * b));
        float d[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        mma::mma_e4m3(d, lo.x, hi.x, lo.y, hi.y, xv.x, xv.y);
        mma::mma_e4m3(d, lo.z, hi.z, lo.w, hi.w, xv.z, xv.w);
#pragma unroll
        for (int i = 0; i < 4; ++i) acc[i] += d[i];
      }
    }
    __syncwarp();
    if (lane == 0) mbar_arrive(empty + slot);
    if (pc != n_pieces - 1) continue;

    // Tile done: lane (g, c) holds rows g, g + 8 x tokens 2c, 2c + 1.
    float* pt = part + (tile & 1) * kConsumers * kTileRows * kTokens;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      pt[(warp * kTileRows + g) * kTokens + 2 * c + h] = acc[h];
      pt[(warp * kTileRows + g + 8) * kTokens + 2 * c + h] = acc[2 + h];
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) acc[i] = 0.0f;
    asm volatile("bar.sync 1, %0;" ::"n"(kConsumers * 32) : "memory");
    const int i = threadIdx.x;
    if (i < kTileRows * nt) {
      const int row = i / nt, t = i % nt;
      const int64_t o = row_begin + int64_t(tile) * kTileRows + row;
      if (o < row_end) {
        float sum = 0.0f;
#pragma unroll
        for (int w = 0; w < kConsumers; ++w) sum += pt[(w * kTileRows + row) * kTokens + t];
        const float ws = p.w_scale ? p.w_scale[o * p.w_scale_stride] : 1.0f;
        const float v = sum * p.x_scale[t] * ws + (p.bias ? p.bias[o] : 0.0f);
        float* yp = p.y + t * p.n_out + o;
        *yp = p.accumulate ? *yp + v : v;
      }
    }
  }
#endif
}

// 0: QINFER_CUDA_GEMV_BULK (default 1), 1: never, 2: wherever it applies.
int g_mode = 0;
int g_smem_kib = 0;  // 0: QINFER_CUDA_GEMV_BULK_SMEM_KIB (default 160)
int g_flags = -1;    // -1: QINFER_CUDA_GEMV_BULK_FLAGS (default 0)

bool bulk_on() {
  static const bool env = env_switch("QINFER_CUDA_GEMV_BULK", 1) != 0;
  return g_mode == 2 || (g_mode == 0 && env);
}

bool valid_flags(int f) { return (f & ~(kCopyOnly | kSmallPieces)) == 0; }

int flags() {
  static const int env = [] {
    const int f = env_switch("QINFER_CUDA_GEMV_BULK_FLAGS", 0);
    QINFER_CHECK(valid_flags(f), "QINFER_CUDA_GEMV_BULK_FLAGS ", f,
                 " has bits other than 1 (copy only) and 2 (1 KiB pieces)");
    return f;
  }();
  return g_flags >= 0 ? g_flags : env;
}

int64_t smem_budget() {
  static const int env = env_switch("QINFER_CUDA_GEMV_BULK_SMEM_KIB", 160);
  const int kib = g_smem_kib > 0 ? g_smem_kib : env;
  return int64_t(std::clamp(kib, 32, 227)) << 10;
}

// The ring for rows of n_in bytes: piece, pitch, stages (0 when two stages do not fit).
struct Ring {
  int piece, pitch, stages;
};
Ring ring_for(int64_t n_in) {
  const int64_t want = (flags() & kSmallPieces) ? 1024 : 2048;
  const int piece = int(std::min(want, n_in));
  const int pitch = (piece + 127) / 128 * 128 + kRowPad;  // = 64 (mod 128)
  const int64_t stages =
      std::min<int64_t>(kMaxStages, (smem_budget() - kHeaderBytes) / (int64_t(kTileRows) * pitch));
  return Ring{piece, pitch, stages >= 2 ? int(stages) : 0};
}

}  // namespace

void set_gemv_bulk(int mode, int smem_kib, int flags) {
  QINFER_CHECK(mode >= 0 && mode <= 2, "set_gemv_bulk: mode ", mode,
               " is not 0 (QINFER_CUDA_GEMV_BULK), 1 (off) or 2 (on)");
  QINFER_CHECK(smem_kib == 0 || (smem_kib >= 32 && smem_kib <= 227), "set_gemv_bulk: ", smem_kib,
               " KiB of shared memory is outside 32..227");
  QINFER_CHECK(flags == -1 || valid_flags(flags), "set_gemv_bulk: flags ", flags,
               " has bits other than 1 (copy only) and 2 (1 KiB pieces)");
  g_mode = mode;
  g_smem_kib = smem_kib;
  g_flags = flags;
}

bool gemv_bulk_applies(int64_t n, int64_t n_in, int64_t n_out, const void* w) {
  return bulk_on() && compute_capability() >= 90 && n >= 1 && n <= kTokens && n_in > 0 &&
         n_in % 64 == 0 && n_out > 0 && reinterpret_cast<uintptr_t>(w) % 16 == 0 &&
         ring_for(n_in).stages > 0;
}

bool gemv_bulk(const BulkGemvArgs& a, cudaStream_t stream) {
  if (!gemv_bulk_applies(a.n, a.n_in, a.n_out, a.w) ||
      reinterpret_cast<uintptr_t>(a.x) % 16 != 0 || a.x_scale == nullptr)
    return false;
  const Ring r = ring_for(a.n_in);
  const BulkParams p{static_cast<const uint8_t*>(a.w), a.x, a.x_scale, a.w_scale,
                     a.w_scale_stride, a.bias, a.y, a.n, a.n_in, a.n_out, a.accumulate ? 1 : 0,
                     r.piece, r.pitch, r.stages, flags()};
  const size_t smem = size_t(kHeaderBytes) + size_t(r.stages) * kTileRows * size_t(r.pitch);
  static size_t configured = 0;
  if (smem > 48 * 1024 && smem > configured) {
    QINFER_CUDA_CHECK(cudaFuncSetAttribute(
        gemv_bulk_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem_budget())));
    configured = size_t(smem_budget());
  }
  const unsigned grid = unsigned(std::min<int64_t>(sm_count(), a.n_out));
  launch_pdl_smem_on(stream, gemv_bulk_kernel, dim3(grid), dim3(kThreads), smem, p);
  return true;
}

}  // namespace qinfer::ops::cuda
