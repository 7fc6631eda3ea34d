// decode_persistent.cu's device side: the kernel's layout, its phases and the grid-wide waits
// (the design and the measurements are at the top of decode_persistent.cu). Included only there.
#pragma once

#include <cstdint>

#include "ops/cuda/attention_device.h"
#include "ops/cuda/bulk_copy.cuh"
#include "ops/cuda/fp8_device.cuh"
#include "ops/cuda/mma.cuh"

namespace qinfer::ops::cuda::persist {

using attn::Bf16;
using attn::Fp8;

constexpr int kConsumers = 8;                    // consumer warps
constexpr int kThreads = (kConsumers + 1) * 32;  // + the producer warp
constexpr int kCThreads = kConsumers * 32;
constexpr int kMaxStages = 16;
constexpr int kTileRows = 16;  // MMA M
constexpr int kRowPad = 64;
constexpr int kMaxPiece = 2048;
constexpr int kPrologueV = 4;  // float4 groups a consumer thread holds while making x
constexpr int kMaxEmbd = kCThreads * 4 * kPrologueV;
constexpr int kKeys = 64;  // keys a block takes a pass
constexpr int kMaxGroup = 8;
constexpr int kMaxSplits = 16;
constexpr int kMaxD = 128;  // head_dim: 64 or 128 (the attention's template argument)
constexpr int kHeader = 2560;  // barriers, flags, tile partials, scratch
constexpr int kPartAt = 384, kScratchAt = 1408;
// The thread that polls the counters: one with no loads of its own in flight before a wait (an
// acquire load waits for them; the finishing threads 0-15 load their epilogue operands and the
// attention's threads their K / V rows before the waits).
constexpr int kSpinner = 32;
enum Op : int { kQkv = 0, kO = 1, kGateUp = 2, kDown = 3 };
// Counters a layer: the phases' (qkv, merged KV heads, o, gate_up, down), then the KV heads'
// item arrivals.
constexpr int kPhaseCounters = 5;
// Trace stamps a layer (QINFER_CUDA_PERSIST_TRACE): qkv starts, qkv done, attention done, o
// starts, o done, gate_up starts, gate_up done, down starts, down done.
// Then, on blocks with an attention item: its wait done, P V done, records stored, its arrival
// counted, the merge done.
constexpr int kStamps = 14;

struct OpW {
  const uint8_t* w;      // (n_out, n_in) E4M3
  const float* w_scale;  // indexed row * ws_stride
  const float* bias;     // (n_out) or null
  float x_scale;         // the static input scale
  int ws_stride;
};
struct LayerDesc {
  OpW op[4];
  const float* attn_norm;  // (n_embd)
  const float* mlp_norm;
  void* k;  // (n_block, block_size, n_head_kv, D) of the cache's type
  void* v;
  float k_scale, v_scale;  // FP8 caches (1 otherwise)
};

struct Params {
  const LayerDesc* layers;  // (n_layer) on the device
  int n_layer;
  int n_in[4], n_out[4];
  int n_head, n_head_kv, group, head_dim, cache_bytes, block_size, max_blocks;
  float eps, q_scale;  // q_scale: 1 / sqrt(D) log2(e), times the layer's k_scale
  float* hid;          // (n_embd) the residual stream
  float* qkv;          // ((n_head + 2 n_head_kv) D) q and k rotated, v
  uint8_t* xo;         // (n_head D) o's input codes
  uint8_t* hc;         // (inter) down's input codes
  float* part;         // (n_head_kv, max_splits, group, 2 + D) the items' (m, l, acc)
  unsigned* count;     // (n_layer, kPhaseCounters + n_head_kv), then the exit counter
  const float* cos_sin;  // (D / 2, 2) rope_prepare's
  const int64_t* slot;   // (1) the token's cache slot
  const int32_t* tok_pos;
  const int32_t* tok_seq;
  const int32_t* tables;
  int max_splits, piece, pitch, stages, region;
  uint64_t* trace;  // (gridDim.x, n_layer, kStamps) phase times in ns, or null
};

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
using bulk::bulk_load;
using bulk::mbar_arrive;
using bulk::mbar_expect;
using bulk::mbar_init;
using bulk::mbar_wait;

__device__ __forceinline__ void consumers_bar() {
  asm volatile("bar.sync 1, %0;" ::"n"(kCThreads) : "memory");
}

// Sum (or max) over the consumer threads; red: 8 floats of its own.
__device__ __forceinline__ float consumers_reduce(float v, float* red, bool is_max) {
  for (int o = 16; o > 0; o >>= 1) {
    const float u = __shfl_xor_sync(0xffffffffu, v, o);
    v = is_max ? fmaxf(v, u) : v + u;
  }
  if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = v;
  consumers_bar();
  v = red[0];
#pragma unroll
  for (int w = 1; w < kConsumers; ++w) v = is_max ? fmaxf(v, red[w]) : v + red[w];
  return v;
}

__device__ __forceinline__ uint64_t global_ns() {
  uint64_t t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

// Until *c >= target (every consumer thread returns after it). (Measured on the H100, session
// 23 q2: spinning on relaxed loads with one acquire fence after, and releasing with fence.acq_rel
// + red.relaxed (CUTLASS's barrier), made the 1B's step 6 % slower.)
__device__ __forceinline__ void wait_count(const unsigned* c, unsigned target) {
  // The spinner's whole warp loops (lane 0 loads, the value broadcast), so that the warp
  // reaches the barrier converged: bar.sync is .aligned, and a warp whose other lanes arrive
  // while one still spins would be counted as arrived.
  if (threadIdx.x / 32 == kSpinner / 32) {
    uint64_t t0 = 0;
    for (int spin = 0;; ++spin) {
      unsigned v = 0;
      if (threadIdx.x == kSpinner)
        asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(c) : "memory");
      v = __shfl_sync(0xffffffffu, v, kSpinner % 32);
      if (v >= target) break;
      if ((spin & 1023) == 1023) {
        const uint64_t t = global_ns();
        if (t0 == 0) t0 = t;
        if (t - t0 > 2000000000ull) __trap();  // a block never arrived: not all resident
      }
    }
  }
  consumers_bar();
}

// Every consumer thread's writes so far, then one arrival at c. (A release reduction instead of
// the fence and the atomic measured the same, session 23 q4.)
__device__ __forceinline__ void signal_count(unsigned* c) {
  consumers_bar();
  if (threadIdx.x == 0) {
    __threadfence();
    atomicAdd(c, 1u);
  }
}

// Block blockIdx.x's output rows of op: [begin, end) of n_rows (gate_up: of inter, each row a
// gate row and an up row; qkv: pairs of logical rows), its tiles and k pieces.
struct Rows {
  int64_t begin, end, n_rows;
  int n_tiles, n_pieces;
};
__device__ __forceinline__ Rows rows_of(const Params& p, int op) {
  Rows r;
  const bool pair = op == kGateUp;
  const int64_t unit = op == kQkv ? 2 : 1;
  r.n_rows = pair ? p.n_out[op] / 2 : p.n_out[op];
  r.begin = unit * (int64_t(blockIdx.x) * (r.n_rows / unit) / gridDim.x);
  r.end = unit * (int64_t(blockIdx.x + 1) * (r.n_rows / unit) / gridDim.x);
  r.n_tiles = int((r.end - r.begin + kTileRows - 1) / kTileRows) * (pair ? 2 : 1);
  r.n_pieces = (p.n_in[op] + p.piece - 1) / p.piece;
  return r;
}

// RoPE's row order (gemv_bulk.cu): logical row 2 i + s of a q or k head is its dimension i +
// s D / 2, so a rotation's two values finish in the same tile.
__device__ __forceinline__ int rope_dim(int w, int hd) { return (w >> 1) + (w & 1) * (hd / 2); }
__device__ __forceinline__ int64_t rope_row(const Params& p, int64_t l) {
  const int hd = p.head_dim;
  if (l >= int64_t(p.n_head + p.n_head_kv) * hd) return l;  // a v row
  const int h = int(l) / hd;
  return int64_t(h) * hd + rope_dim(int(l) - h * hd, hd);
}

// A place in the block's schedule of weight stages: layer l, phase op, stage s of n.
struct Cursor {
  int l = 0, op = 0, s = 0, n = 0;
  Rows r;
  __device__ __forceinline__ bool done(const Params& p) const { return l >= p.n_layer; }
  __device__ __forceinline__ void settle(const Params& p) {  // skip phases without stages
    while (l < p.n_layer && s >= n) {
      s = 0;
      if (++op == 4) op = 0, ++l;
      if (l < p.n_layer) r = rows_of(p, op), n = r.n_tiles * r.n_pieces;
    }
  }
  __device__ __forceinline__ void start(const Params& p) {
    r = rows_of(p, 0);
    n = r.n_tiles * r.n_pieces;
    settle(p);
  }
  __device__ __forceinline__ void next(const Params& p) {
    ++s;
    settle(p);
  }
};

// The rows of the cursor's stage: f(i, src, bytes) for row i of the stage.
template <class F>
__device__ __forceinline__ int stage_rows(const Params& p, const Cursor& c, F&& f) {
  const Rows& r = c.r;
  const uint8_t* w = p.layers[c.l].op[c.op].w;
  const int64_t n_in = p.n_in[c.op];
  const int tile = c.s / r.n_pieces;
  const int64_t l0 = r.begin + int64_t(c.op == kGateUp ? tile / 2 : tile) * kTileRows;
  const int rows = int(min(int64_t(kTileRows), r.end - l0));
  const int64_t r0 = l0 + (c.op == kGateUp && (tile & 1) ? r.n_rows : 0);
  const int64_t k0 = int64_t(c.s % r.n_pieces) * p.piece;
  const uint32_t kb = uint32_t(min(int64_t(p.piece), n_in - k0));
  if (c.op == kQkv) {
    const int hd = p.head_dim, rot_end = (p.n_head + p.n_head_kv) * hd;
    int h = int(l0) / hd, wi = int(l0) - h * hd;
    for (int i = 0; i < rows; ++i) {
      const int li = int(l0) + i;
      const int64_t wr = li < rot_end ? h * hd + rope_dim(wi, hd) : li;
      f(i, w + wr * n_in + k0, kb);
      if (++wi == hd) wi = 0, ++h;
    }
  } else {
    for (int i = 0; i < rows; ++i) f(i, w + (r0 + i) * n_in + k0, kb);
  }
  return rows;
}

// The producer: every stage of every phase of every layer, in the consumers' order. Measured
// and not kept (session 23): asking L2 for the stage 6 or 12 stages ahead (cp.async.bulk.
// prefetch), so that HBM would stream while the ring is full, slower (1B 1,047 / 932 against
// 1,168 tok/s, q2); keeping only 1-4 stages requested and not landed, so that the other
// accesses of the step would not queue behind the ring's reads, no faster (1B 1,159-1,184
// against 1,181, 8B 230-270 against 270, q5).
__device__ void produce(const Params& p, uint8_t* ring, uint64_t* full, uint64_t* empty) {
  uint64_t policy;  // every weight byte is read once a step
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(policy));
  const int stage_bytes = kTileRows * p.pitch;
  Cursor cur;
  cur.start(p);
  for (int st = 0; !cur.done(p); ++st, cur.next(p)) {
    const int slot = st % p.stages;
    if (st >= p.stages) mbar_wait(empty + slot, uint32_t((st / p.stages - 1) & 1));
    uint8_t* dst = ring + slot * stage_bytes;
    uint32_t bytes = 0;
    stage_rows(p, cur, [&](int, const uint8_t*, uint32_t kb) { bytes += kb; });
    mbar_expect(full + slot, bytes);
    stage_rows(p, cur, [&](int i, const uint8_t* src, uint32_t kb) {
      bulk_load(dst + i * p.pitch, src, kb, full + slot, policy);
    });
  }
}

