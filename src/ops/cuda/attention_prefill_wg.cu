// Paged prefill attention on Hopper's warpgroup MMAs (contract: attention_cuda.h,
// attention_prefill_wg; wgmma.cuh for the instructions and the shared-memory layout).
//
// The same algorithm and row packing as attention_prefill.cu's FlashAttention-2 kernel (GQA
// rows packed, row r of a sequence's n_new * G rows being token r / G and query head kvh * G +
// r % G; online softmax in base 2; causal mask only on tiles that cross a row's position), with
// the products on wgmma instead of mma.sync: a block of two warpgroups owns 128 query rows,
// each warpgroup 64 of them. Per tile of kKeys keys (32 at head_dim 128, 64 at head_dim 64):
//   S = Q Kᵀ   wgmma m64nKk16, Q and K from shared memory (K-major, 128-byte swizzle),
//   softmax    on S's accumulators (fp32, each thread holds two rows' kKeys / 4 values),
//   O += P V   wgmma m64nDk16, P from registers (S's accumulator layout is the A operand's,
//              rounded to BF16, as FlashAttention-3), V from shared memory read N-major
//              (the transpose bit: V's rows are keys, its dims contiguous).
// Operands are BF16 with fp32 accumulation, the arithmetic of the mma.sync kernel: Q rounded to
// BF16, P rounded to BF16, K and V exact (BF16 cache) or exactly converted (FP8 codes; k_scale
// and v_scale fold into the score scale and the output).
//
// Loads: every thread issues cp.async copies of 16 bytes for the K / V tile two ahead (three
// buffers, one block barrier a tile) while this tile computes, into the swizzled layout (a
// BF16 cache) or, for an FP8 cache, into staging buffers of codes that each thread converts to
// BF16 once its own copies have landed (as attention_prefill.cu does); each copy's block-table
// entry is loaded a tile ahead. Generic-proxy writes are published to the MMAs' async proxy
// with fence.proxy.async before the block barrier.
//
// Occupancy: the kernel is latency-bound (Nsight Compute, 8B dims, 2048 tokens, 64-key tiles:
// 8 warps a multiprocessor, 1.5 instructions issued a cycle, 0.5 warps of 2 eligible a
// scheduler, bench/results/ncu_prefill_wg_s16q7.txt), so at head_dim 128 the tiles are 32 keys,
// which fits two blocks a multiprocessor in 123 registers: H100 (gpu_run_s16.cmd q8, same
// run) BF16 / FP8 cache 220.2 / 231.0 TFLOP/s against 201.7 / 209.1 with 64-key tiles, 8B
// 32,768-token TTFT 1,566.7 against 1,591.6 ms. (Each tile's softmax under the previous tile's
// P V, FlashAttention-3's intra-warpgroup overlap, measured no faster: q6.)
//
// sm_90a only (wgmma); elsewhere attention_prefill_wg returns false and the mma.sync kernel runs.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "core/env.h"
#include "ops/cuda/attention_cuda.h"
#include "ops/cuda/attention_device.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/mma.cuh"
#include "ops/cuda/pdl.cuh"
#include "ops/cuda/wgmma.cuh"

