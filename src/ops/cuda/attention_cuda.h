// Internal entry points of the CUDA attention path used by the model's CUDA runner
// (src/model/llama_cuda.cc): one step's batch described once in device memory and shared by
// every layer, RoPE fused with the KV-cache write, a paged decode kernel whose launch is fixed
// for CUDA-graph replay (also fused with RoPE and the cache write: attention_decode_rope), and
// a tensor-core (flash-attention style) prefill kernel. Every kernel here is launched with
// programmatic dependent launch (ops/cuda/pdl.cuh) and waits for the previous kernel on the
// stream before touching memory it may write (attention_decode_rope on the latency path reads
// the batch metadata and older cache rows before that wait: see there).
// The generic ops::attention (src/ops/attention.h) stays the cross-backend contract.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

// cudaStream_t without the CUDA headers: model code includes this file through fused_ops.h.
struct CUstream_st;
typedef struct CUstream_st* cudaStream_t;

namespace qinfer::ops::cuda {

// One forward step's batch, in device memory. For CUDA graphs the pointers stay fixed across
// replays; the host rewrites what they point to before each replay.
struct AttnBatch {
  const int32_t* tok_seq = nullptr;      // (n_tok) sequence index of each new token
  const int32_t* tok_pos = nullptr;      // (n_tok) absolute position of each new token
  const int32_t* seq_q_start = nullptr;  // (n_seq + 1) first qkv row of each sequence; last = n_tok
  const int32_t* seq_len = nullptr;      // (n_seq) n_past + n_new: keys after this step
  const int32_t* block_tables = nullptr;  // (n_seq, max_blocks) row-major, physical block ids
  int n_tok = 0, n_seq = 0, max_blocks = 0;
  int max_seq_len = 0;  // host-known bound on seq_len over the batch (plans splits / tiles)
  int max_q_len = 0;    // host-known max n_new over the batch
  // Decode only. n_split > 0 fixes the number of key splits per (token, KV head) (graph
  // replay: the launch must not depend on the lengths, each split takes
  // ceil(len / n_split) keys, computed on the device, len = tok_pos + 1; splits past the
  // end are empty and harmless; the latency path takes at most 8, one thread-block cluster);
  // 0 lets the launcher plan from max_seq_len (attention_decode_splits). `partials`, when
  // set, is caller-owned scratch of attention_decode_scratch_bytes(n_tok, dims, splits)
  // bytes for the split count in use (graphs need a fixed address). With more than one
  // split it starts with per-(token, KV head) counters that must be zero when a launch
  // starts; every launch leaves them zero, so call attention_decode_scratch_init once after
  // allocating it (and again before a launch with more tokens or KV heads than the previous
  // launch on it: that one's partials overwrote the counters past its own; or after a launch
  // failed). The latency path leaves the partials untouched. Null uses a scratch
  // buffer of the backend, which may allocate and zero its counters, so it must not be first
  // reached inside a graph capture; a graph that uses it must not be replayed after other
  // launches of a different n_tok or n_head_kv used it (their partials overwrite its counters).
  int n_split = 0;
  float* partials = nullptr;
  // Decode only: every token is its sequence's only new token and every key before its
  // position was written before the step's kernels started (earlier steps), as the model's
  // decode batches guarantee. attention_decode_tc may then read tok_pos, tok_seq,
  // block_tables and those keys before it waits for the previous kernel on the stream
  // (attention_early_loads()), so that kernel must write none of them.
  bool past_ready = false;
};

// Whether the decode kernels read ahead of the previous kernel (AttnBatch::past_ready) and
// rope_kv_write lets its successor launch before it waits (QINFER_CUDA_ATTN_EARLY, default 1).
bool attention_early_loads();

// One layer of the paged cache: (n_block, block_size, n_head_kv, head_dim) each.
struct KvCacheView {
  void* k = nullptr;
  void* v = nullptr;
  DType dtype = DType::kBF16;  // F32, BF16 or F8_E4M3
  int n_block = 0, block_size = 0;
  float k_scale = 1.0f, v_scale = 1.0f;  // F8_E4M3: stored = fp8(x / scale), read = code * scale
};

// Supported by every kernel here: n_head a multiple of n_head_kv, group n_head / n_head_kv
// <= 8, any even head_dim in [2, 256]. The cache and qkv base pointers must be 16-byte
// aligned (the allocator's are): head_dim % 8 == 0 (every Llama size; an F32 cache's decode
// also % 4) moves rows in 16-byte vectors, other even head dims in narrower ones.
struct AttnDims {
  int n_head = 0, n_head_kv = 0, head_dim = 0;
  float scale = 0.0f;  // 1 / sqrt(head_dim)
};

// qkv: (n_tok, (n_head + 2 n_head_kv) head_dim) F32, rows q heads | k heads | v heads.
// RoPE (rotate-half; inv_freq (head_dim / 2) F32 on the device, positions tok_pos) is applied in
// place to the q and k heads, then k and v of every token go to their cache slots
// (block_tables[seq][pos / block_size], slot pos % block_size), converted to the cache dtype.
// inv_freq null: no rotation, qkv is only read (ops::attention receives q and k rotated).
// A decode batch's operands for the QKV GEMV's RoPE epilogue (linear_from_f32_rope, fused_ops.h),
// the same for every layer of a step: cos_sin (n_tok, head_dim / 2, 2) = cos, sin of tok_pos[t]
// * inv_freq[j] (the arithmetic of rope_kv_write) and slot (n_tok) = the cache slot of each
// token's position (block id * block_size + pos % block_size). A plain launch (it waits for
// the previous kernel and the next one waits for it).
void rope_prepare(const AttnBatch& b, const AttnDims& d, const float* inv_freq, int block_size,
                  float* cos_sin, int64_t* slot, cudaStream_t s);
void rope_kv_write(float* qkv, const AttnBatch& b, const AttnDims& d, const float* inv_freq,
                   const KvCacheView& kv, cudaStream_t s);
// rope_kv_write for a qkv row that the QKV GEMM wrote in BF16 (linear_act_bf16), qkv16 (n_tok,
// (n_head + 2 n_head_kv) head_dim): the same rotation and cache stores from its BF16 values, and
// the rotated q heads written to q (the same layout in F32, where the attention kernels read
// them; q's k and v columns are left alone). Half the bytes of the F32 row to write and read.
// Needs inv_freq and head_dim % 8 == 0 (rope_kv_write_from_bf16_applies, which also honours
// QINFER_CUDA_QKV_BF16, default 1).
bool rope_kv_write_from_bf16_applies(const AttnDims& d);
void rope_kv_write_from_bf16(const void* qkv16, float* q, const AttnBatch& b, const AttnDims& d,
                             const float* inv_freq, const KvCacheView& kv, cudaStream_t s);
// Tests only: rope_kv_write's blocks wait ns nanoseconds (after the previous kernel) before
// they read qkv and write the cache, so that a successor reading ahead of its wait
// (AttnBatch::past_ready) would see the cache rows before the write. 0 (default): no wait.
void set_rope_kv_write_delay(int ns);

// out: (n_tok, n_head head_dim) F32. Causal GQA attention of every new token over its
// sequence's cached keys 0 .. tok_pos (the cache already holds this step's keys).
// Decode: CUDA cores, fp32, split-K over keys (flash-decoding), any n_new per sequence; one
// kernel (the last split block of a (token, KV head) merges the splits; on the latency path,
// set_attention_latency_path, the cluster of split blocks merges them in shared memory).
// Launch (grid, shared memory, pointers) depends only on n_tok, dims, n_split and partials
// (and the path setting).
void attention_decode(const float* qkv, const AttnBatch& b, const AttnDims& d,
                      const KvCacheView& kv, float* out, cudaStream_t s);

// rope_kv_write(qkv, b, d, inv_freq, kv, s) then attention_decode(qkv, b, d, kv, out, s) as
// one kernel launch: the same `out` bits and the same cache bytes. Only for batches in which
// every token is its sequence's only new token (n_tok == n_seq, seq_q_start[i] == i,
// max_q_len <= 1: the decode / graph path; the host checks n_tok == n_seq and max_q_len <= 1),
// since a token's keys before tok_pos must already be in the cache: blocks of different tokens
// run in no order. Graph padding rows that repeat a sequence's token are fine (they write the
// same bytes to the same slot). qkv is only read: its q and k heads stay unrotated (unlike
// rope_kv_write, which rotates them in place). inv_freq null: no rotation. n_split and
// partials as for attention_decode. On the latency path it reads tok_pos, tok_seq,
// block_tables, inv_freq and the cache rows of positions before each token's own before it
// waits for the previous kernel on the stream, so that kernel must write none of them (the
// model's QKV projection writes only qkv; the metadata comes from a copy before the step).
void attention_decode_rope(float* qkv, const AttnBatch& b, const AttnDims& d, const float* inv_freq,
                           const KvCacheView& kv, float* out, cudaStream_t s);

size_t attention_decode_scratch_bytes(int n_tok, const AttnDims& d, int n_split);
// Zeroes the counters of caller-owned `partials` (AttnBatch::partials) sized for (n_tok, d,
// n_split), on stream s. Call once after allocating; a no-op for n_split <= 1.
void attention_decode_scratch_init(void* partials, int n_tok, const AttnDims& d, int n_split,
                                   cudaStream_t s);
// The split count attention_decode plans for n_tok tokens over at most max_seq_len keys.
int attention_decode_splits(int n_tok, int max_seq_len, const AttnDims& d);
// Which decode kernel attention_decode, attention_decode_rope and attention_decode_splits use
// for few (token, KV head) units (at most one per 16 SMs: batch 1 at 8 KV heads on H100):
// 0 = the default (QINFER_CUDA_ATTN_LATENCY, default 1: the latency path, one thread-block
// cluster of up to 8 blocks per unit, merged in distributed shared memory, sm_90 only;
// H100 batch 1: 1.5-2.6x faster than classic), 1 = classic (split partials
// merged through global memory), 2 = the latency path where the GPU has clusters. For tests
// and benchmarks; launches captured into a graph keep the kernel they were captured with,
// and a graph's n_split should come from attention_decode_splits under the same setting.
void set_attention_latency_path(int p);

// Prefill: tensor cores (BF16 mma, fp32 softmax and accumulation), tiles of query rows of one
// sequence against its cached keys; for batches whose sequences bring many new tokens.
// Q and K/V are rounded to BF16 (FP8 codes are exact in BF16), P to BF16: outputs agree with
// fp32 to about 1e-3 relative. Any batch is correct, decode tokens (n_new = 1) included, but
// a token is one 128-row tile with G live rows and a single split, so batches of mostly
// decode tokens belong to attention_decode. head_dim 64 and 128 run on tensor cores (wgmma on
// Hopper, attention_prefill_wg; mma.sync elsewhere and for F32 caches); every other (even)
// head_dim goes to attention_decode. Grid: (ceil(max_q_len G / 128) n_head_kv, 1, n_seq) (64
// rows a tile under set_attention_prefill_tile(0)).
void attention_prefill(const float* qkv, const AttnBatch& b, const AttnDims& d,
                       const KvCacheView& kv, float* out, cudaStream_t s);
// attention_prefill's tile shape (for tests and benchmarks): -1 = QINFER_CUDA_PREFILL_TILE
// (default 3); 1 = 128 query rows a block (32 a warp: each K / V fragment feeds two MMAs, Q's
// fragments re-read from shared memory), at head_dim 64 three blocks a multiprocessor where
// the grid spans four waves of them (else two); 2 = the same with three at head_dim 64
// always; 0 = 64 rows (16 a warp, Q in registers); 32 keys a tile in all; 3 = the warpgroup-MMA
// kernel (attention_prefill_wg) where it applies (sm_90a; BF16 and FP8 caches), else as 1.
void set_attention_prefill_tile(int t);

// attention_prefill on Hopper's warpgroup MMAs (attention_prefill_wg.cu): the same contract and
// numerics (Q and P rounded to BF16, fp32 accumulation) for BF16 and FP8 caches at head_dim 64
// and 128 on an sm_90 device of a build with sm_90a code; returns false (launching nothing)
// elsewhere.
bool attention_prefill_wg(const float* qkv, const AttnBatch& b, const AttnDims& d,
                          const KvCacheView& kv, float* out, cudaStream_t s);

}  // namespace qinfer::ops::cuda