// x's codes from src (n_in F32, read through L2): fp8(rms_norm(src) * norm_w) under the static
// scale s, the arithmetic of gemv_bulk's prologue (make_x).
__device__ void make_x(const float* src, const float* norm_w, float eps, int n_in, float s,
                       uint8_t* xs, float* red) {
  const int tid = threadIdx.x, n4 = n_in / 4;
  float4 v[kPrologueV], wv[kPrologueV];
#pragma unroll
  for (int j = 0; j < kPrologueV; ++j) {
    const int i4 = tid + kCThreads * j;
    const bool in = i4 < n4;
    v[j] = in ? __ldcg(reinterpret_cast<const float4*>(src) + i4) : make_float4(0, 0, 0, 0);
    wv[j] = in ? __ldg(reinterpret_cast<const float4*>(norm_w) + i4) : make_float4(0, 0, 0, 0);
  }
  const float ss = consumers_reduce(add_squares<kPrologueV>(v, 0.0f), red, false);
  const float r = rsqrtf(ss / float(n_in) + eps);
  const float4 rv = make_float4(r, r, r, r);
  const Fp8Quant q(s, true);
#pragma unroll
  for (int j = 0; j < kPrologueV; ++j) {
    const int i4 = tid + kCThreads * j;
    if (i4 < n4) *reinterpret_cast<uint32_t*>(xs + 4 * i4) = quant4(q, (v[j] * rv) * wv[j]);
  }
  consumers_bar();
}