namespace qinfer::ops::cuda {
namespace {

using attn::Bf16;
using attn::Fp8;
using attn::PrefillArgs;

constexpr int kRows = 128;  // query rows a block: two warpgroups of 64
constexpr int kThreads = 256;
constexpr int kStages = 3;  // K / V tiles in flight: the copies run two tiles ahead

// Shared memory (from a 1024-byte aligned base): Q (kRows, D), then kStages buffers of K and V
// (kKeys, D) each, all BF16 in the swizzled layout; for an FP8 cache then kStages staging
// buffers of K and V codes (kKeys, D) bytes each, row-major.
template <int D>
constexpr int q_bytes() {
  return kRows * D * 2;
}
template <int D, int BN>
constexpr int tile_bytes() {
  return BN * D * 2;
}
template <typename T, int D, int BN>
constexpr int wg_smem() {
  return 1024 + q_bytes<D>() + 2 * kStages * tile_bytes<D, BN>() +
         (std::is_same_v<T, Fp8> ? 2 * kStages * BN * D : 0);
}
// Blocks a multiprocessor to fit (caps the registers): ~160 registers a thread at head_dim 128
// with 64 keys a tile.
template <int D, int BN>
constexpr int wg_min_blocks() {
  return D == 64 || BN == 32 ? 2 : 1;
}

template <typename T, int D, int BN>
__global__ void __launch_bounds__(kThreads, wg_min_blocks<D, BN>())
    prefill_wg_kernel(PrefillArgs a) {
#ifdef QINFER_WGMMA
  constexpr int kKeys = BN;
  using mma::cp_async_16;
  using mma::fast_exp2;
  using mma::pack_bf16;
  constexpr bool kStaged = std::is_same_v<T, Fp8>;
  constexpr int kChunks = D / 8;                  // 16-byte BF16 chunks a row
  constexpr int kCodeChunks = D / 16;             // 16-byte FP8 chunks a row
  constexpr int kCopyW = kStaged ? kCodeChunks : kChunks;  // chunks a row a copy takes
  constexpr int kCopies = kKeys * kCopyW / kThreads;       // a thread's copies a tile (of K)
  extern __shared__ uint8_t smem_raw[];
  uint8_t* const base = reinterpret_cast<uint8_t*>(
      (reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t(1023));
  uint8_t* const sq = base;
  uint8_t* const skv = base + q_bytes<D>();  // buffer b: K at skv + 2 b tile, V after it
  uint8_t* const stage = skv + 2 * kStages * tile_bytes<D, BN>();
  pdl_wait();

  attn::PrefillRows pr;  // the block's rows, their positions and keys
  if (!attn::prefill_rows(a.b, a.d, kRows, pr)) return;
  const int n_kt = (pr.n_keys + kKeys - 1) / kKeys;
  const int row_w = (a.d.n_head + 2 * a.d.n_head_kv) * D;
  const int tid = threadIdx.x;

  // Block-table entries of this thread's keys in the next tile to copy, loaded one tile ahead
  // of their copies so that no copy waits on the table (the copies are asm with a memory
  // clobber: a table load between two of them would be one L2 round trip each).
  // Block sizes that are powers of two index with shifts (bs_shift >= 0), others divide: a
  // 32-bit division is ~20 instructions, two a copy, in a kernel bound by instruction latency.
  const int bs = a.block_size, bs_shift = a.bs_shift;
  auto blk_of = [&](int j) { return bs_shift >= 0 ? j >> bs_shift : j / bs; };
  auto in_blk = [&](int j) { return bs_shift >= 0 ? j & (bs - 1) : j % bs; };
  int32_t blk[kCopies];
  auto load_blk = [&](int t) {
#pragma unroll
    for (int i = 0; i < kCopies; ++i) {
      const int j = t * kKeys + (tid + i * kThreads) / kCopyW;
      blk[i] = j < pr.n_keys ? pr.table[blk_of(j)] : 0;
    }
  };
  // Tile t's copies into buffer t % kStages (FP8: its staging buffer), then the table entries
  // of tile t + 1. Keys past n_keys are zero-filled; past the last tile the group is empty.
  auto fetch = [&](int t) {
    const int b = t % kStages;
    const uint8_t* kc = static_cast<const uint8_t*>(a.k);
    const uint8_t* vc = static_cast<const uint8_t*>(a.v);
#pragma unroll
    for (int i = 0; i < kCopies; ++i) {
      if (t >= n_kt) break;
      const int c = tid + i * kThreads, key = c / kCopyW, q = c % kCopyW;
      const int j = t * kKeys + key;
      const int64_t row = (int64_t(blk[i]) * bs + in_blk(j)) * a.d.n_head_kv + pr.kvh;
      const int bytes = j < pr.n_keys ? 16 : 0;
      const int64_t off =
          j < pr.n_keys ? (row * D + q * (kStaged ? 16 : 8)) * int64_t(sizeof(T)) : 0;
      if constexpr (kStaged) {
        uint8_t* st = stage + b * 2 * kKeys * D + key * D + q * 16;
        cp_async_16(st, kc + off, bytes);
        cp_async_16(st + kKeys * D, vc + off, bytes);
      } else {
        uint8_t* tk = skv + 2 * b * tile_bytes<D, BN>() + wg::swz128(kKeys, key, q);
        cp_async_16(tk, kc + off, bytes);
        cp_async_16(tk + tile_bytes<D, BN>(), vc + off, bytes);
      }
    }
    mma::cp_async_commit();
    load_blk(t + 1);
  };
  // FP8: this thread's own chunks of buffer b's codes -> BF16 (codes are exact in BF16).
  auto convert = [&](int b) {
    const uint8_t* st = stage + b * 2 * kKeys * D;
    static_assert(kKeys * kCodeChunks % kThreads == 0, "whole chunks a thread");
    uint8_t* tk = skv + 2 * b * tile_bytes<D, BN>();
#pragma unroll
    for (int i = 0; i < kKeys * kCodeChunks / kThreads; ++i) {
      const int c = tid + i * kThreads, key = c / kCodeChunks, e = (c % kCodeChunks) * 16;
#pragma unroll
      for (int kv = 0; kv < 2; ++kv) {
        const uint4 w = *reinterpret_cast<const uint4*>(st + kv * kKeys * D + key * D + e);
        uint8_t* dst = tk + kv * tile_bytes<D, BN>();
        *reinterpret_cast<uint4*>(dst + wg::swz128(kKeys, key, e / 8)) =
            attn::fp8x8_to_bf16x8(make_uint2(w.x, w.y));
        *reinterpret_cast<uint4*>(dst + wg::swz128(kKeys, key, e / 8 + 1)) =
            attn::fp8x8_to_bf16x8(make_uint2(w.z, w.w));
      }
    }
  };
  load_blk(0);
  fetch(0);
  fetch(1);  // an empty group past the last tile keeps the count uniform

  // Q tile -> BF16 shared memory (rows past the sequence are zero).
  for (int c = tid; c < kRows * kChunks; c += kThreads) {
    const int r = c / kChunks, q = c % kChunks;
    const int rr = pr.r0 + r;
    float4 x0 = make_float4(0, 0, 0, 0), x1 = x0;
    if (rr < pr.n_rows) {
      const int tok = pr.q_first + rr / pr.group, h = pr.kvh * pr.group + rr % pr.group;
      const float* src = a.qkv + int64_t(tok) * row_w + h * D + q * 8;
      x0 = *reinterpret_cast<const float4*>(src);
      x1 = *reinterpret_cast<const float4*>(src + 4);
    }
    *reinterpret_cast<uint4*>(sq + wg::swz128(kRows, r, q)) =
        make_uint4(pack_bf16(x0.x, x0.y), pack_bf16(x0.z, x0.w), pack_bf16(x1.x, x1.y),
                   pack_bf16(x1.z, x1.w));
  }

  const int lane = tid % 32, warp = tid / 32, wgi = warp / 4;
  const int g = lane / 4, c4 = lane % 4;
  // This thread's rows (block rows wgi 64 + (warp % 4) 16 + g + 8 i) and their positions.
  int pos[2];
#pragma unroll
  for (int i = 0; i < 2; ++i)
    pos[i] = pr.n_past + min(pr.r0 + wgi * 64 + (warp % 4) * 16 + g + 8 * i, pr.r_last) / pr.group;

  float o[D / 2];
#pragma unroll
  for (int i = 0; i < D / 2; ++i) o[i] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};
  // The warpgroup's Q rows: 64 of the 128 in each panel.
  uint8_t* const sq_wg = sq + wgi * 64 * 128;

  for (int kt = 0; kt < n_kt; ++kt) {
    const int buf = kt % kStages;
    mma::cp_async_wait<1>();  // tile kt landed (tile kt + 1 may still fly)
    if constexpr (kStaged) convert(buf);
    wg::fence_proxy_async();
    __syncthreads();  // every thread's tile kt visible; every warp done with tile kt - 1
    fetch(kt + 2);    // into the buffer tile kt - 1 used (empty past the last tile)
    const uint8_t* tk = skv + 2 * buf * tile_bytes<D, BN>();
    const uint8_t* tv = tk + tile_bytes<D, BN>();

    // S = Q Kᵀ: (64, kKeys) a warpgroup.
    float s[kKeys / 2];
    wg::wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      const int off = (kk % 4) * 32;  // 16 elements along k inside the 128-byte row
      const uint64_t da = wg::desc128(sq_wg + (kk / 4) * kRows * 128 + off, 16, 1024);
      const uint64_t db = wg::desc128(tk + (kk / 4) * kKeys * 128 + off, 16, 1024);
      if constexpr (kKeys == 32)
        wg::wgmma_ss_n32(s, da, db, kk > 0 ? 1 : 0);
      else
        wg::wgmma_ss_n64(s, da, db, kk > 0 ? 1 : 0);
    }
    wg::wgmma_commit();
    wg::wgmma_wait<0>();
    wg::wgmma_fence_regs(s);

    // Causal mask, only where some key of the tile lies past the first row's position.
    const int j0 = kt * kKeys;
    if (j0 + kKeys - 1 > pr.pos_first) {
#pragma unroll
      for (int n = 0; n < kKeys / 8; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          if (j0 + n * 8 + c4 * 2 + (e & 1) > pos[e / 2]) s[4 * n + e] = -INFINITY;
    }

    // Online softmax in base 2 (row i of the thread: elements 4 n + 2 i, 4 n + 2 i + 1).
    float corr[2];
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      float mx = -INFINITY;
#pragma unroll
      for (int n = 0; n < kKeys / 8; ++n)
        mx = fmaxf(mx, fmaxf(s[4 * n + 2 * i], s[4 * n + 2 * i + 1]));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      // Key 0 lies in the first tile for every row, so m is finite from then on.
      const float mn = fmaxf(m[i], mx * a.s_mul);
      corr[i] = fast_exp2(m[i] - mn);
      float sum = 0.0f;
#pragma unroll
      for (int n = 0; n < kKeys / 8; ++n)
#pragma unroll
        for (int e = 2 * i; e < 2 * i + 2; ++e) {
          s[4 * n + e] = fast_exp2(s[4 * n + e] * a.s_mul - mn);
          sum += s[4 * n + e];
        }
      l[i] = l[i] * corr[i] + sum;
      m[i] = mn;
    }
    // O rescaled where a row's maximum moved (corr = 1 elsewhere: skipping the multiply is
    // exact); past the first tiles the maxima rarely move, so most warps skip it.
    if (a.always_rescale || __any_sync(0xffffffffu, corr[0] != 1.0f || corr[1] != 1.0f)) {
#pragma unroll
      for (int n = 0; n < D / 8; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) o[4 * n + e] *= corr[e / 2];
    }

    // O += P V: P (BF16) from the S accumulators as the A operand, 16 keys a step.
    uint32_t pa[kKeys / 16][4];
#pragma unroll
    for (int kk = 0; kk < kKeys / 16; ++kk) {
      pa[kk][0] = pack_bf16(s[8 * kk + 0], s[8 * kk + 1]);
      pa[kk][1] = pack_bf16(s[8 * kk + 2], s[8 * kk + 3]);
      pa[kk][2] = pack_bf16(s[8 * kk + 4], s[8 * kk + 5]);
      pa[kk][3] = pack_bf16(s[8 * kk + 6], s[8 * kk + 7]);
    }
    wg::wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < kKeys / 16; ++kk) {
      // V rows 16 kk .. 16 kk + 15 (two 8-key atoms, 1024 bytes apart); panels of 64 dims
      // kKeys * 128 bytes apart (the leading offset of an N-major operand).
      const uint64_t db = wg::desc128(tv + kk * 16 * 128, kKeys * 128, 1024);
      if constexpr (D == 128)
        wg::wgmma_rs_n128(o, pa[kk], db);
      else
        wg::wgmma_rs_n64(o, pa[kk], db);
    }
    wg::wgmma_commit();
    wg::wgmma_wait<0>();
    wg::wgmma_fence_regs(o);
  }

