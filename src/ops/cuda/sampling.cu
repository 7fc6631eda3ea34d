// Next-token sampling on the GPU; contract and semantics in sampling_cuda.h (engine::Sampler's,
// row by row). The results go straight into page-locked host memory mapped into the device
// (no copy on the stream), an argument upload identical to the last is skipped, and with few
// rows the raw argmax runs over chunks of the row in several blocks (row_argmax): H100 batch-1
// decode 1B 1,294.6 / 1,293.8 / 1,293.8 tok/s against 1,280.2 / 1,276.8 / 1,277.7, 22.7 ->
// 11.0 us between steps (bench/results/gpu_run_s18.cmd q3 / q4). Then one thread block per
// sampled row walks the row's logits a few times:
//   raw argmax and log-sum-exp; penalties and temperature into a scratch row;
//   min_p against the row maximum; top_k and top_p as radix selects over order-preserving
//   float keys (8 bits per pass, 4 passes: the k-th largest key by count, and the largest key
//   whose inclusive weight reaches top_p's threshold); ties at a top_p cut resolved by id;
//   the draw as an exact integer inverse CDF in id order (sampling_math.h): per-thread chunk
//   sums, one block scan, and the one thread whose chunk holds the target walks it.
// A batch of plain greedy rows whose logits came from an lm_head that took their argmax itself
// (sampling_cuda.h note_greedy) runs none of this: greedy_finish_kernel, queued by the model
// after its lm_head, has already written the tokens, and the ticket reads its record set.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/env.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/fused_ops.h"
#include "ops/cuda/pdl.cuh"
#include "ops/cuda/sampling_cuda.h"

namespace qinfer::ops::cuda {
namespace {

namespace sm = ::qinfer::ops::sampling;
using u64 = unsigned long long;

constexpr int kThreads = 1024;
constexpr int kWarps = kThreads / 32;
static_assert(kWarps == 32, "block_argmax reduces the warps' maxima in one warp");
constexpr int kMaxTop = sm::kMaxTopLogprobs;

struct RowDesc {
  SampleRow r;
  int32_t scratch = -1;  // row of the scratch buffer for processed logits; -1: none needed
};

struct Shared {
  u64 hist[256];
  u64 warp_u[kWarps];
  double warp_d[kWarps];
  float warp_f[kWarps];
  int warp_i[kWarps];
  u64 bc_u[2];
  int bc_i[2];
  float bc_f;
  int top_ids[kMaxTop];
};

__device__ __forceinline__ float neg_inf() {
  return __int_as_float(0xff800000);
}

// (value, id) maximum, the lowest id among equal values (std::max_element's first maximum).
__device__ __forceinline__ void better(float& v, int& id, float v2, int id2) {
  if (v2 > v || (v2 == v && id2 < id)) v = v2, id = id2;
}

template <class Load>
__device__ void block_argmax(Load load, int n, Shared& sh, float* v_out, int* id_out) {
  float v = neg_inf();
  int id = n;
  for (int i = threadIdx.x; i < n; i += kThreads) better(v, id, load(i), i);
  for (int o = 16; o > 0; o >>= 1)
    better(v, id, __shfl_xor_sync(~0u, v, o), __shfl_xor_sync(~0u, id, o));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) sh.warp_f[warp] = v, sh.warp_i[warp] = id;
  __syncthreads();
  if (warp == 0) {  // the warps' maxima over the first warp's lanes (kWarps == 32)
    v = sh.warp_f[lane], id = sh.warp_i[lane];
    for (int o = 16; o > 0; o >>= 1)
      better(v, id, __shfl_xor_sync(~0u, v, o), __shfl_xor_sync(~0u, id, o));
    // An all -inf row (or NaN): the first token, as max_element returns then.
    if (lane == 0) sh.bc_f = v, sh.bc_i[0] = id < n ? id : 0;
  }
  __syncthreads();
  *v_out = sh.bc_f;
  *id_out = sh.bc_i[0];
  __syncthreads();
}

__device__ double block_sum(double v, Shared& sh) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(~0u, v, o);
  if (threadIdx.x % 32 == 0) sh.warp_d[threadIdx.x / 32] = v;
  __syncthreads();
  double s = 0;
  for (int w = 0; w < kWarps; ++w) s += sh.warp_d[w];
  __syncthreads();
  return s;
}