// x's codes copied from another phase's output (n bytes, a multiple of 16).
__device__ void copy_x(const uint8_t* src, int n, uint8_t* xs) {
  for (int i = threadIdx.x * 16; i < n; i += kCThreads * 16)
    *reinterpret_cast<uint4*>(xs + i) = __ldcg(reinterpret_cast<const uint4*>(src + i));
  consumers_bar();
}

// The RoPE epilogue's operands of logical row o (loaded as its tile starts).
struct RopeRow {
  int64_t out = 0;
  float c = 1.0f, s = 0.0f;
};
__device__ __forceinline__ RopeRow rope_operands(const Params& p, int64_t o) {
  RopeRow e;
  e.out = rope_row(p, o);
  if (o < int64_t(p.n_head + p.n_head_kv) * p.head_dim) {
    const float2 cs =
        *reinterpret_cast<const float2*>(p.cos_sin + ((int(o) % p.head_dim) >> 1) * 2);
    e.c = cs.x;
    e.s = cs.y;
  }
  return e;
}

// Value v of logical row o, u its partner's: rotated (q and k), stored to qkv, K / V rows to
// the token's slot (gemv_bulk's rope_store).
__device__ __forceinline__ void rope_store(const Params& p, const LayerDesc& L, int64_t o,
                                           const RopeRow& e, float v, float u) {
  const int64_t kv0 = int64_t(p.n_head) * p.head_dim, kv_w = int64_t(p.n_head_kv) * p.head_dim;
  float y = v;
  if (o < kv0 + kv_w)
    y = (o & 1) == 0 ? attn::rope_lo(v, u, e.c, e.s) : attn::rope_hi(u, v, e.c, e.s);
  p.qkv[e.out] = y;
  if (e.out < kv0) return;
  const bool is_v = e.out >= kv0 + kv_w;
  const int64_t at = *p.slot * kv_w + e.out - kv0 - (is_v ? kv_w : 0);
  void* cache = is_v ? L.v : L.k;
  const float sc = is_v ? L.v_scale : L.k_scale;
  if (p.cache_bytes == 1)
    static_cast<Fp8*>(cache)[at] = attn::from_float<Fp8>(y, sc);
  else
    static_cast<Bf16*>(cache)[at] = attn::from_float<Bf16>(y, sc);
}