  // out = O / l (l summed over the four threads of the row).
#pragma unroll
  for (int i = 0; i < 2; ++i) {
    float li = l[i];
    li += __shfl_xor_sync(0xffffffffu, li, 1);
    li += __shfl_xor_sync(0xffffffffu, li, 2);
    const int rr = pr.r0 + wgi * 64 + (warp % 4) * 16 + g + 8 * i;
    if (rr >= pr.n_rows) continue;
    const int tok = pr.q_first + rr / pr.group, h = pr.kvh * pr.group + rr % pr.group;
    float* dst = a.out + int64_t(tok) * a.d.n_head * D + h * D + c4 * 2;
    const float inv = a.v_mul / li;
#pragma unroll
    for (int n = 0; n < D / 8; ++n)
      *reinterpret_cast<float2*>(dst + n * 8) =
          make_float2(o[4 * n + 2 * i] * inv, o[4 * n + 2 * i + 1] * inv);
  }
#endif
}

template <typename T, int D, int BN>
void launch_keys(const PrefillArgs& a, cudaStream_t s) {
  constexpr int smem = wg_smem<T, D, BN>();
  static bool attr_set = false;  // one stream, one thread (cuda_common.h)
  if (!attr_set) {
    QINFER_CUDA_CHECK(cudaFuncSetAttribute(prefill_wg_kernel<T, D, BN>,
                                           cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    attr_set = true;
  }
  launch_pdl_smem_on(s, prefill_wg_kernel<T, D, BN>, attn::prefill_grid(a.b, a.d, kRows),
                     dim3(kThreads), size_t(smem), a);
}

// Keys a tile: 32 at head_dim 128 (two blocks a multiprocessor; QINFER_CUDA_PREFILL_WG_KEYS=64
// for one block of 64-key tiles), 64 at head_dim 64 (two blocks either way).
template <typename T, int D>
void launch_wg(const PrefillArgs& a, cudaStream_t s) {
  static const int keys = env_int("QINFER_CUDA_PREFILL_WG_KEYS", 32);
  if constexpr (D == 128) {
    if (keys != 64) return launch_keys<T, D, 32>(a, s);
  }
  launch_keys<T, D, 64>(a, s);
}

// Hopper (sm_90) with sm_90a code in the build, BF16 or FP8 cache, head_dim 64 or 128.
bool wg_supported(const AttnDims& d, const KvCacheView& kv) {
#ifdef QINFER_HAVE_SM90A
  return compute_capability() == 90 && (d.head_dim == 64 || d.head_dim == 128) &&
         (kv.dtype == DType::kBF16 || kv.dtype == DType::kF8E4M3);
#else
  (void)d;
  (void)kv;
  return false;
#endif
}

}  // namespace

bool attention_prefill_wg(const float* qkv, const AttnBatch& b, const AttnDims& d,
                          const KvCacheView& kv, float* out, cudaStream_t s) {
  if (!wg_supported(d, kv)) return false;
  if (b.n_tok == 0) return true;
  QINFER_CHECK(b.max_q_len > 0 && b.n_seq > 0 && b.n_seq <= 65535,
               "attention_prefill_wg: batch of ", b.n_seq, " sequences, max_q_len ", b.max_q_len,
               " (need 1..65535 sequences)");
  PrefillArgs a{};
  attn::fill_launch(a, qkv, b, d, kv, out);
  static const int always = env_int("QINFER_CUDA_PREFILL_WG_RESCALE", 0);  // 1: every tile
  a.always_rescale = always;
  static const bool divide = env_switch("QINFER_CUDA_PREFILL_WG_DIV", 0) == 1;  // A/B runs
  a.bs_shift = divide ? -1 : attn::block_shift(kv.block_size);
  if (kv.dtype == DType::kF8E4M3) {
    if (d.head_dim == 64)
      launch_wg<Fp8, 64>(a, s);
    else
      launch_wg<Fp8, 128>(a, s);
  } else {
    if (d.head_dim == 64)
      launch_wg<Bf16, 64>(a, s);
    else
      launch_wg<Bf16, 128>(a, s);
  }
  return true;
}

}  // namespace qinfer::ops::cuda