// Exclusive prefix sum of one value per thread (thread order); *total gets the block's sum.
__device__ u64 block_scan(u64 v, Shared& sh, u64* total) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  u64 incl = v;
  for (int o = 1; o < 32; o <<= 1) {
    const u64 t = __shfl_up_sync(~0u, incl, o);
    if (lane >= o) incl += t;
  }
  if (lane == 31) sh.warp_u[warp] = incl;
  __syncthreads();
  u64 before = 0, all = 0;
  for (int w = 0; w < kWarps; ++w) {
    if (w < warp) before += sh.warp_u[w];
    all += sh.warp_u[w];
  }
  __syncthreads();
  *total = all;
  return before + incl - v;
}

__device__ u64 block_sum(u64 v, Shared& sh) {
  u64 total;
  block_scan(v, sh, &total);
  return total;
}

// Radix select, largest first: the largest key K with weight{key >= K} >= need, where
// `key_weight(i, &key, &w)` gives each element's key and weight. kCount: every weight is 1,
// and a warp's lanes that fall in one bin add their count with one atomic (logits share a few
// top-byte bins, so per-element shared atomics would serialize).
// *above = weight{key > K}, *at = weight{key == K}. False when the whole row weighs less.
template <bool kCount, class KeyWeight>
__device__ bool radix_select(KeyWeight key_weight, int n, u64 need, Shared& sh, uint32_t* key,
                             u64* above, u64* at) {
  uint32_t prefix = 0, mask = 0;
  u64 acc_above = 0, acc_at = 0;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int i = threadIdx.x; i < 256; i += kThreads) sh.hist[i] = 0;
    __syncthreads();
    for (int base = 0; base < n; base += kThreads) {
      const int i = base + int(threadIdx.x);
      uint32_t k = 0;
      u64 w = 0;
      if (i < n) key_weight(i, &k, &w);
      const bool take = w != 0 && (k & mask) == prefix;
      const unsigned bin = take ? (k >> shift) & 255u : 256u;
      if constexpr (kCount) {
        const unsigned peers = __match_any_sync(~0u, bin);
        if (take && int(threadIdx.x % 32) == __ffs(int(peers)) - 1)
          atomicAdd(&sh.hist[bin], u64(__popc(peers)));
      } else if (take) {
        atomicAdd(&sh.hist[bin], w);
      }
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      u64 acc = acc_above;
      int d = 255;
      for (; d >= 0; --d) {
        if (acc + sh.hist[d] >= need) break;
        acc += sh.hist[d];
      }
      sh.bc_i[0] = d;
      sh.bc_u[0] = acc;
      sh.bc_u[1] = d >= 0 ? sh.hist[d] : 0;
    }
    __syncthreads();
    const int d = sh.bc_i[0];
    acc_above = sh.bc_u[0];
    acc_at = sh.bc_u[1];
    __syncthreads();
    if (d < 0) return false;
    prefix |= uint32_t(d) << shift;
    mask |= 255u << shift;
  }
  *key = prefix;
  *above = acc_above;
  *at = acc_at;
  return true;
}

// Visits the elements where pred(i) holds in increasing i: ids of ranks < cap go to out[rank];
// returns the id of rank `nth` (-1 if fewer match). Stops after rank max(nth, cap - 1).
template <class Pred>
__device__ int first_matches(Pred pred, int n, int nth, int* out, int cap, Shared& sh) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int last = max(nth, cap - 1);
  int base = 0, found = -1;
  if (threadIdx.x == 0) sh.bc_i[1] = -1;
  for (int tile = 0; tile < n && base <= last; tile += kThreads) {
    const int i = tile + int(threadIdx.x);
    const bool f = i < n && pred(i);
    const unsigned b = __ballot_sync(~0u, f);
    if (lane == 0) sh.warp_i[warp] = __popc(b);
    __syncthreads();
    int before = 0, all = 0;
    for (int w = 0; w < kWarps; ++w) {
      if (w < warp) before += sh.warp_i[w];
      all += sh.warp_i[w];
    }
    if (f) {
      const int rank = base + before + __popc(b & ((1u << lane) - 1u));
      if (rank < cap) out[rank] = i;
      if (rank == nth) sh.bc_i[1] = i;
    }
    base += all;
    __syncthreads();
  }
  found = sh.bc_i[1];
  __syncthreads();
  return found;
}