// A finishing thread's epilogue operands for its row of a tile (threads < 16): weight scale,
// bias, the residual's old value (o, down: the rows a block owns are written only by the same
// thread, so they may be read before the phase's wait), RoPE's operands (qkv).
struct Epi {
  float ws = 0.0f, bias = 0.0f, y = 0.0f;
  RopeRow rope;
};
template <int kOp>
__device__ __forceinline__ Epi load_epi(const Params& p, const OpW& w, const Rows& r, int tile) {
  Epi e;
  const int64_t o = r.begin + int64_t(kOp == kGateUp ? tile / 2 : tile) * kTileRows + threadIdx.x;
  if (threadIdx.x >= kTileRows || o >= r.end || tile >= r.n_tiles) return e;
  int64_t wr = o + (kOp == kGateUp && (tile & 1) ? r.n_rows : 0);
  if constexpr (kOp == kQkv) {
    e.rope = rope_operands(p, o);
    wr = e.rope.out;
  }
  e.ws = w.w_scale != nullptr ? w.w_scale[wr * w.ws_stride] : 1.0f;
  e.bias = w.bias != nullptr ? w.bias[wr] : 0.0f;
  if constexpr (kOp == kO || kOp == kDown) e.y = __ldcg(p.hid + o);
  return e;
}

