// Paged decode attention on tensor cores (contract: attention_decode_tc.h).
//
// Work: one block of 4 warps per (token, KV head, split), as attention_decode (flash-decoding,
// Dao et al. 2023), or per (token, pair of KV heads, split) (below). The block's keys are cut
// into tiles of 16; warp w takes tiles w, w + 4, w + 8, ... and keeps its own online softmax
// (Milakov & Gimelshein 2018) in registers; the warps merge through shared memory at the end,
// and splits either as one thread-block cluster through distributed shared memory
// (cluster_merge; sm_90, up to kMaxCluster splits) or through a combine kernel. The cluster
// merge took the combine kernel's launch out of the decode step: H100 batch 1, 1B 1,270.8 /
// 1,272.0 / 1,270.8 tok/s against 1,245.0 / 1,244.2 / 1,245.1, 8B 301.7 / 301.7 against 299.3
// / 298.7 (bench/results/gpu_run_s18.cmd q1).
//
// Memory: each warp runs its own cp.async pipeline of kStages tiles (16 KB of shared memory
// per warp, 64 KB per block, 3 blocks per multiprocessor): raw cache bytes, 16 bytes a copy,
// each group of RC lanes copying one whole K or V row (row address from the block table,
// attn::kv_row; with blocks of a multiple of 16 positions the next tile's block id is loaded
// one iteration ahead, other block sizes look each row's up as it is copied). At steady
// state 3 tiles of 4 KB (FP8, head_dim 128) or one to two of 8 KB (BF16) are in flight per
// warp, 96-144 KB per multiprocessor. No block barrier in the key loop: a warp waits for its
// own copies only (cp.async.wait_group + __syncwarp).
//
// Math per tile (mma.sync m16n8k16; lane = 4 g + c, fragment layouts in mma.cuh):
//   S = Q Kᵀ: M = 16 query rows (the G heads of the KV head; rows >= G are zero: the wasted
//     MMA work is free, decode is memory-bound), N = 8 keys, K = 16 head dims. The head dims
//     are permuted so that lane c's four k-indices of every k-step come from one contiguous
//     run of the key row: one 16-byte shared load feeds 4 (FP8) or 2 (BF16) MMAs, FP8 codes
//     go to FP16 with cvt.rn.f16x2.e4m3x2, and Q (loaded once per warp, fp32 -> FP16 / BF16
//     registers) is permuted the same way.
//   Oᵀ += Vᵀ Pᵀ: M = 16 head dims, N = 8 heads, K = 16 keys. The S accumulator row g (head g,
//     keys 2c, 2c+1 and 2c+8, 2c+9) is exactly the B fragment of Pᵀ, so P goes from the
//     accumulators to the MMA without a shuffle, and no output row is wasted (32 accumulator
//     registers at head_dim 128 instead of 64). The A fragment (V rows 2c, 2c+1, 2c+8, 2c+9 at
//     the 16 dims lane g owns) comes from 16-byte loads; __byte_perm interleaves two keys'
//     elements into the pairs the fragment wants (then cvt for FP8). The rescale by
//     exp2(m_old - m_new) moves from S's layout (head g) to Oᵀ's (heads 2c, 2c+1) with two
//     shuffles.
// Shared memory: 128-byte lines of 8 chunks of 16 bytes, chunk XOR-swizzled by line (rows of
// 256 bytes are two 16-row panels of 128-byte lines; rows of 64 bytes pair up in a line), so
// that the copies, the K loads and the V loads are all free of bank conflicts (every 8 lanes
// of a 16-byte access touch 8 distinct chunks). The index maps were checked against the PTX
// fragment layouts by a numpy model of one warp.
//
// Numerics: Q and P rounded to FP16 (FP8 cache) or BF16 (BF16 cache), fp32 accumulation and
// softmax in base 2: s = (Q·K) * scale * log2(e) (* k_scale), out *= v_scale.
//
// Two KV heads a unit (HP = 2: FP8 cache, head_dim 128, group <= 4; attention_decode_tc_heads
// picks it for batches whose pairs fill two waves of resident blocks): the block copies the two
// adjacent 128-byte head rows of a position as one 256-byte row (the BF16 geometry), so a unit
// streams twice the bytes in longer pieces: at batch 256 and 1024-1500 keys 0.87-0.89 of the
// copy rate against 0.83-0.85 (H100). Query rows 0..3 are the first head's, 4..7 the
// second's, and each row's Q is zero at the other head's dims, so S = Q Kᵀ over 256 dims adds
// exact zeros; Oᵀ += Vᵀ Pᵀ runs per head on that head's V dims with the other head's P
// columns zeroed, into the same 32 accumulators. Same bits as one head a unit at the same
// split count (the test checks).
//
// Reading ahead (AttnBatch::past_ready, the model's decode batches): the metadata, the block
// table and every key before the token's own come from before the step, so the block loads
// them and issues the copies of its first S - 1 tiles before griddepcontrol.wait, skipping the
// token's own row (the previous kernel, rope_kv_write, writes it), which it copies after the
// wait as one more copy group that the warp's last iteration waits for. At batch 1 the
// attention then has its keys on chip when rope_kv_write ends (8B 281 -> 286 tok/s, 1B 1120 ->
// 1171, H100, bench/results/gpu_run_s12.cmd r1).
//
// Splits (attention_decode_tc_splits) come from a wave model: with 3 blocks per
// multiprocessor resident, about one block per multiprocessor already saturates HBM (each
// keeps 32-48 KB in flight), so splitting pays only to fill the GPU (small batches) or to
// shorten the last partial wave, against the combine kernel's cost.
#include <algorithm>
#include <climits>
#include <cmath>
#include <type_traits>

#include <cooperative_groups.h>

#include "core/env.h"
#include "ops/cuda/attention_decode_tc.h"
#include "ops/cuda/attention_device.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/fp8_device.cuh"
#include "ops/cuda/mma.cuh"
#include "ops/cuda/pdl.cuh"
#include "ops/cuda/probe.cuh"