// Appends every i with pred(i) to out[0, cap), in any order, through a shared counter (one
// pass, no per-tile barriers); returns how many matched.
template <class Pred>
__device__ int collect(Pred pred, int n, int* out, int cap, Shared& sh) {
  if (threadIdx.x == 0) sh.bc_i[1] = 0;
  __syncthreads();
  for (int i = threadIdx.x; i < n; i += kThreads) {
    if (pred(i)) {
      const int slot = atomicAdd(&sh.bc_i[1], 1);
      if (slot < cap) out[slot] = i;
    }
  }
  __syncthreads();
  const int count = sh.bc_i[1];
  __syncthreads();
  return count;
}

// The truncated draw (temperature > 0) over processed logits p (penalized, / temperature).
__device__ int draw_row(const float* p, int V, const SampleRow& r, int raw_arg, Shared& sh) {
  float mx;
  int unused;
  block_argmax([&](int i) { return p[i]; }, V, sh, &mx, &unused);
  const bool has_min_p = r.min_p > 0.0f;
  const float cut = mx + r.log_min_p;
  auto v1 = [&](int i) {
    const float v = p[i];
    return has_min_p && v < cut ? neg_inf() : v;
  };
  // top_k: the k-th largest key after min_p; ties with it are kept.
  const bool has_top_k = r.top_k > 0 && r.top_k < V;
  uint32_t kth = 0;
  if (has_top_k) {
    u64 above, at;
    radix_select<true>([&](int i, uint32_t* k, u64* w) { *k = sm::order_key(v1(i)), *w = 1; }, V,
                       u64(r.top_k), sh, &kth, &above, &at);
  }
  auto v2 = [&](int i) {
    const float v = v1(i);
    return has_top_k && sm::order_key(v) < kth ? neg_inf() : v;
  };
  // top_p: the cut token is the first (logit desc, id asc) whose inclusive weight reaches
  // `need`: all keys above K, and the m lowest ids of key K.
  bool has_top_p = r.top_p < 1.0f;
  uint32_t kp = 0;
  int id_cut = V;
  if (has_top_p) {
    u64 part = 0;
    for (int i = threadIdx.x; i < V; i += kThreads) part += sm::weight(v2(i), mx);
    const u64 total = block_sum(part, sh);
    const u64 need = sm::top_p_threshold(r.top_p, total);
    u64 above = 0, at = 0;
    has_top_p = total > 0 && radix_select<false>(
                                 [&](int i, uint32_t* k, u64* w) {
                                   const float v = v2(i);
                                   *k = sm::order_key(v), *w = sm::weight(v, mx);
                                 },
                                 V, need, sh, &kp, &above, &at);
    if (has_top_p) {
      const u64 w = sm::weight(sm::key_value(kp), mx);  // > 0: the group holds weight
      const u64 m = (need - above + w - 1) / w;
      if (m < at / w)
        id_cut = first_matches([&](int i) { return sm::order_key(v2(i)) == kp; }, V, int(m - 1),
                               nullptr, 0, sh);
    }
  }
  auto weight = [&](int i) -> u64 {
    const float v = v2(i);
    if (has_top_p) {
      const uint32_t k = sm::order_key(v);
      if (k < kp || (k == kp && i > id_cut)) return 0;
    }
    return sm::weight(v, mx);
  };
  // Inverse CDF in id order: thread t owns ids [t * chunk, (t + 1) * chunk).
  const int chunk = (V + kThreads - 1) / kThreads;
  const int b = int(threadIdx.x) * chunk, e = min(V, b + chunk);
  u64 s = 0;
  for (int i = b; i < e; ++i) s += weight(i);
  u64 total;
  const u64 excl = block_scan(s, sh, &total);
  if (total == 0) return raw_arg;
  const u64 target = sm::draw_target(r.uniform, total);
  if (threadIdx.x == 0) sh.bc_i[0] = raw_arg;
  __syncthreads();
  if (s > 0 && excl <= target && target < excl + s) {
    u64 cum = excl;
    for (int i = b; i < e; ++i) {
      cum += weight(i);
      if (cum > target) {
        sh.bc_i[0] = i;
        break;
      }
    }
  }
  __syncthreads();
  const int tok = sh.bc_i[0];
  __syncthreads();
  return tok;
}