// One phase's GEMV over the block's rows r, x in xs; first: tile 0's epilogue operands (loaded
// by the caller before the phase's wait); st: the running stage number.
template <int kOp>
__device__ void gemv(const Params& p, const LayerDesc& L, const Rows& r, Epi e, uint8_t* ring,
                     uint64_t* full, uint64_t* empty, const uint8_t* xs, float* part,
                     float* scratch, int& st) {
  const OpW& w = L.op[kOp];
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, c = lane % 4;
  const int n_in = p.n_in[kOp], n_stages = r.n_tiles * r.n_pieces;
  const int stage_bytes = kTileRows * p.pitch;
  const bool finisher = tid < kTileRows;
  const float down_scale = L.op[kDown].x_scale;
  float e_gate = 0.0f;
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int s = 0; s < n_stages; ++s, ++st) {
    const int slot = st % p.stages;
    const int tile = s / r.n_pieces, pc = s % r.n_pieces;
    const int k0 = pc * p.piece;
    const int blocks = min(p.piece, n_in - k0) / 64;
    const int64_t o = r.begin + int64_t(kOp == kGateUp ? tile / 2 : tile) * kTileRows + tid;
    if (pc == 0 && s > 0) e = load_epi<kOp>(p, w, r, tile);
    mbar_wait(full + slot, uint32_t((st / p.stages) & 1));
    const uint8_t* base = ring + slot * stage_bytes + 16 * c;
    constexpr int kBlocksPerWarp = kMaxPiece / 64 / kConsumers;
    uint4 lo[kBlocksPerWarp], hi[kBlocksPerWarp], xv[kBlocksPerWarp];
#pragma unroll
    for (int j = 0; j < kBlocksPerWarp; ++j) {
      const int b = warp + kConsumers * j;
      lo[j] = hi[j] = xv[j] = make_uint4(0, 0, 0, 0);
      if (b < blocks) {
        lo[j] = *reinterpret_cast<const uint4*>(base + g * p.pitch + 64 * b);
        hi[j] = *reinterpret_cast<const uint4*>(base + (g + 8) * p.pitch + 64 * b);
        if (g == 0) xv[j] = *reinterpret_cast<const uint4*>(xs + k0 + 64 * b + 16 * c);
      }
    }
#pragma unroll
    for (int j = 0; j < kBlocksPerWarp; ++j) {
      if (warp + kConsumers * j >= blocks) break;
      float d[4] = {0.0f, 0.0f, 0.0f, 0.0f};
      mma::mma_e4m3(d, lo[j].x, hi[j].x, lo[j].y, hi[j].y, xv[j].x, xv[j].y);
      mma::mma_e4m3(d, lo[j].z, hi[j].z, lo[j].w, hi[j].w, xv[j].z, xv[j].w);
#pragma unroll
      for (int i = 0; i < 4; ++i) acc[i] += d[i];
    }
    __syncwarp();
    if (lane == 0) mbar_arrive(empty + slot);
    if (pc != r.n_pieces - 1) continue;

    // Tile done: lane (g, 0) holds the token's rows g and g + 8.
    float* pt = part + (tile & 1) * kConsumers * kTileRows;
    if (c == 0) {
      pt[warp * kTileRows + g] = acc[0];
      pt[warp * kTileRows + g + 8] = acc[2];
    }
#pragma unroll
    for (int i = 0; i < 4; ++i) acc[i] = 0.0f;
    consumers_bar();
    const bool mine = finisher && o < r.end;
    float v = 0.0f;
    if (mine) {
      float sum = 0.0f;
#pragma unroll
      for (int k = 0; k < kConsumers; ++k) sum += pt[k * kTileRows + tid];
      v = sum * w.x_scale * e.ws + e.bias;
    }
    if constexpr (kOp == kQkv) {  // each value meets its rotation partner (row o ^ 1)
      float* pair = scratch + 32;
      if (mine) pair[tid] = v;
      consumers_bar();
      if (mine) rope_store(p, L, o, e.rope, v, pair[tid ^ 1]);
    } else if constexpr (kOp == kGateUp) {
      if (mine && !(tile & 1)) e_gate = v;  // the same thread finishes the up tile next
      if (mine && (tile & 1)) p.hc[o] = Fp8Quant(down_scale, true)(silu_times(e_gate, v));
    } else {
      if (mine) p.hid[o] = e.y + v;
    }
  }
}