namespace qinfer::ops::cuda {
namespace {

namespace cg = cooperative_groups;
using attn::Bf16;
using attn::Fp8;

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kTileKeys = 16;
constexpr int kMaxGroup = 8;
constexpr int kWarpSmem = 16 * 1024;  // one warp's pipeline (and, after the loop, its record)
constexpr int kBlockSmem = kWarps * kWarpSmem;
constexpr int kMinBlocks = 3;  // per multiprocessor: caps registers at 168
// Splits merged in a cluster: up to 8, the portable cluster size. 16 (non-portable) measured
// slower at batch 1 than 8 (H100, 128-384 keys, bench/results/gpu_run_s18.cmd q2: 1B 1,250.6 -
// 1,252.3 tok/s against 1,272.9 - 1,274.8, 8B 299.0 / 299.7 against 302.7 / 302.8).
constexpr int kMaxCluster = 8;
// The push merge's receiving region at most: kMaxCluster records of kMaxGroup rows of 2 + 128.
constexpr int kMaxPushBytes = kMaxCluster * kMaxGroup * (2 + 128) * 4;

struct TcArgs {
  const float* qkv;  // (n_tok, (n_head + 2 n_head_kv) head_dim)
  const void* k;     // (n_block, block_size, n_head_kv, head_dim)
  const void* v;
  float* out;   // (n_tok, n_head head_dim)
  float* part;  // (n_tok, n_head, n_split, 2 + head_dim): m, l, acc[head_dim]
  AttnBatch b;
  AttnDims d;
  int block_size, bs_shift;  // bs_shift = log2(block_size) when a power of two, else -1
  int n_split;
  int kvh_fast;  // grid (n_head_kv, n_tok, n_split) instead of (n_tok, n_head_kv, n_split)
  int cluster;   // the splits of a unit are one cluster and merge there (no combine kernel)
  int push;      // cluster: the blocks push their records to block 0, which merges (push_merge)
  ProbeRing probe;  // block timelines (probe.cuh): start, wait, keys done, warps merged,
                    // cluster barrier passed, end
  uint32_t probe_id;
  float s_mul;  // scale * log2(e) (* k_scale for FP8)
  float v_mul;  // v_scale for FP8, else 1
  AttnCodes codes;  // the output's FP8 codes too, where data is set (attention_decode_tc.h)
  int fast_rows;    // whole-tile copies with one address computation (QINFER_CUDA_ATTN_FAST_ROWS)
};

// Output element (t, head, dd): out, and with a.codes its E4M3 code under the static scale
// (to_act's arithmetic: x * (1 / s), saturated), and the token's scale from one thread.
__device__ __forceinline__ void store_out(const TcArgs& a, int t, int head, int dd, float o) {
  const int64_t i = int64_t(head) * a.d.head_dim + dd;
  a.out[int64_t(t) * a.d.n_head * a.d.head_dim + i] = o;
  if (a.codes.data != nullptr) {
    a.codes.data[int64_t(t) * a.codes.stride + i] = Fp8Quant(a.codes.static_scale, true)(o);
    if (i == 0 && a.codes.scale != nullptr) a.codes.scale[t] = a.codes.static_scale;
  }
}

// Geometry of a cache row of D elements of T in shared memory and in the fragments.
template <typename T, int D>
struct Geo {
  static constexpr int kEsz = int(sizeof(T));
  static constexpr int E = 16 / kEsz;                         // elements per 16-byte chunk
  static constexpr int RB = D * kEsz;                         // bytes per row
  static constexpr int RC = RB / 16;                          // chunks per row
  static constexpr int PD = D < 128 / kEsz ? D : 128 / kEsz;  // dims per 128-byte panel row
  static constexpr int NP = D / PD;                           // panels
  static constexpr int NQ = D / 4 / E;                        // K chunks a lane reads per row
  static constexpr int NCKP = NQ / NP;                        // ... per panel
  static constexpr int EV = PD / 8;                           // V elements a lane reads per panel
  static constexpr int NWV = D / 8 * kEsz / 4;                // V words a lane reads per row
  static constexpr int R = RC / 2;                            // rows a lane copies per tile
  static constexpr int kTileBytes = kTileKeys * RB;           // one K (or V) tile
  static constexpr int kStageBytes = 2 * kTileBytes;
  static constexpr int kStages = kWarpSmem / kStageBytes;
  static_assert(RB == 64 || RB % 128 == 0, "rows of 64 bytes or whole 128-byte lines");
  static_assert(kStages >= 2, "a pipeline needs two stages");
  static_assert((2 * kMaxGroup + kMaxGroup * D) * 4 <= kWarpSmem, "the warp record fits");

  // Row chunk of lane c's qt-th K chunk (qt < NQ): its element e is lane c's K element
  // j = qt E + e, the k-index 2c + {0, 1, 8, 9}[j % 4] of k-step j / 4 (head dim chunk E + e).
  // Lane c reads chunks c NCKP .. c NCKP + NCKP - 1 of every panel.
  __device__ static int k_chunk(int c, int qt) { return (qt / NCKP) * 8 + c * NCKP + qt % NCKP; }
  // Head dim of lane g's j-th V element (j < D / 8): row g of m-tile j (j < D / 16), row g + 8
  // of m-tile j - D / 16 otherwise. Lane g reads EV elements at g EV of every panel.
  __device__ static int v_dim(int g, int j) { return (j / EV) * PD + g * EV + j % EV; }