// Raw log-probabilities: the token's and the n_top most likely (logit desc, id asc).
__device__ void logprobs(const float* raw, int V, float raw_mx, int token, int n_top,
                         SampleOut* out, Shared& sh) {
  double part = 0;
  for (int i = threadIdx.x; i < V; i += kThreads) part += double(expf(raw[i] - raw_mx));
  const double sum = block_sum(part, sh);
  const double lse = double(raw_mx) + log(sum);
  if (threadIdx.x == 0) out->logprob = float(double(raw[token]) - lse);
  n_top = min(n_top, V);
  if (n_top <= 0) return;
  uint32_t kn;
  u64 above, at;
  radix_select<true>([&](int i, uint32_t* k, u64* w) { *k = sm::order_key(raw[i]), *w = 1; }, V,
                     u64(n_top), sh, &kn, &above, &at);
  // Every key above the n-th (fewer than n_top: any order, sorted below), then the lowest ids
  // of the n-th key's ties; in id order only when there are more ties than places.
  const int n_above = int(above), n_tied = n_top - n_above;
  collect([&](int i) { return sm::order_key(raw[i]) > kn; }, V, sh.top_ids, n_above, sh);
  auto tied = [&](int i) { return sm::order_key(raw[i]) == kn; };
  if (at == u64(n_tied))
    collect(tied, V, sh.top_ids + n_above, n_tied, sh);
  else
    first_matches(tied, V, -1, sh.top_ids + n_above, n_tied, sh);
  if (threadIdx.x == 0) {
    int* ids = sh.top_ids;
    for (int a = 1; a < n_top; ++a)  // insertion sort, at most 20 entries
      for (int j = a; j > 0; --j) {
        const float x = raw[ids[j]], y = raw[ids[j - 1]];
        if (x > y || (x == y && ids[j] < ids[j - 1])) {
          const int t = ids[j];
          ids[j] = ids[j - 1];
          ids[j - 1] = t;
        }
      }
    out->n_top = n_top;
    for (int j = 0; j < n_top; ++j) {
      out->top_id[j] = ids[j];
      out->top_logprob[j] = float(double(raw[ids[j]]) - lse);
    }
  }
  __syncthreads();
}

// The raw argmax of a row over gridDim.y blocks (few rows: one block alone reads a 128k
// vocabulary at ~60 GB/s, 8.3 us of the H100's batch-1 step): block y takes the y-th of
// gridDim.y equal runs of the row, leaves its (max, id) in parts and counts itself on the
// row's counter; the block that counts last reduces the parts (the lowest id among equal
// maxima, as one block would) and goes on with the row alone, resetting the counter for the
// next launch. Returns false in the other blocks, which are done.
constexpr int kChunk = 4096;  // the least a block of row_argmax takes

struct ArgPart {
  float v;
  int id;
};

__device__ bool row_argmax(const float* raw, int V, ArgPart* parts, int* counter, Shared& sh,
                           float* v_out, int* id_out) {
  if (gridDim.y == 1) {
    block_argmax([&](int i) { return raw[i]; }, V, sh, v_out, id_out);
    return true;
  }
  const int per = (V + int(gridDim.y) - 1) / int(gridDim.y);
  const int c0 = min(V, int(blockIdx.y) * per), n = min(V - c0, per);
  float v;
  int id;
  block_argmax([&](int i) { return raw[c0 + i]; }, n, sh, &v, &id);
  if (threadIdx.x == 0) {
    parts[blockIdx.y] = ArgPart{v, c0 + id};
    __threadfence();
    sh.bc_i[1] = atomicAdd(counter, 1) == int(gridDim.y) - 1;
  }
  __syncthreads();
  if (!sh.bc_i[1]) return false;
  __threadfence();
  if (threadIdx.x < 32) {
    v = neg_inf();
    id = V;
    for (int j = int(threadIdx.x); j < int(gridDim.y); j += 32) {
      const float pv = __ldcg(&parts[j].v);
      const int pi = __ldcg(&parts[j].id);
      better(v, id, pv, pi);
    }
    for (int o = 16; o > 0; o >>= 1)
      better(v, id, __shfl_xor_sync(~0u, v, o), __shfl_xor_sync(~0u, id, o));
    if (threadIdx.x == 0) {
      sh.bc_f = v;
      sh.bc_i[0] = id < V ? id : 0;
      *counter = 0;
    }
  }
  __syncthreads();
  *v_out = sh.bc_f;
  *id_out = sh.bc_i[0];
  __syncthreads();
  return true;
}