// The V row's E dims of lane `lane` (E sizeof(T) = 2, 4 or 8 bytes, one load).
template <int kBytes>
struct RawOf;
template <>
struct RawOf<2> {
  using type = unsigned short;
};
template <>
struct RawOf<4> {
  using type = unsigned;
};
template <>
struct RawOf<8> {
  using type = uint2;
};
template <typename T, int E>
struct VLane {
  using Raw = typename RawOf<E * int(sizeof(T))>::type;
  Raw w{};
  __device__ __forceinline__ void load(const T* row, int lane, bool cg) {
    const Raw* at = reinterpret_cast<const Raw*>(row + lane * E);
    w = cg ? __ldcg(at) : *at;
  }
  __device__ __forceinline__ void to_float(float* f) const {
    T t[E];
    memcpy(t, &w, sizeof w);
#pragma unroll
    for (int e = 0; e < E; e += 2) {
      attn::Vec2<T> v;
      memcpy(&v, t + e, 2 * sizeof(T));
      v.to_float(f + e);
    }
  }
};

// The K row of D elements in registers; load_cg reads through L2 (a row this launch wrote).
__device__ __forceinline__ void load_cg(attn::Vec8<Bf16>& v, const Bf16* p) {
  v.w = __ldcg(reinterpret_cast<const uint4*>(p));
}
__device__ __forceinline__ void load_cg(attn::Vec8<Fp8>& v, const Fp8* p) {
  v.w = __ldcg(reinterpret_cast<const uint2*>(p));
}
template <typename T, int kD>
struct KRow {
  attn::Vec8<T> c[kD / 8];
  __device__ __forceinline__ void load(const T* row, bool cg) {
#pragma unroll
    for (int i = 0; i < kD / 8; ++i) {
      if (cg)
        load_cg(c[i], row + 8 * i);
      else
        c[i].load(row + 8 * i);
    }
  }
};