  // Byte offset of (row, chunk) in a tile of 16 rows (see the file comment).
  __device__ static int swz(int row, int chunk) {
    if constexpr (RB >= 128) {
      return (chunk >> 3) * (kTileKeys * 128) + row * 128 + (((chunk & 7) ^ (row & 7)) << 4);
    } else {
      const int line = row >> 1, lc = ((row & 1) << 2) + chunk;
      return line * 128 + ((lc ^ ((line & 3) << 1)) << 4);
    }
  }
};

using attn::exp2_rel;

// The splits of a unit as one thread-block cluster (TcArgs::cluster, n_split <= kMaxCluster):
// each block has put its record (m, l, acc * v_mul per query row, rows x (2 + D) floats) in
// shared memory; after a cluster barrier block `split` merges outputs [split per, (split + 1)
// per) of the unit's rows x D over the blocks' records, in split order, with the combine
// kernel's arithmetic (the same bits), and writes them; a second barrier keeps every block's
// record alive until the others have read it. The combine kernel's launch and its round trip
// through global memory go away.
__device__ __forceinline__ void cluster_merge(const TcArgs& a, float* blk_rec, int rows, int D,
                                              int t, int head0,
                                              uint64_t (&stamp)[kProbeStamps]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  cg::cluster_group cl = cg::this_cluster();
  cl.sync();
  if (probing(a.probe)) stamp[4] = probe_now();
  const int ns = a.n_split, rank = int(cl.block_rank()), n_out = rows * D, rec = 2 + D;
  const int per = (n_out + ns - 1) / ns, stop = min(n_out, (rank + 1) * per);
  for (int i = rank * per + int(threadIdx.x); i < stop; i += int(blockDim.x)) {
    const int h = i / D, dd = i - h * D;
    const float o = attn::merge_splits<kMaxCluster>(
        ns, dd, [&](int s) { return cl.map_shared_rank(blk_rec, s) + h * rec; });
    store_out(a, t, head0 + h, dd, o);
  }
  cl.sync();
#else
  (void)a, (void)blk_rec, (void)rows, (void)D, (void)t, (void)head0, (void)stamp;
  __trap();  // the host launches clusters only on sm_90 code
#endif
}

// The push merge (TcArgs::push; a cluster whose blocks fit one wave): every block has stored
// its record with remote stores into block 0's receiving region (shared memory past the
// pipelines, one rows x (2 + D) record a split), then arrived on the cluster barrier with
// release semantics; the others exit there, and block 0 alone waits, merges every output of
// the unit from its own shared memory in split order with the combine kernel's arithmetic (the
// same bits) and writes them. One barrier that only block 0 waits on, and no remote loads:
// the pull merge (cluster_merge) measured 1.8 us a layer from its first barrier to its end on
// the H100 1B at batch 1 (probe timelines, bench/results/gpu_run_s18.cmd q8).
__device__ __forceinline__ void push_merge(const TcArgs& a, const float* recv, int rows, int D,
                                           int t, int head0) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("barrier.cluster.arrive.release.aligned;" ::: "memory");
  if (cg::this_cluster().block_rank() != 0) return;
  asm volatile("barrier.cluster.wait.acquire.aligned;" ::: "memory");
  const int ns = a.n_split, n_out = rows * D, rec = 2 + D, split_stride = rows * rec;
  for (int i = int(threadIdx.x); i < n_out; i += int(blockDim.x)) {
    const int h = i / D, dd = i - h * D;
    const float o = attn::merge_splits<kMaxCluster>(
        ns, dd, [&](int s) { return recv + s * split_stride + h * rec; });
    store_out(a, t, head0 + h, dd, o);
  }
#else
  (void)a, (void)recv, (void)rows, (void)D, (void)t, (void)head0;
  __trap();  // the host launches clusters only on sm_90 code
#endif
}

// HP KV heads per unit (1, or 2 for FP8 at head_dim 128: rows of 256 bytes, see the file
// comment): Gm is the geometry of the copied row (HP heads), Gh of one head.
template <typename T, int D, int HP>
__global__ void __launch_bounds__(kThreads, kMinBlocks) decode_tc_kernel(TcArgs a) {
  using Gm = Geo<T, D * HP>;
  using Gh = Geo<T, D>;
  static_assert(HP == 1 || (Gh::RB == 128 && Gm::NP == HP && Gm::NWV == 4 * HP &&
                            Gm::EV == Gh::EV),
                "HP heads: 128-byte head rows, one panel (and four V words a row) each");
  constexpr bool kFp8 = std::is_same_v<T, Fp8>;
  constexpr int S = Gm::kStages;
  extern __shared__ uint4 smem_raw[];
  uint64_t stamp[kProbeStamps] = {probing(a.probe) ? probe_now() : 0};
  pdl_trigger();
  // qkv and the token's own K / V row come from the previous kernel; with past_ready the rest
  // (metadata, block table, older keys) is read before the wait (file comment).
  const bool ahead = a.b.past_ready;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  // The push merge's first barrier phase: "started" (a block may store into another's shared
  // memory only once that one runs; waited for before the first remote store).
  if (a.push) asm volatile("barrier.cluster.arrive.relaxed.aligned;" ::: "memory");
#endif
  if (!ahead) pdl_wait();
  if (!ahead && probing(a.probe)) stamp[1] = probe_now();

  const int t = a.kvh_fast ? blockIdx.y : blockIdx.x;
  const int kvh = int(a.kvh_fast ? blockIdx.x : blockIdx.y) * HP;  // the unit's first KV head
  const int split = blockIdx.z;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, c = lane & 3;
  const int nkv = a.d.n_head_kv, group = a.d.n_head / nkv;
  const int rows = HP * group;  // query rows of the unit: heads kvh group .. + rows - 1
  const int len = a.b.tok_pos[t] + 1;
  const int per = (len + a.n_split - 1) / a.n_split;
  const int span = (per + kTileKeys - 1) / kTileKeys * kTileKeys;
  const int begin = int(min(int64_t(split) * span, int64_t(len)));
  const int end = min(len, begin + span);
  const int n_tiles = (end - begin + kTileKeys - 1) / kTileKeys;
  const int n_it = warp < n_tiles ? (n_tiles - 1 - warp) / kWarps + 1 : 0;
  const int32_t* table = a.b.block_tables + int64_t(a.b.tok_seq[t]) * a.b.max_blocks;

  // The warp's pipeline: stage s at wsm + s kStageBytes, K tile then V tile.
  char* const wsm = reinterpret_cast<char*>(smem_raw) + warp * kWarpSmem;
  const char* const kc = static_cast<const char*>(a.k);
  const char* const vc = static_cast<const char*>(a.v);
  const int64_t slot_bytes = int64_t(nkv) * Gh::RB;
  const int64_t head_bytes = int64_t(kvh) * Gh::RB;
  // This lane copies chunk cp_chunk of rows rr * (32 / RC) + cp_row (rr < R) of every tile.
  const int cp_row = lane / Gm::RC, cp_chunk = lane % Gm::RC;
  const int bs = a.block_size, bs_shift = a.bs_shift;
  const auto tile_key = [&](int i) { return begin + (warp + i * kWarps) * kTileKeys; };
  const auto block_of = [&](int j) {
    return __ldg(table + (bs_shift >= 0 ? j >> bs_shift : j / bs));
  };
  // Blocks of a multiple of 16 positions hold whole tiles (tiles start at multiples of 16):
  // the next tile's block id is loaded an iteration ahead. Other block sizes look each row's
  // up as it is copied.
  const bool whole_tiles = bs % kTileKeys == 0;
  int blk = 0;
  const auto load_blocks = [&](int i) {
    if (whole_tiles && i < n_it) blk = block_of(tile_key(i));
  };
  // Whole tiles of blocks of a power of two (the engine's 16): a tile's rows are one run of
  // slots in one block, so a full tile's copies need one address computation, and each row
  // after it one 64-bit add. The general path below computed every row's block, slot and
  // bounds, ~30 instructions a row: at the offline shape it made the warps' instruction streams
  // (960 a tile, H100 Nsight Compute, bench/results/gpu_run_s32.cmd q1), not HBM, the limit.
  const bool fast_rows = a.fast_rows && whole_tiles && bs_shift >= 0;
  const int64_t lane_off = int64_t(cp_row) * slot_bytes + head_bytes + cp_chunk * 16;
  const int64_t row_step = int64_t(32 / Gm::RC) * slot_bytes;
  // skip: key index not to copy (the token's own, before the wait), else -1.
  const auto issue = [&](int i, int skip) {
    char* const sk = wsm + (i % S) * Gm::kStageBytes;
    if (i < n_it && fast_rows && skip < 0 && tile_key(i) + kTileKeys <= end) {
      const int64_t tile_off =
          ((int64_t(blk) << bs_shift) + (tile_key(i) & (bs - 1))) * slot_bytes + lane_off;
      const char* kp = kc + tile_off;
      const char* vp = vc + tile_off;
#pragma unroll
      for (int rr = 0; rr < Gm::R; ++rr) {
        const int dst = Gm::swz(rr * (32 / Gm::RC) + cp_row, cp_chunk);
        mma::cp_async_16(sk + dst, kp, 16);
        mma::cp_async_16(sk + Gm::kTileBytes + dst, vp, 16);
        kp += row_step, vp += row_step;
      }
    } else if (i < n_it) {
#pragma unroll
      for (int rr = 0; rr < Gm::R; ++rr) {
        const int row = rr * (32 / Gm::RC) + cp_row;
        const int j = tile_key(i) + row;
        if (j == skip) continue;
        const bool ok = j < end;
        int64_t off = 0;  // rows past the end: zero-filled from a valid address
        if (ok) {
          const int in_blk = bs_shift >= 0 ? (j & (bs - 1)) : j % bs;
          const int b = whole_tiles ? blk : block_of(j);
          off = (int64_t(b) * bs + in_blk) * slot_bytes + head_bytes + cp_chunk * 16;
        }
        const int dst = Gm::swz(row, cp_chunk);
        mma::cp_async_16(sk + dst, kc + off, ok ? 16 : 0);
        mma::cp_async_16(sk + Gm::kTileBytes + dst, vc + off, ok ? 16 : 0);
      }
    }
    mma::cp_async_commit();  // empty groups keep the count uniform
  };

  float o[D / 16][4];  // Oᵀ: rows head dims v_dim(g, ...), columns heads 2c, 2c + 1
#pragma unroll
  for (int mt = 0; mt < D / 16; ++mt) o[mt][0] = o[mt][1] = o[mt][2] = o[mt][3] = 0.0f;
  float m = -INFINITY, l = 0.0f;  // head g: running max (base 2) and this lane's share of the sum

  load_blocks(0);
  // Ahead of the wait every prologue tile but the token's own row (key len - 1, written by the
  // previous kernel); after it that row alone, as one more copy group, which the loop's last
  // iteration (the own tile is the warp's last) waits for with everything else.
  const int own_i = n_it - 1;  // the warp's last tile holds key len - 1 when end == len
  const bool own_early = ahead && end == len && n_it > 0 && own_i < S - 1 &&
                         tile_key(own_i) + kTileKeys > len - 1;
  const int own_blk = own_early ? block_of(len - 1) : 0;
#pragma unroll
  for (int s = 0; s < S - 1; ++s) {
    issue(s, ahead ? len - 1 : -1);
    load_blocks(s + 1);
  }
  if (ahead) {
    pdl_wait();
    if (probing(a.probe)) stamp[1] = probe_now();
    if (own_early) {
      const int row = len - 1 - tile_key(own_i);
      char* const sk = wsm + (own_i % S) * Gm::kStageBytes;
#pragma unroll
      for (int rr = 0; rr < Gm::R; ++rr) {
        if (rr * (32 / Gm::RC) + cp_row != row) continue;
        const int j = len - 1;
        const int in_blk = bs_shift >= 0 ? (j & (bs - 1)) : j % bs;
        const int64_t off =
            (int64_t(own_blk) * bs + in_blk) * slot_bytes + head_bytes + cp_chunk * 16;
        const int dst = Gm::swz(row, cp_chunk);
        mma::cp_async_16(sk + dst, kc + off, 16);
        mma::cp_async_16(sk + Gm::kTileBytes + dst, vc + off, 16);
      }
      mma::cp_async_commit();
    }
  }
  // Q fragments, loaded while the first tiles are in flight (rows g < group; a1 = a3 = 0): k-step
  // kk takes lane c's elements 4 kk .. 4 kk + 3.
  // With HP heads a row g holds its own head's dims (panel my_p of the copied row) and zeros
  // at the others' (their products add exact zeros: the same sums as one head a unit); qa
  // keeps one head's k-steps, selected per panel in the loop.
  uint32_t qa[D / 16][2];
  const int qg = min(g, rows - 1), my_p = qg / group;
  {
    const float* q =
        a.qkv + int64_t(t) * (a.d.n_head + 2 * nkv) * D + int64_t(kvh * group + qg) * D;
#pragma unroll
    for (int qt = 0; qt < Gh::NQ; ++qt)
#pragma unroll
      for (int f = 0; f < Gh::E / 4; ++f) {
        float4 x = make_float4(0, 0, 0, 0);
        if (g < rows) x = *reinterpret_cast<const float4*>(q + Gh::k_chunk(c, qt) * Gh::E + 4 * f);
        const int kk = qt * (Gh::E / 4) + f;
        qa[kk][0] = kFp8 ? mma::pack_f16(x.x, x.y) : mma::pack_bf16(x.x, x.y);
        qa[kk][1] = kFp8 ? mma::pack_f16(x.z, x.w) : mma::pack_bf16(x.z, x.w);
      }
  }

  for (int i = 0; i < n_it; ++i) {
    issue(i + S - 1, -1);  // into the buffer computed on in iteration i - 1
    load_blocks(i + S);
    if (i == n_it - 1)
      mma::cp_async_wait<0>();  // only empty groups follow (and the own row's, see above)
    else
      mma::cp_async_wait<S - 1>();
    __syncwarp();
    const char* const sk = wsm + (i % S) * Gm::kStageBytes;
    const char* const sv = sk + Gm::kTileBytes;

    // S = Q Kᵀ for keys 8 nt .. 8 nt + 7: this lane supplies key row g + 8 nt.
    float s[2][4];
#pragma unroll
    for (int nt = 0; nt < 2; ++nt) {
      s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
      const int row = g + 8 * nt;
#pragma unroll
      for (int qt = 0; qt < Gm::NQ; ++qt) {
        const uint4 w = *reinterpret_cast<const uint4*>(sk + Gm::swz(row, Gm::k_chunk(c, qt)));
        if constexpr (kFp8) {
          const uint32_t wv[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
          for (int wi = 0; wi < 4; ++wi) {
            // HP > 1: chunk qt lies in panel qt / NCKP (head-local k-step kl).
            const int kk = HP == 1 ? qt * 4 + wi : (qt % Gm::NCKP) * 4 + wi;
            const bool on = HP == 1 || qt / Gm::NCKP == my_p;
            uint32_t b0, b1;
            mma::fp8x4_to_f16x4(wv[wi], b0, b1);
            const uint32_t af[4] = {on ? qa[kk][0] : 0u, 0u, on ? qa[kk][1] : 0u, 0u};
            mma::mma_f16(s[nt], af, b0, b1);
          }
        } else {
          const uint32_t a0[4] = {qa[2 * qt][0], 0u, qa[2 * qt][1], 0u};
          const uint32_t a1[4] = {qa[2 * qt + 1][0], 0u, qa[2 * qt + 1][1], 0u};
          mma::mma_bf16(s[nt], a0, w.x, w.y);
          mma::mma_bf16(s[nt], a1, w.z, w.w);
        }
      }
    }

    // Online softmax of head g over keys 2c, 2c + 1, 2c + 8, 2c + 9 (key 0 of a tile is always
    // valid, so the quad's max and m_new are finite).
    const int n_valid = end - tile_key(i);
    float x[4];
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      const int key = 8 * (e >> 1) + 2 * c + (e & 1);
      x[e] = key < n_valid ? s[e >> 1][e & 1] * a.s_mul : -INFINITY;
    }
    float mx = fmaxf(fmaxf(x[0], x[1]), fmaxf(x[2], x[3]));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    const float m_new = fmaxf(m, mx);
    const float corr = mma::fast_exp2(m - m_new);  // 0 on the first tile (m = -inf)
    uint32_t pb[2];  // Pᵀ's B fragment: keys 2c, 2c + 1 | 2c + 8, 2c + 9 of head g
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const float p0 = mma::fast_exp2(x[2 * h] - m_new), p1 = mma::fast_exp2(x[2 * h + 1] - m_new);
      pb[h] = kFp8 ? mma::pack_f16(p0, p1) : mma::pack_bf16(p0, p1);
    }
    l = l * corr + (kFp8 ? mma::sum_f16x2(pb[0]) + mma::sum_f16x2(pb[1])
                         : mma::sum_bf16x2(pb[0]) + mma::sum_bf16x2(pb[1]));
    m = m_new;
    const float corr_lo = __shfl_sync(0xffffffffu, corr, 8 * c);      // head 2c
    const float corr_hi = __shfl_sync(0xffffffffu, corr, 8 * c + 4);  // head 2c + 1
#pragma unroll
    for (int mt = 0; mt < D / 16; ++mt) {
      o[mt][0] *= corr_lo, o[mt][1] *= corr_hi, o[mt][2] *= corr_lo, o[mt][3] *= corr_hi;
    }

    if constexpr (HP > 1) {
      // Per head p (panel p of the row): Vᵀ of its dims against Pᵀ with the other heads'
      // columns zeroed (lane g supplies column g), into the same accumulators: columns of
      // head p collect its own V only.
#pragma unroll 1
      for (int p = 0; p < HP; ++p) {
        uint32_t vw[4][4];
#pragma unroll
        for (int ki = 0; ki < 4; ++ki) {
          const int r = 2 * c + (ki & 1) + 8 * (ki >> 1);
          const uint4 w = *reinterpret_cast<const uint4*>(sv + Gm::swz(r, p * 8 + g));
          vw[ki][0] = w.x, vw[ki][1] = w.y, vw[ki][2] = w.z, vw[ki][3] = w.w;
        }
        uint32_t va[2][D / 8];
#pragma unroll
        for (int kp = 0; kp < 2; ++kp)
#pragma unroll
          for (int wi = 0; wi < 4; ++wi) {
            const uint32_t lo = vw[2 * kp][wi], hi = vw[2 * kp + 1][wi];
            mma::fp8x4_to_f16x4(__byte_perm(lo, hi, 0x5140), va[kp][4 * wi], va[kp][4 * wi + 1]);
            mma::fp8x4_to_f16x4(__byte_perm(lo, hi, 0x7362), va[kp][4 * wi + 2],
                                va[kp][4 * wi + 3]);
          }
        const bool mine = g / group == p;
        const uint32_t p0 = mine ? pb[0] : 0u, p1 = mine ? pb[1] : 0u;
#pragma unroll
        for (int mt = 0; mt < D / 16; ++mt) {
          const uint32_t af[4] = {va[0][mt], va[0][D / 16 + mt], va[1][mt], va[1][D / 16 + mt]};
          mma::mma_f16(o[mt], af, p0, p1);
        }
      }
    } else {
      // Vᵀ fragments: V rows 2c, 2c + 1, 2c + 8, 2c + 9 at this lane's dims, paired by key.
      uint32_t vw[4][Gm::NWV];
#pragma unroll
      for (int ki = 0; ki < 4; ++ki) {
        const int r = 2 * c + (ki & 1) + 8 * (ki >> 1);
        if constexpr (Gm::RB >= 128) {
#pragma unroll
          for (int p = 0; p < Gm::NP; ++p) {
            const uint4 w = *reinterpret_cast<const uint4*>(sv + Gm::swz(r, p * 8 + g));
            vw[ki][4 * p] = w.x, vw[ki][4 * p + 1] = w.y, vw[ki][4 * p + 2] = w.z,
                       vw[ki][4 * p + 3] = w.w;
          }
        } else {
          const uint2 w = *reinterpret_cast<const uint2*>(sv + Gm::swz(r, g >> 1) + (g & 1) * 8);
          vw[ki][0] = w.x, vw[ki][1] = w.y;
        }
      }
      uint32_t va[2][D / 8];  // va[kp][j]: (key 2c + 8 kp, key 2c + 1 + 8 kp) at element j
#pragma unroll
      for (int kp = 0; kp < 2; ++kp)
#pragma unroll
        for (int wi = 0; wi < Gm::NWV; ++wi) {
          const uint32_t lo = vw[2 * kp][wi], hi = vw[2 * kp + 1][wi];
          if constexpr (kFp8) {
            mma::fp8x4_to_f16x4(__byte_perm(lo, hi, 0x5140), va[kp][4 * wi], va[kp][4 * wi + 1]);
            mma::fp8x4_to_f16x4(__byte_perm(lo, hi, 0x7362), va[kp][4 * wi + 2],
                                va[kp][4 * wi + 3]);
          } else {
            va[kp][2 * wi] = __byte_perm(lo, hi, 0x5410);
            va[kp][2 * wi + 1] = __byte_perm(lo, hi, 0x7632);
          }
        }
#pragma unroll
      for (int mt = 0; mt < D / 16; ++mt) {
        const uint32_t af[4] = {va[0][mt], va[0][D / 16 + mt], va[1][mt], va[1][D / 16 + mt]};
        if constexpr (kFp8)
          mma::mma_f16(o[mt], af, pb[0], pb[1]);
        else
          mma::mma_bf16(o[mt], af, pb[0], pb[1]);
      }
    }
    __syncwarp();  // every lane is done with this buffer before it is refilled
  }