// logits: (n_logits_rows, V); scratch: (n_scratch, V); blocks (row of `rows`, chunk): see
// row_argmax (parts: gridDim.y a row, counters: one a row). outs: page-locked host memory
// mapped into the device (the results go to the host without a copy on the stream).
__global__ void __launch_bounds__(kThreads)
    sample_kernel(const float* logits, int V, const RowDesc* rows, const SamplePenalty* penalties,
                  float* scratch, SampleOut* outs, int32_t* fed, ArgPart* parts, int* counters) {
  __shared__ Shared sh;
  const int row = int(blockIdx.x);
  const RowDesc d = rows[row];
  const SampleRow& r = d.r;
  const float* raw = logits + int64_t(r.logits_row) * V;
  SampleOut* out = outs + row;
  float raw_mx;
  int raw_arg;
  if (!row_argmax(raw, V, parts + int64_t(row) * gridDim.y, counters + row, sh, &raw_mx,
                  &raw_arg))
    return;
  int token = raw_arg;
  if (d.scratch >= 0) {
    // Penalties (repetition, then presence / frequency: sampler.cc's order and float
    // operations, unfused), then temperature.
    float* p = scratch + int64_t(d.scratch) * V;
    const float t = r.temperature;
    for (int i = threadIdx.x; i < V; i += kThreads) p[i] = t > 0.0f ? __fdiv_rn(raw[i], t) : raw[i];
    __syncthreads();
    const bool rep = r.repetition_penalty != 1.0f;
    const bool pres = r.presence_penalty != 0.0f || r.frequency_penalty != 0.0f;
    for (int j = r.penalty_begin + int(threadIdx.x); j < r.penalty_end; j += kThreads) {
      const SamplePenalty e = penalties[j];
      float v = raw[e.id];
      if (rep && e.in_context)
        v = v > 0.0f ? __fdiv_rn(v, r.repetition_penalty) : __fmul_rn(v, r.repetition_penalty);
      if (pres && e.count > 0)
        v = __fsub_rn(
            v, __fadd_rn(r.presence_penalty, __fmul_rn(r.frequency_penalty, float(e.count))));
      p[e.id] = t > 0.0f ? __fdiv_rn(v, t) : v;
    }
    __syncthreads();
    if (t == 0.0f) {
      float unused;
      block_argmax([&](int i) { return p[i]; }, V, sh, &unused, &token);
    } else {
      token = draw_row(p, V, r, raw_arg, sh);
    }
  }
  if (threadIdx.x == 0) {
    fed[row] = token;
    out->token = token;
    out->logprob = 0.0f;
    out->n_top = 0;
  }
  if (r.want_logprob || r.n_top > 0) logprobs(raw, V, raw_mx, token, r.n_top, out, sh);
}

__global__ void ban_kernel(float* logits, const int64_t* flat, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) logits[flat[i]] = __int_as_float(0xff800000);
}

// The greedy samples the lm_head made (sampling_cuda.h finish_greedy): page-locked host
// memory mapped into the device, two record sets used by the parity of the step's tag.
struct GreedySets {
  SampleOut rows[2][kMaxGreedyRows];
  uint32_t tag[2];
};

// keys: (kGreedyKeyWords) the lm_head's partial maxima, zeroed here for the next step. Warp w
// takes row w, lane p its part p.
__global__ void __launch_bounds__(32 * kMaxGreedyRows)
    greedy_finish_kernel(unsigned long long* keys, int n, const int32_t* tag, int32_t* fed,
                         GreedySets* sets) {
  pdl_wait();
  const int row = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
  static_assert(kGreedyParts == 32, "a warp reduces a row's parts");
  if (row >= n) return;
  const uint32_t g = uint32_t(*tag);
  unsigned long long* part = keys + (int64_t(row) * kGreedyParts + lane) * kGreedyStride;
  unsigned long long key = *part;
  *part = 0;
  for (int o = 16; o > 0; o >>= 1) {
    const unsigned long long other = __shfl_xor_sync(~0u, key, o);
    key = other > key ? other : key;
  }
  if (lane != 0) return;
  const int32_t token = sm::greedy_token(key);
  fed[row] = token;
  SampleOut& o = sets->rows[g & 1][row];
  o.token = token;
  o.logprob = 0.0f;
  o.n_top = 0;
  if (row == 0) sets->tag[g & 1] = g;
}

bool needs_processing(const SampleRow& r) {
  return r.temperature > 0.0f || r.repetition_penalty != 1.0f || r.presence_penalty != 0.0f ||
         r.frequency_penalty != 0.0f;
}

