// Paged prefill attention on tensor cores (contract: attention_cuda.h, attention_prefill).
//
// FlashAttention-2 (Dao 2023) with mma.sync m16n8k16 (BF16 in, FP32 accumulate). A block of
// 4 warps owns a tile of kRows = 128 query rows (64 with MT = 1) of one sequence and one KV
// head. GQA rows are packed (as FlashInfer / TensorRT-LLM do): row r of the sequence's n_new * G
// rows is token r / G, query head kvh * G + r % G, so the G heads that share a KV head share
// each K/V tile and a tile spans kRows / G tokens of the causal diagonal. Each warp owns MT = 2
// MMA tiles of 16 rows (as FlashAttention-2's 128-row blocks of 4 warps), so each K / V
// fragment loaded from shared memory feeds two independent MMAs: S = Q Kᵀ for a tile of kKeys
// keys, the online softmax in fp32 registers (base 2), then O += P V with P reused from the S
// accumulators as the A operand (the C and A fragment layouts match).
//
// Q: F32 qkv rows -> BF16 in shared memory, its fragments read (ldmatrix) at each key tile
// (MT = 1: held in registers for the whole key loop). K / V: paged cache -> BF16 tiles in
// shared memory, double-buffered (with MT = 1 the Q tile is staged in the second buffer before
// the key loop, so three blocks fit a multiprocessor); a BF16 cache is copied with cp.async
// (16 bytes a thread, zero-fill past the last key) while the previous tile computes; an FP8
// cache's codes likewise, into staging buffers, then converted to BF16 by the thread that
// copied them (codes are exact in BF16; k_scale / v_scale fold into the softmax scale / the
// output); an F32 cache is loaded and rounded to BF16 through registers.
// Rows of 16-byte-padded shared memory keep ldmatrix free of bank conflicts.
//
// Causality: key j is visible to a row at position p when j <= p; tiles wholly below every
// row's position skip the mask. A sequence's earlier cached positions (chunked prefill) are
// plain keys. head_dim 64 and 128 run here; other head dims take attention_decode (exact fp32,
// CUDA cores), which is correct for any batch.
//
// Programmatic dependent launch: the kernel waits for the previous kernel before its first
// global access, but does not trigger its dependent early: the grid spans many waves, and a
// launched dependent grid would hold multiprocessor resources while it waits.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "core/env.h"
#include "ops/cuda/attention_device.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/mma.cuh"
#include "ops/cuda/pdl.cuh"