  // The warp's record in its own pipeline memory: m[8], l[8], acc[8][D] (heads of the group).
  mma::cp_async_wait<0>();
  __syncwarp();
  if (probing(a.probe)) stamp[2] = probe_now();
  l += __shfl_xor_sync(0xffffffffu, l, 1);
  l += __shfl_xor_sync(0xffffffffu, l, 2);
  float* const rec = reinterpret_cast<float*>(wsm);
  if (c == 0) rec[g] = m, rec[kMaxGroup + g] = l;
  float* const acc = rec + 2 * kMaxGroup;
#pragma unroll
  for (int mt = 0; mt < D / 16; ++mt)
#pragma unroll
    for (int e = 0; e < 4; ++e)
      acc[(2 * c + (e & 1)) * D + Gh::v_dim(g, e < 2 ? mt : D / 16 + mt)] = o[mt][e];
  __syncthreads();

  // Merge the warps: out = Σ_w exp2(m_w - M) acc_w / Σ_w exp2(m_w - M) l_w.
  const float* const recs = reinterpret_cast<const float*>(smem_raw);
  constexpr int kRecStride = kWarpSmem / 4;
  // The block's record for a cluster merge: past warp 0's record in its pipeline memory; for
  // the push merge its slot of block 0's receiving region, past the pipelines.
  float* const recv = reinterpret_cast<float*>(smem_raw) + kBlockSmem / 4;
  float* blk_rec = reinterpret_cast<float*>(smem_raw) + kRecStride / 2;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  if (a.push) {
    blk_rec = cg::this_cluster().map_shared_rank(recv, 0) + split * rows * (2 + D);
    asm volatile("barrier.cluster.wait.aligned;" ::: "memory");  // every block has started
  }
#endif
  static_assert((2 * kMaxGroup + kMaxGroup * D) * 4 <= kWarpSmem / 2 &&
                    kMaxGroup * (2 + D) * 4 <= kWarpSmem / 2,
                "warp 0's record and the block's fit its pipeline memory");
  for (int idx = threadIdx.x; idx < rows * D; idx += kThreads) {
    const int h = idx / D, dd = idx % D;
    float mm = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) mm = fmaxf(mm, recs[w * kRecStride + h]);
    float ll = 0.0f, aa = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
      const float* r = recs + w * kRecStride;
      const float wt = exp2_rel(r[h], mm);
      ll += r[kMaxGroup + h] * wt;
      aa += r[2 * kMaxGroup + h * D + dd] * wt;
    }
    const int head = kvh * group + h;
    if (a.n_split == 1) {
      store_out(a, t, head, dd, aa / ll * a.v_mul);
    } else {
      float* r = a.cluster ? blk_rec + h * (2 + D)
                           : a.part + ((int64_t(t) * a.d.n_head + head) * a.n_split + split) *
                                          (2 + D);
      if (dd == 0) r[0] = mm, r[1] = ll;
      r[2 + dd] = aa * a.v_mul;
    }
  }
  if (probing(a.probe)) stamp[3] = probe_now();
  if (a.push)
    push_merge(a, recv, rows, D, t, kvh * group);
  else if (a.cluster)
    cluster_merge(a, blk_rec, rows, D, t, kvh * group, stamp);
  if (probing(a.probe)) {
    stamp[5] = probe_now();
    probe_write(a.probe, a.probe_id, stamp);
  }
}