size_t align_up(size_t n) {
  return (n + 255) / 256 * 256;
}

ScratchBuffer g_args;     // rows | penalties | bans | outputs (device)
ScratchBuffer g_scratch;  // (rows needing processing, vocab) F32

// Page-locked staging of one outstanding call: its packed arguments on the way up and its
// SampleOuts on the way down.
struct Slot {
  PinnedStaging in, out;
  uint64_t id = 0;  // the ticket whose results `out` holds (or will)
  bool greedy = false;  // the results are the lm_head's, in greedy set (greedy_tag & 1)
  uint32_t greedy_tag = 0;
};
Slot* const g_slots = new Slot[2];  // never destroyed: no CUDA calls after main returns
uint64_t g_next_id = 1;
int32_t* g_fed = nullptr;  // (kMaxFedRows) I32
int* g_counters = nullptr;  // (kMaxFedRows) row_argmax's, zero between launches
ScratchBuffer g_parts;      // (rows, chunks) ArgPart
// The last argument upload (bytes and device address): an identical one is skipped (a decode
// step's rows are the same step after step).
std::vector<uint8_t> g_last_args;
const void* g_last_args_dev = nullptr;

unsigned long long* g_greedy_keys = nullptr;  // (kGreedyKeyWords)
GreedySets* g_greedy = nullptr;               // page-locked
GreedySets* g_greedy_dev = nullptr;           // its device address
struct GreedyNote {
  const float* logits = nullptr;
  int n = 0;
  uint32_t tag = 0;
};
GreedyNote g_greedy_note;

// Whether the lm_head's greedy samples answer this batch: every row is row i of the noted
// logits, greedy on the raw logits (the sampler's scratch-free path) with nothing else asked
// and no bans (the rows' ban ranges index into batch.bans).
bool greedy_answers(const GreedyNote& note, const Tensor& logits, const SampleBatch& batch) {
  const int n = int(batch.rows.size());
  if (note.logits == nullptr || note.logits != logits.data_as<float>() || n != note.n ||
      logits.dim(0) != n || !batch.bans.empty())
    return false;
  for (int i = 0; i < n; ++i) {
    const SampleRow& r = batch.rows[size_t(i)];
    if (r.logits_row != i || r.temperature != 0.0f || needs_processing(r) || r.want_logprob ||
        r.n_top > 0)
      return false;
  }
  return true;
}

int32_t* fed_tokens() {
  if (g_fed == nullptr)
    g_fed = static_cast<int32_t*>(device_alloc(size_t(kMaxFedRows) * sizeof(int32_t)));
  return g_fed;
}

}  // namespace

const int32_t* sampled_tokens_device() { return fed_tokens(); }

unsigned long long* greedy_keys_device() {
  if (g_greedy_keys != nullptr) return g_greedy_keys;
  cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
  QINFER_CUDA_CHECK(cudaStreamIsCapturing(stream(), &capturing));
  if (capturing != cudaStreamCaptureStatusNone) return nullptr;
  g_greedy = static_cast<GreedySets*>(pinned_alloc(sizeof(GreedySets)));
  std::memset(static_cast<void*>(g_greedy), 0, sizeof(GreedySets));
  QINFER_CUDA_CHECK(
      cudaHostGetDevicePointer(reinterpret_cast<void**>(&g_greedy_dev), g_greedy, 0));
  const size_t bytes = size_t(kGreedyKeyWords) * sizeof(unsigned long long);
  auto* keys = static_cast<unsigned long long*>(device_alloc(bytes));
  QINFER_CUDA_CHECK(cudaMemsetAsync(keys, 0, bytes, stream()));
  g_greedy_keys = keys;
  return keys;
}

void finish_greedy(int n, const int32_t* tag) {
  QINFER_CHECK(n >= 1 && n <= kMaxGreedyRows && g_greedy_keys != nullptr && tag != nullptr,
               "finish_greedy: ", n, " rows (at most ", kMaxGreedyRows,
               "), or no greedy_keys_device() yet");
  launch_pdl(greedy_finish_kernel, dim3(1), dim3(32 * kMaxGreedyRows), g_greedy_keys, n, tag,
             fed_tokens(), g_greedy_dev);
}

void note_greedy(const float* logits, int n, uint32_t tag) {
  g_greedy_note = GreedyNote{.logits = logits, .n = n, .tag = tag};
}