namespace qinfer::ops::cuda {
namespace {

using attn::Bf16;
using attn::Fp8;
using attn::Vec8;

constexpr int kWarps = 4;
// Keys per tile and blocks per multiprocessor, measured on H100 (Llama-3.1-8B dims, 2048
// tokens, BF16 cache; bench/gpu_attention.cc). One MMA tile a warp (64 rows a block): 64 keys
// / 2 blocks (254 registers) 144 TFLOP/s, 64 / 3 (168 registers) 141, 32 / 3 150, 32 / 4 (128
// registers, spills) 149. Two MMA tiles a warp (128 rows a block, the default; session 15,
// bench/results/gpu_run_s15.cmd q7): 32 keys / 2 blocks (254 registers) 176-188 against 139-142
// for 32 / 3 with one, FP8 cache 163-166 against 134-144; 64 keys / 2 blocks (spills) 158-167.
constexpr int kKeys = 32;
constexpr int kMinBlocks = 3;   // one MMA tile a warp
constexpr int kMinBlocks2 = 2;  // two

using attn::PrefillArgs;

using mma::cp_async_16;
using mma::cp_async_commit;
using mma::cp_async_wait;
using mma::fast_exp2;
using mma::ldmatrix_x4;
using mma::ldmatrix_x4_trans;
using mma::mma_bf16;
using mma::pack_bf16;


// Chunk c of a tile of keys [j0, j0 + BN) cut into chunks of W elements a row: its key in the
// tile, its first element, and its element offset in the paged cache (0 and !ok past n_keys).
struct KvChunk {
  int key, e;
  int64_t off;
  bool ok;
};
template <int D, int W>
__device__ __forceinline__ KvChunk kv_chunk(const PrefillArgs& a, const int32_t* table, int kvh,
                                            int j0, int n_keys, int c) {
  constexpr int kChunks = D / W;
  KvChunk k;
  k.key = c / kChunks;
  k.e = (c % kChunks) * W;
  const int j = j0 + k.key;
  k.ok = j < n_keys;
  k.off = k.ok ? attn::kv_row(table, j, a.block_size, a.d.n_head_kv, kvh) * D + k.e : 0;
  return k;
}

// Loads keys [j0, j0 + BN) of K and V into BF16 tiles (BN, LD); keys >= n_keys are zero.
template <typename T, int D, int LD, int BN>
__device__ __forceinline__ void load_kv_tile(const PrefillArgs& a, const int32_t* table, int kvh,
                                             int j0, int n_keys, Bf16* sk, Bf16* sv) {
  const T* kc = static_cast<const T*>(a.k);
  const T* vc = static_cast<const T*>(a.v);
#pragma unroll
  for (int i = 0; i < BN * (D / 8) / (kWarps * 32); ++i) {
    const auto [key, e, off, ok] =
        kv_chunk<D, 8>(a, table, kvh, j0, n_keys, int(threadIdx.x) + i * kWarps * 32);
    Bf16* dk = sk + key * LD + e;
    Bf16* dv = sv + key * LD + e;
    if constexpr (std::is_same_v<T, Bf16>) {
      cp_async_16(dk, kc + off, ok ? 16 : 0);
      cp_async_16(dv, vc + off, ok ? 16 : 0);
    } else {
      Vec8<T> kr, vr;
      if (ok) {
        kr.load(kc + off);
        vr.load(vc + off);
      } else {
        kr.zero();
        vr.zero();
      }
      float f[8];
      kr.to_float(f);
      *reinterpret_cast<uint4*>(dk) = make_uint4(pack_bf16(f[0], f[1]), pack_bf16(f[2], f[3]),
                                                 pack_bf16(f[4], f[5]), pack_bf16(f[6], f[7]));
      vr.to_float(f);
      *reinterpret_cast<uint4*>(dv) = make_uint4(pack_bf16(f[0], f[1]), pack_bf16(f[2], f[3]),
                                                 pack_bf16(f[4], f[5]), pack_bf16(f[6], f[7]));
    }
  }
}

// FP8 caches: keys [j0, j0 + BN) of K and V copied as codes into staging tiles (BN, D) bytes
// with cp.async (16 codes a copy, zero past the last key), so that the copies of the next tile
// fly while this one computes; convert_fp8_tile turns each thread's own chunks into BF16 once
// they have landed. (Loaded through registers and converted at once, as the F32 cache is, each
// tile's load latency was exposed: 1B, 131,072-token prompt, TTFT 7.47 s against 5.68 s with
// a BF16 cache, bench/results/gpu_run_s15.cmd q9.)
template <int D, int BN>
__device__ __forceinline__ void stage_fp8_tile(const PrefillArgs& a, const int32_t* table,
                                               int kvh, int j0, int n_keys, uint8_t* stk,
                                               uint8_t* stv) {
  constexpr int kChunks = D / 16;  // 16-code chunks per row
  const uint8_t* kc = static_cast<const uint8_t*>(a.k);
  const uint8_t* vc = static_cast<const uint8_t*>(a.v);
  static_assert(BN * kChunks % (kWarps * 32) == 0, "whole chunks a thread");
#pragma unroll
  for (int i = 0; i < BN * kChunks / (kWarps * 32); ++i) {
    const auto [key, e, off, ok] =
        kv_chunk<D, 16>(a, table, kvh, j0, n_keys, int(threadIdx.x) + i * kWarps * 32);
    cp_async_16(stk + key * D + e, kc + off, ok ? 16 : 0);
    cp_async_16(stv + key * D + e, vc + off, ok ? 16 : 0);
  }
}

// This thread's chunks of stage_fp8_tile's codes -> the BF16 tiles (BN, LD) (codes are exact
// in BF16).
template <int D, int LD, int BN>
__device__ __forceinline__ void convert_fp8_tile(const uint8_t* stk, const uint8_t* stv, Bf16* sk,
                                                 Bf16* sv) {
  constexpr int kChunks = D / 16;
#pragma unroll
  for (int i = 0; i < BN * kChunks / (kWarps * 32); ++i) {
    const int c = int(threadIdx.x) + i * kWarps * 32;
    const int key = c / kChunks, e = (c % kChunks) * 16;
#pragma unroll
    for (int kv = 0; kv < 2; ++kv) {
      const uint4 w = *reinterpret_cast<const uint4*>((kv ? stv : stk) + key * D + e);
      Bf16* dst = (kv ? sv : sk) + key * LD + e;
      *reinterpret_cast<uint4*>(dst) = attn::fp8x8_to_bf16x8(make_uint2(w.x, w.y));
      *reinterpret_cast<uint4*>(dst + 8) = attn::fp8x8_to_bf16x8(make_uint2(w.z, w.w));
    }
  }
}

// Query rows of a block with MT 16-row MMA tiles a warp.
template <int MT>
constexpr int rows_per_block() {
  return 16 * MT * kWarps;
}
// Shared memory: the two K/V buffers (BN, LD) x 2 each, and with MT > 1 the block's Q tile
// after them (with MT = 1 Q is staged in the second buffer until it sits in registers); for an
// FP8 cache then two staging buffers of codes (BN, D) x 2 each.
template <int D, int BN, int MT>
constexpr size_t prefill_bf16_elems() {
  return size_t(4 * BN + (MT > 1 ? rows_per_block<MT>() : 0)) * (D + 8);
}
template <typename T, int D, int BN, int MT>
constexpr size_t prefill_smem() {
  return prefill_bf16_elems<D, BN, MT>() * sizeof(Bf16) +
         (std::is_same_v<T, Fp8> ? size_t(4 * BN * D) : 0);
}

// BN: keys per tile; MT: 16-row MMA tiles a warp (MT 2: each K / V fragment feeds two MMAs,
// Q's fragments are read from shared memory each tile instead of held in registers); MINB:
// blocks per multiprocessor to fit (caps the registers).
template <typename T, int D, int BN, int MT, int MINB>
__global__ void __launch_bounds__(kWarps * 32, MINB) prefill_kernel(PrefillArgs a) {
  constexpr int LD = D + 8;  // shared row stride (elements): +16 bytes against bank conflicts
  constexpr int kRows = rows_per_block<MT>();
  constexpr bool kQRegs = MT == 1;  // Q's fragments in registers for the whole key loop
  static_assert(!kQRegs || 2 * BN >= kRows, "the Q tile is staged in the second K/V buffer");
  extern __shared__ uint4 smem_raw[];
  // Buffer b: K at base + 2 b BN LD, V right after it, (BN, LD) each.
  Bf16* const base = reinterpret_cast<Bf16*>(smem_raw);
  Bf16* sq = base + (kQRegs ? 2 : 4) * BN * LD;  // (kRows, LD)
  constexpr bool kStaged = std::is_same_v<T, Fp8>;  // codes staged by cp.async, then converted
  uint8_t* const stage = reinterpret_cast<uint8_t*>(base + prefill_bf16_elems<D, BN, MT>());
  pdl_wait();

  attn::PrefillRows pr;  // the block's rows, their positions and keys
  if (!attn::prefill_rows(a.b, a.d, kRows, pr)) return;
  const int n_kt = (pr.n_keys + BN - 1) / BN;
  const int row_w = (a.d.n_head + 2 * a.d.n_head_kv) * D;

  // Tile t's copies into buffer t % 2 (FP8: its staging buffer).
  auto fetch = [&](int t) {
    const int b = t & 1;
    if constexpr (kStaged) {
      uint8_t* st = stage + b * 2 * BN * D;
      stage_fp8_tile<D, BN>(a, pr.table, pr.kvh, t * BN, pr.n_keys, st, st + BN * D);
    } else {
      Bf16* bk = base + b * 2 * BN * LD;
      load_kv_tile<T, D, LD, BN>(a, pr.table, pr.kvh, t * BN, pr.n_keys, bk, bk + BN * LD);
    }
    cp_async_commit();
  };
  fetch(0);

  // Q tile -> BF16 shared memory (rows past the sequence are zero).
  for (int c = threadIdx.x; c < kRows * D / 4; c += kWarps * 32) {
    const int r = c / (D / 4), e = (c % (D / 4)) * 4;
    const int rr = pr.r0 + r;
    float4 x = make_float4(0, 0, 0, 0);
    if (rr < pr.n_rows) {
      const int tok = pr.q_first + rr / pr.group, h = pr.kvh * pr.group + rr % pr.group;
      x = *reinterpret_cast<const float4*>(a.qkv + int64_t(tok) * row_w + h * D + e);
    }
    *reinterpret_cast<uint2*>(sq + r * LD + e) =
        make_uint2(pack_bf16(x.x, x.y), pack_bf16(x.z, x.w));
  }
  __syncthreads();

  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  // The warp's rows: MMA tile mt is rows r0 + (warp MT + mt) 16 .. + 15 of the block.
  const Bf16* sq_warp = sq + (warp * MT * 16 + lane % 16) * LD + (lane / 16) * 8;
  uint32_t qf[kQRegs ? D / 16 : 1][4];
  if constexpr (kQRegs) {
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) ldmatrix_x4(qf[kk], sq_warp + kk * 16);
    __syncthreads();  // the Q staging area becomes K/V buffer 1
  }

