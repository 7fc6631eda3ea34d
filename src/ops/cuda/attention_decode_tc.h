// Paged decode attention on tensor cores: the same contract as attention_decode
// (attention_cuda.h) for the caches that dominate offline decode, BF16 and FP8 E4M3, at
// head_dim 64 and 128 with a group (n_head / n_head_kv) of 1 to 8. It streams the cache
// through shared memory with cp.async and does the G dot products per key on mma.sync, so an
// FP8 cache costs one conversion per two codes instead of a conversion and G FMAs per code
// (attention_decode's FP8 path reaches ~0.43 of HBM bandwidth, its BF16 path 0.84-0.88).
// Design notes: attention_decode_tc.cu.
//
// Numerics (what differs from attention_decode's fp32 evaluation):
//   BF16 cache: Q rounded to BF16, P = exp2(s - m) rounded to BF16, bf16 x bf16 mma with fp32
//               accumulation; K and V exact.
//   FP8 cache:  Q rounded to FP16 (unscaled: |q| must stay below 65504), P rounded to FP16,
//               f16 x f16 mma with fp32 accumulation; E4M3 codes are exact in FP16, k_scale
//               folds into the fp32 score scale and v_scale into the output.
// Scores, the running max / sum and the output are fp32 (softmax in base 2 with
// scale * log2(e) folded in; the sum adds the rounded P, so the output is a convex combination
// of V rows). Expected error against an exact evaluation over the cache as stored, with Q
// rounded as above: P's rounding, 2^-9 (BF16) or 2^-11 (FP16) relative per weight, about 1e-3
// (BF16) and 1e-4 (FP8) relative in norm over a batch's outputs (a numpy model of the rounding
// on tests/ops/cuda_attention_tc_test.cc's data: at most 1.0e-3 and 1.1e-4); against fp32 Q
// the rounding of Q about doubles that (2.1e-3 and 2.4e-4).
#pragma once

#include <cstddef>
#include <cstdint>

#include "ops/cuda/attention_cuda.h"

namespace qinfer::ops::cuda {

// BF16 or F8_E4M3 cache, head_dim 64 or 128, n_head a multiple of n_head_kv, group 1..8.
bool attention_decode_tc_supported(const AttnDims& d, const KvCacheView& kv);

// out: (n_tok, n_head head_dim) F32, as attention_decode: causal GQA attention of each token
// over its sequence's cached keys 0 .. tok_pos (the cache already holds this step's K / V),
// any number of new tokens per sequence. n_split as attention_decode: 0 plans from
// max_seq_len (attention_decode_tc_splits); > 0 fixes the split count, each split taking
// ceil(len / n_split) keys rounded up to a multiple of 16, computed on the device (len =
// tok_pos + 1; splits past the end are empty and harmless), so the launch depends only on
// n_tok, dims, n_split and partials (CUDA-graph replay). partials: caller scratch of
// attention_decode_tc_scratch_bytes(n_tok, d, splits) bytes for the split count in use (with
// n_split 0, attention_decode_tc_splits', which differs from attention_decode_splits), or null
// for a backend buffer (which may allocate: not first inside a graph capture). Throws naming dtype,
// head_dim and group when unsupported. Launched with programmatic dependent launch where available.
// codes (optional): the output's E4M3 codes as well, row t at data + t stride, each element x
// as to_act makes them under a static per-tensor scale (x * (1 / static_scale), saturated),
// and scale[t] = static_scale where scale is set: the input of an o projection with a static
// input_scale, with no to_act kernel between (the same bytes).
struct AttnCodes {
  uint8_t* data = nullptr;
  int64_t stride = 0;
  float* scale = nullptr;
  float static_scale = 0.0f;
};
void attention_decode_tc(const float* qkv, const AttnBatch& b, const AttnDims& d,
                         const KvCacheView& kv, float* out, cudaStream_t s,
                         const AttnCodes* codes = nullptr);
size_t attention_decode_tc_scratch_bytes(int n_tok, const AttnDims& d, int n_split);
// The split count attention_decode_tc plans for n_tok tokens over at most max_seq_len keys of a
// cache with kv_elem_bytes per element (2: BF16, 1: FP8).
int attention_decode_tc_splits(int n_tok, int max_seq_len, const AttnDims& d,
                               int kv_elem_bytes = 2);
// KV heads per unit of work (thread block) for n_tok tokens: 2 for an FP8 cache at head_dim
// 128 with a group of at most 4 and an even n_head_kv when the pairs still fill two waves of
// resident blocks (batch >= ~198 at 8 KV heads on an H100), so that a block streams rows of
// 256 bytes; else 1. QINFER_CUDA_ATTN_PAIR_MIN_TOK=N: pairs from N tokens instead (0: never).
// The outputs are the same bits either way at the same split count.
int attention_decode_tc_heads(int n_tok, const AttnDims& d, int kv_elem_bytes);
// For tests and benchmarks: 0 = automatic (above), 1 = one head a unit, 2 = two where
// supported. A graph keeps the choice it was captured with; plan its n_split under the same.
void set_attention_decode_tc_heads(int mode);
// Whether a launch with n_split splits merges them inside the attention kernel: the splits of
// a (token, KV head) unit are one thread-block cluster that merges its records through
// distributed shared memory (sm_90, 2 to 8 splits; QINFER_CUDA_ATTN_CLUSTER, default 1), so
// no combine kernel follows. The same bits as the combine kernel.
bool attention_decode_tc_cluster_merge(int n_split);
// For tests and benchmarks: 0 = QINFER_CUDA_ATTN_CLUSTER, 1 = never, 2 = wherever it fits.
void set_attention_decode_tc_cluster(int mode);

}  // namespace qinfer::ops::cuda