SampleTicket sample_rows_async(Tensor& logits, const SampleBatch& batch) {
  check_cuda_tensor(logits, "sample_rows", "logits");
  QINFER_CHECK(logits.dtype() == DType::kF32 && logits.ndim() == 2,
               "sample_rows: logits must be (rows, vocab) F32, got ", dtype_name(logits.dtype()),
               " ", shape_str(logits.shape()));
  const int64_t n_logits = logits.dim(0), V = logits.dim(1);
  QINFER_CHECK(V > 0 && V <= (int64_t(1) << (64 - sm::kWeightBits)), "sample_rows: vocabulary of ",
               V, " tokens is out of range");
  const int n = int(batch.rows.size());
  if (n == 0) return {};
  QINFER_CHECK(n <= kMaxFedRows, "sample_rows: ", n, " rows exceed the limit of ", kMaxFedRows);
  std::vector<RowDesc> descs(static_cast<size_t>(n));
  std::vector<int64_t> bans;
  int n_scratch = 0;
  for (int i = 0; i < n; ++i) {
    const SampleRow& r = batch.rows[size_t(i)];
    QINFER_CHECK(r.logits_row >= 0 && r.logits_row < n_logits, "sample_rows: row ", i,
                 " reads logits row ", r.logits_row, " of ", n_logits);
    QINFER_CHECK(r.n_top >= 0 && r.n_top <= sm::kMaxTopLogprobs, "sample_rows: n_top ", r.n_top,
                 " is out of range [0, ", sm::kMaxTopLogprobs, "]");
    QINFER_CHECK(0 <= r.penalty_begin && r.penalty_begin <= r.penalty_end &&
                     size_t(r.penalty_end) <= batch.penalties.size() && 0 <= r.ban_begin &&
                     r.ban_begin <= r.ban_end && size_t(r.ban_end) <= batch.bans.size(),
                 "sample_rows: row ", i, " has bad penalty or ban ranges");
    for (int j = r.penalty_begin; j < r.penalty_end; ++j) {
      const int32_t id = batch.penalties[size_t(j)].id;
      QINFER_CHECK(id >= 0 && id < V, "sample_rows: penalty token ", id, " is out of range");
    }
    for (int j = r.ban_begin; j < r.ban_end; ++j) {
      const int32_t id = batch.bans[size_t(j)];
      QINFER_CHECK(id >= 0 && id < V, "sample_rows: banned token ", id, " is out of range");
      bans.push_back(int64_t(r.logits_row) * V + id);
    }
    descs[size_t(i)] = {.r = r, .scratch = needs_processing(r) ? n_scratch++ : -1};
  }
  const GreedyNote note = g_greedy_note;
  g_greedy_note = GreedyNote{};
  cudaStream_t s = stream();
  if (greedy_answers(note, logits, batch)) {
    const uint64_t id = g_next_id++;
    const int k = int(id % 2);
    Slot& sl = g_slots[k];
    sl.out.wait();  // the ticket this slot held before is over
    sl.id = id;
    sl.greedy = true;
    sl.greedy_tag = note.tag;
    sl.out.record(s);  // after the forward's finish_greedy
    return {.id = id, .slot = k, .n = n};
  }
  // One upload of rows | penalties | bans from page-locked memory; the outputs follow them in
  // the device buffer.
  const size_t o_rows = 0;
  const size_t o_pen = o_rows + align_up(descs.size() * sizeof(RowDesc));
  const size_t o_ban = o_pen + align_up(batch.penalties.size() * sizeof(SamplePenalty));
  const size_t o_out = o_ban + align_up(bans.size() * sizeof(int64_t));
  const size_t bytes = o_out + align_up(size_t(n) * sizeof(SampleOut));
  const uint64_t id = g_next_id++;
  const int k = int(id % 2);
  Slot& sl = g_slots[k];
  auto* in = static_cast<uint8_t*>(sl.in.reuse(o_out));
  auto* host_out = static_cast<SampleOut*>(sl.out.reuse(size_t(n) * sizeof(SampleOut)));
  sl.id = id;
  sl.greedy = false;
  std::memcpy(in + o_rows, descs.data(), descs.size() * sizeof(RowDesc));
  if (!batch.penalties.empty())
    std::memcpy(in + o_pen, batch.penalties.data(),
                batch.penalties.size() * sizeof(SamplePenalty));
  if (!bans.empty()) std::memcpy(in + o_ban, bans.data(), bans.size() * sizeof(int64_t));
  auto* args = static_cast<uint8_t*>(g_args.get(bytes));
  if (args != g_last_args_dev || g_last_args.size() != o_out ||
      std::memcmp(g_last_args.data(), in, o_out) != 0) {
    QINFER_CUDA_CHECK(cudaMemcpyAsync(args, in, o_out, cudaMemcpyHostToDevice, s));
    g_last_args.assign(in, in + o_out);
    g_last_args_dev = args;
  }
  sl.in.record(s);
  float* scratch =
      n_scratch > 0
          ? static_cast<float*>(g_scratch.get(size_t(n_scratch) * size_t(V) * sizeof(float)))
          : nullptr;
  float* l = logits.data_as<float>();
  if (!bans.empty()) {
    ban_kernel<<<unsigned((bans.size() + 255) / 256), 256, 0, s>>>(
        l, reinterpret_cast<const int64_t*>(args + o_ban), int(bans.size()));
    QINFER_CUDA_CHECK_LAUNCH();
  }
  // The kernel writes the SampleOuts into the page-locked buffer itself, where it is mapped
  // into the device (QINFER_CUDA_SAMPLE_MAPPED=0: a copy on the stream instead).
  static const bool mapped = env_switch("QINFER_CUDA_SAMPLE_MAPPED", 1) != 0;
  SampleOut* outs = reinterpret_cast<SampleOut*>(args + o_out);
  if (mapped)
    QINFER_CUDA_CHECK(cudaHostGetDevicePointer(reinterpret_cast<void**>(&outs), host_out, 0));
  // Chunks a row: enough blocks for two a multiprocessor while rows are few (row_argmax;
  // QINFER_CUDA_SAMPLE_CHUNKS=0: one block a row).
  static const bool chunked = env_switch("QINFER_CUDA_SAMPLE_CHUNKS", 1) != 0;
  const int chunks =
      chunked ? int(std::clamp<int64_t>(2 * int64_t(sm_count()) / n, 1,
                                        std::min<int64_t>((V + kChunk - 1) / kChunk, 65535)))
              : 1;
  ArgPart* parts = nullptr;
  if (chunks > 1) {
    if (g_counters == nullptr) {
      g_counters = static_cast<int*>(device_alloc(size_t(kMaxFedRows) * sizeof(int)));
      QINFER_CUDA_CHECK(cudaMemsetAsync(g_counters, 0, size_t(kMaxFedRows) * sizeof(int), s));
    }
    parts = static_cast<ArgPart*>(g_parts.get(size_t(n) * size_t(chunks) * sizeof(ArgPart)));
  }
  sample_kernel<<<dim3(unsigned(n), unsigned(chunks)), kThreads, 0, s>>>(
      l, int(V), reinterpret_cast<const RowDesc*>(args + o_rows),
      reinterpret_cast<const SamplePenalty*>(args + o_pen), scratch, outs, fed_tokens(), parts,
      g_counters);
  QINFER_CUDA_CHECK_LAUNCH();
  if (!mapped)
    QINFER_CUDA_CHECK(
        cudaMemcpyAsync(host_out, outs, size_t(n) * sizeof(SampleOut), cudaMemcpyDeviceToHost, s));
  sl.out.record(s);
  return {.id = id, .slot = k, .n = n};
}

std::vector<SampleOut> sample_rows_wait(const SampleTicket& t) {
  if (t.id == 0) return {};
  QINFER_CHECK(t.slot >= 0 && t.slot < 2 && g_slots[t.slot].id == t.id,
               "sample_rows_wait: ticket ", t.id, " was overwritten by a later call");
  Slot& sl = g_slots[t.slot];
  sl.out.wait();
  if (sl.greedy) {
    const int set = int(sl.greedy_tag & 1);
    QINFER_CHECK(g_greedy->tag[set] == sl.greedy_tag, "sample_rows_wait: the greedy samples of "
                 "step ", sl.greedy_tag, " were overwritten by step ", g_greedy->tag[set],
                 " before they were read");
    return std::vector<SampleOut>(g_greedy->rows[set], g_greedy->rows[set] + t.n);
  }
  const auto* host_out = static_cast<const SampleOut*>(sl.out.data());
  return std::vector<SampleOut>(host_out, host_out + t.n);
}

std::vector<SampleOut> sample_rows(Tensor& logits, const SampleBatch& batch) {
  return sample_rows_wait(sample_rows_async(logits, batch));
}

}  // namespace qinfer::ops::cuda