// One block per (token, head): out = Σ_s exp2(m_s - M) acc_s / Σ_s exp2(m_s - M) l_s; empty
// splits (m = -inf, l = 0) weigh nothing, and split 0 is never empty.
__global__ void combine_tc_kernel(TcArgs a) {
  pdl_trigger();
  pdl_wait();
  const int t = blockIdx.x, h = blockIdx.y, hd = a.d.head_dim, rec = 2 + hd;
  const float* base = a.part + (int64_t(t) * a.d.n_head + h) * a.n_split * rec;
  float mm = -INFINITY;
  for (int s = 0; s < a.n_split; ++s) mm = fmaxf(mm, base[s * rec]);
  for (int dd = threadIdx.x; dd < hd; dd += blockDim.x) {
    float ll = 0.0f, aa = 0.0f;
    for (int s = 0; s < a.n_split; ++s) {
      const float* r = base + s * rec;
      const float wt = exp2_rel(r[0], mm);
      ll += r[1] * wt;
      aa += r[2 + dd] * wt;
    }
    store_out(a, t, h, dd, aa / ll);
  }
}

ScratchBuffer g_partials;

// Dynamic shared memory above 48 KB and the largest carveout (the cache bypasses L1), once
// per instantiation (one stream, one thread: cuda_common.h).
template <typename T, int D, int HP = 1>
void prepare_kernel() {
  static bool done = false;
  if (done) return;
  QINFER_CUDA_CHECK(cudaFuncSetAttribute(decode_tc_kernel<T, D, HP>,
                                         cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         kBlockSmem + kMaxPushBytes));
  QINFER_CUDA_CHECK(cudaFuncSetAttribute(decode_tc_kernel<T, D, HP>,
                                         cudaFuncAttributePreferredSharedMemoryCarveout,
                                         int(cudaSharedmemCarveoutMaxShared)));
  done = true;
}