// The attention phase of layer L (blocks with an item), ending in o's input codes.
template <typename T, int kD>
__device__ void attention(const Params& p, const LayerDesc& L, unsigned* cnt, uint8_t* region,
                          float* scratch, int* flag, int len, const int32_t* table,
                          uint64_t* stamp) {
  const auto mark = [&](int k) {
    if (stamp != nullptr && threadIdx.x == 0) stamp[k] = global_ns();
  };
  constexpr int kE = kD / 32;  // dims a lane in P V
  const int nkv = p.n_head_kv, G = p.group;
  const int S = max(1, min(p.max_splits, (len + 31) / 32));
  if (int(blockIdx.x) >= nkv * S) return;
  const int kvh = int(blockIdx.x) / S, split = int(blockIdx.x) % S;
  const int kps = (len + S - 1) / S, k0 = split * kps, k1 = min(len, k0 + kps);
  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
  float* qs = reinterpret_cast<float*>(region);  // (G, D)
  float* ps = qs + kMaxGroup * kMaxD;              // (G, kKeys)
  float* osum = ps + kMaxGroup * kKeys;           // (kConsumers, G, D)
  float* m_run = scratch + 64;                    // (G)
  float* l_run = m_run + kMaxGroup;
  float* alpha = l_run + kMaxGroup;
  const T* kc = static_cast<const T*>(L.k);
  const T* vc = static_cast<const T*>(L.v);
  auto row_of = [&](int pos) { return attn::kv_row(table, pos, p.block_size, nkv, kvh) * kD; };
  if (tid < G) {
    m_run[tid] = -INFINITY;
    l_run[tid] = 0.0f;
  }
  float acc[kMaxGroup][kE];
#pragma unroll
  for (int j = 0; j < kMaxGroup; ++j)
#pragma unroll
    for (int e = 0; e < kE; ++e) acc[j][e] = 0.0f;
  for (int c0 = k0; c0 < k1; c0 += kKeys) {
    // Scores: four threads a key (kKeys keys), each a quarter of the row in registers (a
    // whole row a thread spilled and went to local memory, an L2 round trip a reload).
    constexpr int kQ = kD / 4;
    const int kt = c0 + tid / 4, quarter = tid % 4;
    const bool kin = kt < k1;
    KRow<T, kQ> kr;
    VLane<T, kE> vr[kKeys / kConsumers];
    // Rows older than the token's own were written by earlier steps: loaded before the wait.
    const bool ahead = tid != kSpinner;  // the spinner loads after the wait
    if (ahead && kin && kt != len - 1) kr.load(kc + row_of(kt) + quarter * kQ, false);
#pragma unroll
    for (int i = 0; i < kKeys / kConsumers; ++i) {
      const int key = c0 + warp + kConsumers * i;
      if (ahead && key < k1 && key != len - 1) vr[i].load(vc + row_of(key), lane, false);
    }
    if (c0 == k0) {
      wait_count(cnt + kQkv, gridDim.x);
      mark(9);
      const float qsc = p.q_scale * L.k_scale;
      const float* q = p.qkv + int64_t(kvh) * G * kD;
      for (int i = tid; i < G * kD; i += kCThreads) qs[i] = __ldcg(q + i) * qsc;
    }
    if (kin && (kt == len - 1 || !ahead))  // the token's own row: written this step
      kr.load(kc + row_of(kt) + quarter * kQ, true);
#pragma unroll
    for (int i = 0; i < kKeys / kConsumers; ++i) {
      const int key = c0 + warp + kConsumers * i;
      if (key < k1 && (key == len - 1 || !ahead)) vr[i].load(vc + row_of(key), lane, true);
    }
    consumers_bar();  // Q; the last pass's P read by every warp
    {
      float sc[kMaxGroup];
#pragma unroll
      for (int j = 0; j < kMaxGroup; ++j) sc[j] = 0.0f;
#pragma unroll
      for (int i = 0; i < kQ / 8; ++i) {
        float kf[8];
        kr.c[i].to_float(kf);
#pragma unroll
        for (int j = 0; j < kMaxGroup; ++j) {
          if (j >= G) break;
          sc[j] += attn::dot8(qs + j * kD + quarter * kQ + 8 * i, kf);
        }
      }
#pragma unroll
      for (int j = 0; j < kMaxGroup; ++j) {
        if (j >= G) break;
        sc[j] += __shfl_xor_sync(0xffffffffu, sc[j], 1);
        sc[j] += __shfl_xor_sync(0xffffffffu, sc[j], 2);
        if (quarter == 0) ps[j * kKeys + tid / 4] = kin ? sc[j] : -INFINITY;
      }
    }
    consumers_bar();
    if (warp < G) {  // warp j: head j's pass maximum, P = 2^(s - m) and its sum
      const int j = warp;
      const float a = ps[j * kKeys + lane], b = ps[j * kKeys + 32 + lane];
      float m = fmaxf(a, b);
      for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
      const float m_new = fmaxf(m_run[j], m);  // finite: the pass has a key
      const float pa = exp2f(a - m_new), pb = exp2f(b - m_new);
      ps[j * kKeys + lane] = pa;
      ps[j * kKeys + 32 + lane] = pb;
      float t = pa + pb;
      for (int o = 16; o > 0; o >>= 1) t += __shfl_xor_sync(0xffffffffu, t, o);
      __syncwarp();
      if (lane == 0) {
        const float al = attn::exp2_rel(m_run[j], m_new);
        alpha[j] = al;
        l_run[j] = l_run[j] * al + t;
        m_run[j] = m_new;
      }
    }
    consumers_bar();
#pragma unroll
    for (int j = 0; j < kMaxGroup; ++j) {
      if (j >= G) break;
      const float al = alpha[j];
#pragma unroll
      for (int e = 0; e < kE; ++e) acc[j][e] *= al;
    }
#pragma unroll
    for (int i = 0; i < kKeys / kConsumers; ++i) {
      const int kk = warp + kConsumers * i;
      if (c0 + kk >= k1) break;
      float vf[kE];
      vr[i].to_float(vf);
#pragma unroll
      for (int j = 0; j < kMaxGroup; ++j) {
        if (j >= G) break;
        const float pj = ps[j * kKeys + kk];
#pragma unroll
        for (int e = 0; e < kE; ++e) acc[j][e] += pj * vf[e];
      }
    }
  }
  if (k0 >= k1) {  // an empty split (len < S kps rounding): wait as the others do
    wait_count(cnt + kQkv, gridDim.x);
  }
  mark(10);
  consumers_bar();  // ps / qs free: osum overlaps nothing, but every warp is done with P
#pragma unroll
  for (int j = 0; j < kMaxGroup; ++j) {
    if (j >= G) break;
#pragma unroll
    for (int e = 0; e < kE; ++e) osum[(warp * G + j) * kD + lane * kE + e] = acc[j][e];
  }
  consumers_bar();
  const int rec_len = 2 + kD;
  float* rec = p.part + (int64_t(kvh) * p.max_splits + split) * G * rec_len;
  for (int i = tid; i < G * kD; i += kCThreads) {
    const int j = i / kD, d = i % kD;
    float a = 0.0f;
    for (int k = 0; k < kConsumers; ++k) a += osum[(k * G + j) * kD + d];
    rec[j * rec_len + 2 + d] = a;
  }
  if (tid < G) {
    rec[tid * rec_len] = m_run[tid];
    rec[tid * rec_len + 1] = l_run[tid];
  }
  // The KV head's last item merges (threadFenceReduction).
  consumers_bar();
  mark(11);
  if (tid == 0) {
    unsigned* arrive = cnt + kPhaseCounters + kvh;
    __threadfence();
    const unsigned old = atomicAdd(arrive, 1u);
    __threadfence();
    *flag = old == unsigned(S - 1);
  }
  consumers_bar();
  mark(12);
  if (*flag == 0) return;
  const Fp8Quant quant(L.op[kO].x_scale, true);  // to_act's static arithmetic
  const float* recs = p.part + int64_t(kvh) * p.max_splits * G * rec_len;
  for (int i = tid; i < G * kD; i += kCThreads) {  // every split's record in flight at once
    const int j = i / kD, d = i % kD;
    float ms[kMaxSplits], ls[kMaxSplits], as[kMaxSplits];
#pragma unroll
    for (int sp = 0; sp < kMaxSplits; ++sp) {
      ms[sp] = -INFINITY;
      ls[sp] = as[sp] = 0.0f;
      if (sp < S) {
        const float* r = recs + (sp * G + j) * rec_len;
        ms[sp] = __ldcg(r);
        ls[sp] = __ldcg(r + 1);
        as[sp] = __ldcg(r + 2 + d);
      }
    }
    float mm = -INFINITY;
#pragma unroll
    for (int sp = 0; sp < kMaxSplits; ++sp) mm = fmaxf(mm, ms[sp]);
    float ll = 0.0f, aa = 0.0f;
#pragma unroll
    for (int sp = 0; sp < kMaxSplits; ++sp) {
      if (sp >= S) break;
      const float wt = attn::exp2_rel(ms[sp], mm);
      ll += ls[sp] * wt;
      aa += as[sp] * wt;
    }
    p.xo[int64_t(kvh) * G * kD + i] = quant(aa / ll * L.v_scale);
  }
  mark(13);
  signal_count(cnt + 1);
}
#endif

}  // namespace qinfer::ops::cuda::persist