  // This thread's rows: fragment rows lane / 4 and lane / 4 + 8 of each of the warp's tiles.
  int pos[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int i = 0; i < 2; ++i)
      pos[mt][i] = pr.n_past +
                   min(pr.r0 + (warp * MT + mt) * 16 + lane / 4 + 8 * i, pr.r_last) / pr.group;

  float o[MT][D / 8][4];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int n = 0; n < D / 8; ++n) o[mt][n][0] = o[mt][n][1] = o[mt][n][2] = o[mt][n][3] = 0.0f;
  float m[MT][2], l[MT][2];
#pragma unroll
  for (int mt = 0; mt < MT; ++mt) m[mt][0] = m[mt][1] = -INFINITY, l[mt][0] = l[mt][1] = 0.0f;

  for (int kt = 0; kt < n_kt; ++kt) {
    const int buf = kt & 1;
    if (kt + 1 < n_kt) {
      fetch(kt + 1);
      cp_async_wait<1>();
    } else {
      cp_async_wait<0>();
    }
    if constexpr (kStaged) {  // this thread's own copies have landed
      const uint8_t* st = stage + buf * 2 * BN * D;
      Bf16* bk = base + buf * 2 * BN * LD;
      convert_fp8_tile<D, LD, BN>(st, st + BN * D, bk, bk + BN * LD);
    }
    __syncthreads();
    const Bf16* tk = base + buf * 2 * BN * LD;
    const Bf16* tv = tk + BN * LD;

    // S = Q Kᵀ: (16 MT rows, BN) per warp.
    float s[MT][BN / 8][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int n = 0; n < BN / 8; ++n) s[mt][n][0] = s[mt][n][1] = s[mt][n][2] = s[mt][n][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < D / 16; kk += 2) {
      uint32_t qs[MT][2][4];  // MT > 1: this k step's Q fragments from shared memory
      if constexpr (!kQRegs) {
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          ldmatrix_x4(qs[mt][0], sq_warp + mt * 16 * LD + kk * 16);
          ldmatrix_x4(qs[mt][1], sq_warp + mt * 16 * LD + (kk + 1) * 16);
        }
      }
#pragma unroll
      for (int n = 0; n < BN / 8; ++n) {
        uint32_t bk[4];
        ldmatrix_x4(bk, tk + (n * 8 + lane % 8) * LD + kk * 16 + (lane / 8) * 8);
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          mma_bf16(s[mt][n], kQRegs ? qf[kk] : qs[mt][0], bk[0], bk[1]);
          mma_bf16(s[mt][n], kQRegs ? qf[kk + 1] : qs[mt][1], bk[2], bk[3]);
        }
      }
    }

    // Causal mask, only where some key of the tile lies past the first row's position.
    const int j0 = kt * BN;
    if (j0 + BN - 1 > pr.pos_first) {
#pragma unroll
      for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int n = 0; n < BN / 8; ++n)
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            const int j = j0 + n * 8 + (lane % 4) * 2 + (e & 1);
            if (j > pos[mt][e / 2]) s[mt][n][e] = -INFINITY;
          }
    }

    // Online softmax in base 2 (row i of the thread: elements 2i, 2i + 1 of each n-tile).
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
      for (int i = 0; i < 2; ++i) {
        float(&sm)[BN / 8][4] = s[mt];
        float mx = -INFINITY;
#pragma unroll
        for (int n = 0; n < BN / 8; ++n) mx = fmaxf(mx, fmaxf(sm[n][2 * i], sm[n][2 * i + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        // Key 0 lies in the first tile for every row, so m is finite from then on.
        const float mn = fmaxf(m[mt][i], mx * a.s_mul);
        const float corr = fast_exp2(m[mt][i] - mn);
        float sum = 0.0f;
#pragma unroll
        for (int n = 0; n < BN / 8; ++n)
#pragma unroll
          for (int e = 2 * i; e < 2 * i + 2; ++e) {
            sm[n][e] = fast_exp2(sm[n][e] * a.s_mul - mn);
            sum += sm[n][e];
          }
        l[mt][i] = l[mt][i] * corr + sum;
        m[mt][i] = mn;
#pragma unroll
        for (int n = 0; n < D / 8; ++n) o[mt][n][2 * i] *= corr, o[mt][n][2 * i + 1] *= corr;
      }

    // O += P V, P from the S accumulators (BF16), V through ldmatrix.trans.
#pragma unroll
    for (int kk = 0; kk < BN / 16; ++kk) {
      uint32_t pa[MT][4];
#pragma unroll
      for (int mt = 0; mt < MT; ++mt) {
        pa[mt][0] = pack_bf16(s[mt][2 * kk][0], s[mt][2 * kk][1]);
        pa[mt][1] = pack_bf16(s[mt][2 * kk][2], s[mt][2 * kk][3]);
        pa[mt][2] = pack_bf16(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
        pa[mt][3] = pack_bf16(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
      }
#pragma unroll
      for (int n = 0; n < D / 16; ++n) {
        uint32_t bv[4];
        ldmatrix_x4_trans(
            bv, tv + (kk * 16 + lane % 8 + ((lane / 8) % 2) * 8) * LD + n * 16 + (lane / 16) * 8);
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
          mma_bf16(o[mt][2 * n], pa[mt], bv[0], bv[1]);
          mma_bf16(o[mt][2 * n + 1], pa[mt], bv[2], bv[3]);
        }
      }
    }
    __syncthreads();  // the next iteration's loads overwrite this buffer's twin
  }

  // out = O / l (l summed over the four threads of the row).
#pragma unroll
  for (int mt = 0; mt < MT; ++mt)
#pragma unroll
    for (int i = 0; i < 2; ++i) {
      float li = l[mt][i];
      li += __shfl_xor_sync(0xffffffffu, li, 1);
      li += __shfl_xor_sync(0xffffffffu, li, 2);
      const int rr = pr.r0 + (warp * MT + mt) * 16 + lane / 4 + 8 * i;
      if (rr >= pr.n_rows) continue;
      const int tok = pr.q_first + rr / pr.group, h = pr.kvh * pr.group + rr % pr.group;
      float* dst = a.out + int64_t(tok) * a.d.n_head * D + h * D + (lane % 4) * 2;
      const float inv = a.v_mul / li;
#pragma unroll
      for (int n = 0; n < D / 8; ++n)
        *reinterpret_cast<float2*>(dst + n * 8) =
            make_float2(o[mt][n][2 * i] * inv, o[mt][n][2 * i + 1] * inv);
    }
}

template <typename T, int D, int BN, int MT, int MINB>
void launch_prefill(const PrefillArgs& a, cudaStream_t s) {
  constexpr size_t smem = prefill_smem<T, D, BN, MT>();
  constexpr int kRows = rows_per_block<MT>();
  static bool attr_set = false;  // one stream, one thread (cuda_common.h)
  if (!attr_set) {
    QINFER_CUDA_CHECK(cudaFuncSetAttribute(prefill_kernel<T, D, BN, MT, MINB>,
                                           cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
    attr_set = true;
  }
  launch_pdl_smem_on(s, prefill_kernel<T, D, BN, MT, MINB>, attn::prefill_grid(a.b, a.d, kRows),
                     dim3(kWarps * 32), smem, a);
}

// The tile shape (set_attention_prefill_tile; -1: QINFER_CUDA_PREFILL_TILE, default 3: the
// warpgroup-MMA kernel where it applies; H100, bench/results/gpu_run_s16.cmd q5: 8B 32,768-token
// prompt TTFT 1,582 ms against 1,728 with tile 1 (FP8 cache), 1,506 against 1,707 (BF16); 1B
// 320.9 against 377.1; 8B 2,048 tokens 36.50 against 37.34).
int g_prefill_tile = -1;

int prefill_tile() {
  static const int env = std::clamp(env_int("QINFER_CUDA_PREFILL_TILE", 3), 0, 3);
  return g_prefill_tile >= 0 ? g_prefill_tile : env;
}

// 128-row tiles at head_dim 64 fit three blocks a multiprocessor in 168 registers: faster where
// the grid spans many waves, slower in a grid of one or two (the partial last wave).
// H100, 1B (bench/results/gpu_run_s15.cmd q16): 32,768-token prompt TTFT 372.9 ms against 424.6
// (BF16 cache; FP8 377.6 against 428.8); 2,048 tokens (512 blocks) 7.76-7.83 against 7.55.
bool three_blocks_pay(const PrefillArgs& a) {
  const dim3 grid = attn::prefill_grid(a.b, a.d, rows_per_block<2>());
  const int64_t blocks = int64_t(grid.x) * grid.z;
  return blocks >= int64_t(4) * 3 * sm_count();  // four waves of three a multiprocessor
}

template <typename T, int D>
void launch_prefill_tile(const PrefillArgs& a, cudaStream_t s) {
  const int t = prefill_tile() == 3 ? 1 : prefill_tile();  // 3 where wgmma does not apply
  if constexpr (D == 64) {
    if (t == 2 || (t == 1 && three_blocks_pay(a))) return launch_prefill<T, D, kKeys, 2, 3>(a, s);
  }
  if (t >= 1)
    launch_prefill<T, D, kKeys, 2, kMinBlocks2>(a, s);
  else
    launch_prefill<T, D, kKeys, 1, kMinBlocks>(a, s);
}

}  // namespace

void attention_prefill(const float* qkv, const AttnBatch& b, const AttnDims& d,
                       const KvCacheView& kv, float* out, cudaStream_t s) {
  attn::check_dims(d, kv, "attention_prefill");
  if (b.n_tok == 0) return;
  if (d.head_dim != 64 && d.head_dim != 128) {
    // No tensor-core tile for this head_dim: the decode kernel handles any batch (fp32).
    return attention_decode(qkv, b, d, kv, out, s);
  }
  QINFER_CHECK(b.max_q_len > 0 && b.n_seq > 0 && b.n_seq <= 65535, "attention_prefill: batch of ",
               b.n_seq, " sequences, max_q_len ", b.max_q_len, " (need 1..65535 sequences)");
  if (prefill_tile() == 3 && attention_prefill_wg(qkv, b, d, kv, out, s)) return;
  PrefillArgs a{};
  attn::fill_launch(a, qkv, b, d, kv, out);
  attn::dispatch_cache(kv.dtype, "attention_prefill", [&](auto tag) {
    using T = decltype(tag);
    if (d.head_dim == 64)
      launch_prefill_tile<T, 64>(a, s);
    else
      launch_prefill_tile<T, 128>(a, s);
  });
}

void set_attention_prefill_tile(int t) {
  QINFER_CHECK(t >= -1 && t <= 3, "set_attention_prefill_tile: ", t,
               " is not -1 (QINFER_CUDA_PREFILL_TILE), 0, 1, 2 or 3");
  g_prefill_tile = t;
}

}  // namespace qinfer::ops::cuda