template <typename T, int D, int HP = 1>
int occupancy() {
  prepare_kernel<T, D, HP>();
  int n = 0;
  QINFER_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, decode_tc_kernel<T, D, HP>,
                                                                  kThreads, kBlockSmem));
  return n;
}

// Resident blocks per multiprocessor, the smaller of the two cache types (both are built for 3).
int blocks_per_sm(int head_dim) {
  static int cached[2] = {0, 0};
  int& n = cached[head_dim == 128 ? 1 : 0];
  if (n == 0)
    n = std::max(1, head_dim == 128 ? std::min({occupancy<Bf16, 128>(), occupancy<Fp8, 128>(),
                                                occupancy<Fp8, 128, 2>()})
                                    : std::min(occupancy<Bf16, 64>(), occupancy<Fp8, 64>()));
  return n;
}

template <typename T, int D, int HP = 1>
void launch(const TcArgs& a, cudaStream_t s) {
  prepare_kernel<T, D, HP>();
  const unsigned units = unsigned(a.d.n_head_kv / HP);
  const dim3 grid = a.kvh_fast ? dim3(units, unsigned(a.b.n_tok), unsigned(a.n_split))
                               : dim3(unsigned(a.b.n_tok), units, unsigned(a.n_split));
  // The push merge's receiving region past the pipelines: a record of the unit's rows a split.
  const int rows = HP * (a.d.n_head / a.d.n_head_kv);
  const size_t smem =
      size_t(kBlockSmem) + (a.push ? size_t(a.n_split) * size_t(rows) * (2 + D) * 4 : 0);
  launch_pdl_cluster_on(s, decode_tc_kernel<T, D, HP>, grid, dim3(kThreads), smem,
                        a.cluster ? unsigned(a.n_split) : 1u, a);
}

// Whether a cluster of kMaxCluster blocks of this instantiation fits a GPC.
template <typename T, int D, int HP = 1>
bool cluster_fits() {
  prepare_kernel<T, D, HP>();
  int k = 0;
  return active_clusters_z(decode_tc_kernel<T, D, HP>, kMaxCluster, kThreads,
                           size_t(kBlockSmem), &k) == cudaSuccess &&
         k >= 1;
}

// Clusters (sm_90) of every instantiation fit, once.
bool clusters_fit() {
  static const bool fit = compute_capability() >= 90 && cluster_fits<Bf16, 64>() &&
                          cluster_fits<Fp8, 64>() && cluster_fits<Bf16, 128>() &&
                          cluster_fits<Fp8, 128>() && cluster_fits<Fp8, 128, 2>();
  return fit;
}

int g_heads_mode = 0;  // set_attention_decode_tc_heads
int g_cluster_mode = 0;  // set_attention_decode_tc_cluster

}  // namespace

bool attention_decode_tc_supported(const AttnDims& d, const KvCacheView& kv) {
  if (kv.dtype != DType::kBF16 && kv.dtype != DType::kF8E4M3) return false;
  if (d.head_dim != 64 && d.head_dim != 128) return false;
  if (d.n_head_kv <= 0 || d.n_head % d.n_head_kv != 0) return false;
  const int group = d.n_head / d.n_head_kv;
  return group >= 1 && group <= kMaxGroup;
}

void set_attention_decode_tc_heads(int mode) { g_heads_mode = mode; }

void set_attention_decode_tc_cluster(int mode) {
  QINFER_CHECK(mode >= 0 && mode <= 2, "set_attention_decode_tc_cluster: mode ", mode,
               " is not 0 (QINFER_CUDA_ATTN_CLUSTER), 1 (never) or 2 (wherever it fits)");
  g_cluster_mode = mode;
}

bool attention_decode_tc_cluster_merge(int n_split) {
  static const bool env = env_switch("QINFER_CUDA_ATTN_CLUSTER", 1) != 0;
  const bool on = g_cluster_mode == 2 || (g_cluster_mode == 0 && env);
  return on && n_split >= 2 && n_split <= kMaxCluster && clusters_fit();
}

int attention_decode_tc_heads(int n_tok, const AttnDims& d, int kv_elem_bytes) {
  if (kv_elem_bytes != 1 || d.head_dim != 128 || d.n_head_kv <= 0 || d.n_head_kv % 2 != 0 ||
      d.n_head % d.n_head_kv != 0 || 2 * (d.n_head / d.n_head_kv) > kMaxGroup)
    return 1;
  if (g_heads_mode == 1 || g_heads_mode == 2) return g_heads_mode;
  // Pairs halve the units: only where at least two full waves of them remain. H100, 8B heads,
  // FP8 cache, one split (bench/results/gpu_run_s12.cmd r3): batch 256 0.870 / 0.894 of the
  // copy rate against 0.829 / 0.854 at 1024 / 1500 keys; batch 128 (1.3 waves of pairs) 0.713
  // / 0.738 against 0.789 / 0.845.
  static const int min_tok = env_int("QINFER_CUDA_ATTN_PAIR_MIN_TOK", -1);
  if (min_tok >= 0) return min_tok > 0 && n_tok >= min_tok ? 2 : 1;
  const int64_t pair_units = int64_t(n_tok) * (d.n_head_kv / 2);
  return pair_units >= 2 * int64_t(sm_count()) * blocks_per_sm(d.head_dim) ? 2 : 1;
}

int attention_decode_tc_splits(int n_tok, int max_seq_len, const AttnDims& d,
                               int kv_elem_bytes) {
  // Time in tile-times (one 16-key tile of K and V streamed at full bandwidth, ~3 TB/s). A wave
  // of `active` blocks of w tiles each takes w max(active, sat): one block alone pulls about
  // 1 / sat of HBM (sat = sat_blocks a multiprocessor, below). Waves of slots = resident
  // blocks, a partial last wave, one tile of start-up per block, and with splits the combine
  // kernel plus its partials traffic. The combine costs 3.2-3.8 us of a decode step in its
  // CUDA graph (H100, CUPTI timelines, bench/results/timeline_*_s7*): 3.5 us in tile-times of
  // this cache. (It
  // was 1000 tile-times, ~2.7 us at head_dim 128 BF16 but ~1.4 us at head_dim 64, where the
  // 1B model then split 16 ways at batch 1: unsplit measured 1094 -> 1152 tok/s, 8B 281.1 ->
  // 280.4, gpu_run_s7.cmd r3.)
  // Plus ~3.3 ns per (token, head) it merges: 17.0 us for 128 tokens x 32 heads (CUPTI timeline
  // of the offline run, bench/results/gpu_run_s11.cmd r2). Priced at 3.5 us flat, 256-token
  // graphs at 2048 keys split in two; unsplit, the 8B offline at concurrency 256 ran 12,539
  // against 12,233 output tok/s (r4).
  // Since the kernel reads ahead of its wait (AttnBatch::past_ready) the splits' blocks are
  // ready when rope_kv_write ends and the combine's fixed part is priced at 1.5 us; splits keep
  // at least a tile per warp. 8B at batch 1, 128-256 keys (gpu_run_s12.cmd r2 / r3): 4 splits
  // 294.4 / 295.3 / 296.4 tok/s against 286-290 unsplit (the old model's choice) and 292.1 at
  // 8; the 1B stayed unsplit (1196.5 against 1177.8 / 1187.7 at 2 / 4; with sat_blocks 2 it
  // takes 4 with an FP8 cache, within noise of 1: gpu_run_s15.cmd q15).
  // With HP KV heads a unit, units are HP times fewer and their tiles HP times larger.
  if (n_tok <= 0) return 1;
  const int hp = attention_decode_tc_heads(n_tok, d, kv_elem_bytes);
  const double tile_bytes =
      double(kTileKeys) * d.head_dim * 2.0 * std::max(1, kv_elem_bytes) * double(hp);
  const double combine = (1.5e-6 + 3.3e-9 * double(n_tok) * d.n_head) * 3.0e12 / tile_bytes;
  const int64_t units = std::max<int64_t>(1, int64_t(n_tok) * d.n_head_kv / hp);
  const int64_t tiles = std::max<int64_t>(1, (int64_t(max_seq_len) + kTileKeys - 1) / kTileKeys);
  // Blocks that pull the whole HBM: QINFER_CUDA_ATTN_SAT_BLOCKS (default 2) a multiprocessor.
  // With one (one block alone pulling 1 / sm_count of it) the model gave batch 1 one block a
  // multiprocessor (~17-19 splits of 8 KV heads) at long contexts, where two measured faster
  // (H100, bench/results/gpu_run_s15.cmd q11 / q12, FP8 cache unless said: batch-1 decode, 1B
  // at 32,768 tokens 869.6 against 802.3 tok/s, 8B at 32,768 229.1 against 208.6, at 8,192
  // 261.9 against 258.2 (BF16 257.7 / 252.8); 16 sequences of 4,000-token prompts 1,781.9
  // against 1,550.7 output tok/s; batch 32 at 8,192 keys, BF16, 365.3 against 401.9 us a layer;
  // batch 128 at 8,192, BF16, 1,446 against 1,429 us; the offline batches of 256 plan as before).
  // Full waves are unchanged: slots (3-4 blocks a multiprocessor) > sat.
  static const int sat_blocks = std::clamp(env_int("QINFER_CUDA_ATTN_SAT_BLOCKS", 2), 1, 8);
  const int64_t sat = int64_t(sm_count()) * sat_blocks;
  const int64_t slots = int64_t(sm_count()) * blocks_per_sm(d.head_dim);
  const int64_t group = d.n_head_kv > 0 ? std::max(1, d.n_head / d.n_head_kv) * hp : 1;
  // Splits merged in a cluster (attention_decode_tc_cluster_merge, up to kMaxCluster) launch
  // no combine kernel and move no partials through global memory. Where the blocks fit one
  // wave of slots (the latency regime, where it was measured) they are priced at 0.5 us fixed
  // (a cluster barrier pair and the merge in the blocks' tails) plus the combine's time per
  // (token, head), and they may go down to one tile a block. H100, 128-256 keys
  // (bench/results/gpu_run_s18.cmd q1 / q2): 8B batch 1 at 8 splits 305.0 / 302.7 / 302.8 tok/s
  // against 301.7 / 300.2 at 4 (the most the tile-per-warp rule allowed), 295.2 at 2; 1B 1,275.0
  // / 1,272.9 - 1,274.8 against 1,271 / 1,256.6; 8B batch 4 996.1 / 996.7 against 982.1 / 980.1.
  // More waves keep the combine's price (the offline batches plan as before).
  const int cmax = attention_decode_tc_cluster_merge(2) ? kMaxCluster : 0;
  const double merge = (0.5e-6 + 3.3e-9 * double(n_tok) * d.n_head) * 3.0e12 / tile_bytes;
  const int64_t per_warp = std::max<int64_t>(1, tiles / kWarps);
  const int64_t top = std::min<int64_t>(128, std::max(per_warp, std::min<int64_t>(tiles, cmax)));
  int best = 1;
  double best_cost = 0;
  for (int ns = 1; ns <= top; ++ns) {
    const int64_t blocks = units * ns;
    const bool clustered = ns >= 2 && ns <= cmax && blocks <= slots;
    if (ns > per_warp && !clustered) continue;
    const int64_t w = (tiles + ns - 1) / ns + 1;
    const int64_t full = blocks / slots, rem = blocks % slots;
    double cost = double(full) * double(w) * double(std::max(slots, sat)) +
                  (rem > 0 ? double(w) * double(std::max(rem, sat)) : 0.0);
    if (clustered)
      cost += merge;
    else if (ns > 1)
      cost += combine + double(blocks) * double(group) * (d.head_dim + 2) * 8.0 / 6144.0;
    if (ns == 1 || cost < best_cost) best = ns, best_cost = cost;
  }
  return best;
}

size_t attention_decode_tc_scratch_bytes(int n_tok, const AttnDims& d, int n_split) {
  if (n_split <= 1) return 0;
  return size_t(n_tok) * size_t(d.n_head) * size_t(n_split) * size_t(2 + d.head_dim) *
         sizeof(float);
}

void attention_decode_tc(const float* qkv, const AttnBatch& b, const AttnDims& d,
                         const KvCacheView& kv, float* out, cudaStream_t s,
                         const AttnCodes* codes) {
  attn::check_dims(d, kv, "attention_decode_tc");
  QINFER_CHECK(attention_decode_tc_supported(d, kv),
               "attention_decode_tc: unsupported (cache dtype ", dtype_name(kv.dtype),
               ", head_dim ", d.head_dim, ", group ", d.n_head / d.n_head_kv,
               ", device cuda); expected BF16 or F8_E4M3, head_dim 64 or 128, group 1..8");
  if (b.n_tok == 0) return;
  TcArgs a{};
  attn::fill_launch(a, qkv, b, d, kv, out);
  a.bs_shift = attn::block_shift(kv.block_size);
  if (codes != nullptr && codes->data != nullptr) {
    QINFER_CHECK(codes->static_scale > 0.0f && codes->stride >= int64_t(d.n_head) * d.head_dim,
                 "attention_decode_tc: codes need a positive static scale (", codes->static_scale,
                 ") and rows of at least n_head head_dim = ", int64_t(d.n_head) * d.head_dim,
                 " bytes (stride ", codes->stride, ")");
    a.codes = *codes;
  }
  // The KV heads of a token side by side in the grid (QINFER_CUDA_ATTN_KVH_FAST): they read
  // the same cache rows (a token's heads are adjacent, head_dim bytes each) at about the same
  // time. Grid y holds at most 65535 tokens.
  static const bool kvh_fast = env_switch("QINFER_CUDA_ATTN_KVH_FAST", 1) != 0;
  a.kvh_fast = kvh_fast && b.n_tok <= 65535 ? 1 : 0;
  a.n_split = b.n_split > 0 ? b.n_split
                            : attention_decode_tc_splits(b.n_tok, b.max_seq_len, d,
                                                         int(dtype_size(kv.dtype)));
  QINFER_CHECK(a.n_split <= 65535 && d.n_head_kv <= 65535, "attention_decode_tc: n_split ",
               a.n_split, " / n_head_kv ", d.n_head_kv, " exceed the grid");
  QINFER_CHECK(!b.past_ready || b.n_tok == b.n_seq, "attention_decode_tc: past_ready needs one "
               "new token per sequence (n_tok ", b.n_tok, ", n_seq ", b.n_seq, ")");
  a.cluster = attention_decode_tc_cluster_merge(a.n_split) ? 1 : 0;
  static const bool fast_rows = env_switch("QINFER_CUDA_ATTN_FAST_ROWS", 1) != 0;
  a.fast_rows = fast_rows ? 1 : 0;
  // The push merge where the blocks fit one wave (its receiving region would cost block 0 a
  // resident slot beyond that; QINFER_CUDA_ATTN_PUSH=0: the pull merge everywhere).
  static const bool push_on = env_switch("QINFER_CUDA_ATTN_PUSH", 1) != 0;
  const int hp_units =
      d.n_head_kv / attention_decode_tc_heads(b.n_tok, d, int(dtype_size(kv.dtype)));
  a.push = a.cluster && push_on &&
                   int64_t(b.n_tok) * hp_units * a.n_split <=
                       int64_t(sm_count()) * blocks_per_sm(d.head_dim)
               ? 1
               : 0;
  a.probe = probe_ring();
  if (a.probe.data != nullptr) a.probe_id = (1u << 24) | (probe_launch() & 0xffffffu);
  if (a.n_split > 1 && !a.cluster)
    a.part = b.partials != nullptr ? b.partials
                                   : static_cast<float*>(g_partials.get(
                                         attention_decode_tc_scratch_bytes(b.n_tok, d, a.n_split)));
  if (kv.dtype == DType::kF8E4M3) {
    if (d.head_dim == 64)
      launch<Fp8, 64>(a, s);
    else if (attention_decode_tc_heads(b.n_tok, d, 1) == 2)
      launch<Fp8, 128, 2>(a, s);
    else
      launch<Fp8, 128>(a, s);
  } else {
    if (d.head_dim == 64)
      launch<Bf16, 64>(a, s);
    else
      launch<Bf16, 128>(a, s);
  }
  if (a.n_split > 1 && !a.cluster)
    launch_pdl_smem_on(s, combine_tc_kernel, dim3(unsigned(b.n_tok), unsigned(d.n_head)),
                       dim3(unsigned(d.head_dim)), 0, a);
}

}  // namespace qinfer::ops::cuda
