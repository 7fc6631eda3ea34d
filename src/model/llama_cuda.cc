// The Llama forward pass on CUDA (llama_internal.h): the paper's block with the CUDA fast-path
// kernels of ops/cuda/fused_ops.h, per layer:
//
//   x = rms_norm(h)            -> quantized / laid out for qkv_proj      (1 kernel; at batch
//                              1-2 on W8A8 / sm_90 inside the GEMV's prologue, as to_act and
//                              the MLP's norm: linear_from_f32)
//   qkv = qkv_proj(x)                                                     (GEMV / FP8 GEMM)
//   rope(q, k); k, v -> paged cache                                       (1 kernel)
//   a = attention(q, cache)    decode and prefill on tensor cores (BF16 / FP8 caches);
//                              otherwise (F32 caches, other head shapes, or
//                              QINFER_CUDA_ATTN_TC=0) decode is split-K on CUDA cores, and a
//                              pure decode step does rope, cache write, attention and the
//                              split merge in one launch (attention_decode_rope)
//   h += o_proj(a)             the GEMV adds into the residual stream
//   x = rms_norm(h)            -> for gate_up_proj
//   g = gate_up_proj(x);  x = silu(g_gate) * g_up -> for down_proj (g in BF16 on the FP8
//                              tensor-core path, F32 on the GEMV; at batch 1-2 on W8A8 /
//                              sm_90 the gate_up GEMV writes silu(gate) * up itself and the
//                              down GEMV quantizes it: mlp_from_f32)
//   h += down_proj(x)
//
// The batch's metadata (tokens, positions, block tables) goes to the device in one copy per
// step. Decode steps are replayed from CUDA graphs: per (batch bucket, block-table width) two
// graphs over the same activations, each with its own metadata buffer, used in turn, so a step
// is one graph launch and its metadata's copy runs on a side stream while the step before runs
// (cu::SideUpload; H100 batch 1: bench/results/gpu_run_s27.cmd q2). Padding rows of a bucket
// repeat the last real sequence: they write the same K/V to the same slot and their logits are
// dropped. Nothing here waits for the GPU: the metadata goes up from page-locked buffers used
// in turn, and input tokens the host has not seen yet are read on the device from the
// sampler's output (Batch::token_from), so the engine queues step N+1 while step N runs. A
// step of at most 8 logits rows takes each row's argmax in the lm_head's GEMV and a small
// kernel after it makes those the rows' greedy samples (cu::linear_act_greedy, finish_greedy),
// so that a greedy decode step needs no sampler launch of its own (sampling_cuda.h; H100 1B:
// 1.5 us between decode steps instead of 8.2, batch 1 +0.3-0.7 %, bench/results/gpu_run_s29.cmd
// q1-q4).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <map>

#include "core/env.h"
#include "core/error.h"
#include "model/llama_internal.h"
#include "ops/cuda/attention_decode_tc.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/fused_ops.h"
#include "ops/cuda/sampling_cuda.h"

namespace qinfer::model::detail {

namespace cu = ops::cuda;

namespace {

// Decode batches of up to QINFER_CUDA_GRAPH_MAX_BATCH sequences (default 256) run as CUDA
// graphs; larger ones eagerly. 512 (vLLM's largest capture size) measured no faster on the 8B
// offline at concurrency 512, whose decode steps then leave the eager path: 14,635.6 / 14,804.1
// against 14,771.2 output tok/s (H100, bench/results/gpu_run_s32.cmd q5).
int64_t max_graph_batch() {
  static const int64_t n =
      std::clamp<int64_t>(env_int("QINFER_CUDA_GRAPH_MAX_BATCH", 256), 0, 1024);
  return n;
}

// Batch sizes with a graph: every size to 8, then steps of 8 to 64, of 32 beyond.
int64_t graph_bucket(int64_t n) {
  if (n <= 8) return n;
  if (n <= 64) return (n + 7) / 8 * 8;
  return (n + 31) / 32 * 32;
}

int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// The BF16 lm_head GEMM of an eager step (graphs' row counts are buckets already) runs over
// its logits rows rounded up to a whole group (at most `cap`, the buffers' rows; the rows past
// n_rows compute logits nobody reads, from whatever the activation buffer holds there). An
// eager step's row count moves by a few rows a step while a batch fills or drains, and each
// new count cost cuBLASLt a heuristic query and often a kernel of its own, loaded on first
// use: 60-80 ms on the host every fourth prefill step of the 8B offline run, where the GPU ran
// dry (H100, bench/results/gpu_run_s34.cmd q1).
constexpr int64_t kLmHeadRowGroup = 64;
int64_t lm_head_rows(int64_t n_rows, int64_t cap) {
  if (n_rows <= cu::kMaxGreedyRows) return n_rows;  // the GEMV's rows (linear_bf16_input)
  return std::max(n_rows, std::min(round_up(n_rows, kLmHeadRowGroup), cap));
}

int64_t pow2_at_least(int64_t n) {
  int64_t p = 1;
  while (p < n) p *= 2;
  return p;
}

// Offsets of the metadata arrays in one I32 buffer.
// n_dec > 0: the first n_dec sequences decode one token each and the rest prefill; the tail
// arrays re-index the prefill sequences from 0 so that they form a batch of their own.
struct MetaLayout {
  int64_t n_tok = 0, n_seq = 0, width = 0, n_rows = 0, n_dec = 0;
  int64_t tokens = 0, tok_seq = 0, tok_pos = 0, q_start = 0, seq_len = 0, rows = 0, tables = 0;
  int64_t tok_seq_tail = 0, q_start_tail = 0;
  int64_t from = 0;  // (n_tok) Batch::token_from, -1 where the token is in `tokens`
  int64_t tag = 0;   // (1) the step's number: its greedy samples' tag (cu::finish_greedy)
  int64_t total = 0;
  MetaLayout(int64_t t, int64_t s, int64_t w, int64_t r, int64_t d = 0)
      : n_tok(t), n_seq(s), width(w), n_rows(r), n_dec(d) {
    tok_seq = tokens + t;
    tok_pos = tok_seq + t;
    q_start = tok_pos + t;
    seq_len = q_start + s + 1;
    rows = seq_len + s;
    tables = rows + r;
    tok_seq_tail = tables + s * w;
    q_start_tail = tok_seq_tail + (d > 0 ? t - d : 0);
    from = q_start_tail + (d > 0 ? s - d + 1 : 0);
    tag = from + t;
    total = tag + 1;
  }
};

// How one step's attention runs: rope + cache write over every token, then either one kernel
// over the whole batch, or (n_dec > 0) the decode kernel over the leading decode tokens and the
// tensor-core kernel over the prefill rest.
struct AttnPlan {
  cu::AttnBatch all;
  bool prefill = false;
  int64_t n_dec = 0;
  cu::AttnBatch dec, pre;
  bool dec_tc = false;  // the decode tokens go to attention_decode_tc (tensor cores)
};

// Decode attention on tensor cores (attention_decode_tc) wherever it applies (BF16 / FP8
// caches, head_dim 64 / 128, group <= 8), at every batch size; QINFER_CUDA_ATTN_TC=0 keeps the
// CUDA-core kernels (at batch 1 the one-launch attention_decode_rope). Through session 5
// batches under 16 took the CUDA-core kernels; in the step's graph the tensor-core kernel,
// with its separate rope_kv_write launch, measured as fast or faster at batch 1 (H100, same
// run, run r7 of bench/results/gpu_run_s6.cmd): 1B 964 / 970 -> 985 tok/s at 128 prompt
// tokens, 940 -> 963 at 1024; 8B 263 -> 265 and 257 -> 257.
bool use_tc_decode(const cu::AttnDims& d, const cu::KvCacheView& kv) {
  static const bool on = env_switch("QINFER_CUDA_ATTN_TC", 1) != 0;
  return on && cu::attention_decode_tc_supported(d, kv);
}

// Activations for up to `cap` tokens and `cap_rows` logits rows; rope_cs (cap, head_dim / 2,
// 2) and rope_slot (cap) int64 for the QKV GEMV's RoPE epilogue (cu::rope_prepare).
struct Buffers {
  int64_t cap = 0, cap_rows = 0;
  Tensor hid, qkv, attn, gate_up, act, act_scale, sel, logits, rope_cs, rope_slot;
};

}  // namespace

// Rows from which the prefill's gate_up GEMM writes BF16 (above). At 2048 tokens it saves
// 2.2 ms of 46 (H100, bench/results/gpu_8b_latency_p2048_*_s3.json); at 24 tokens it only
// moved the W8A8 golden logits from 3.2e-2 to 5.4e-2 off the CPU's F32 formula.
constexpr int64_t kBf16GateUpMin = 256;

bool cuda_runner_enabled() { return env_switch("QINFER_CUDA_GENERIC", 0) != 1; }

// The next step's tag (MetaLayout::tag): one count for every runner of the process, since the
// greedy record sets they write are the process's (sampling_cuda.h).
static uint32_t next_greedy_tag() {
  static std::atomic<uint32_t> n{0};
  return ++n;
}

struct CudaRunner::Impl {
  const io::ModelConfig& c;
  const LlamaWeights& w;
  cu::AttnDims dims;
  bool graphs_on = env_switch("QINFER_CUDA_GRAPHS", 1) != 0;
  bool bf16_gate_up = env_switch("QINFER_CUDA_BF16_GATE_UP", 1) != 0;
  bool fused_decode = env_switch("QINFER_CUDA_FUSED_DECODE", 1) != 0;
  // QINFER_CUDA_ATTN_ONE_SPLIT=1: graphs' tensor-core decode attention unsplit (no combine
  // kernel), for A/B runs.
  bool one_split = env_switch("QINFER_CUDA_ATTN_ONE_SPLIT", 0) == 1;
  // Experiments: the decode graphs' tensor-core attention split count (0: planned).
  int forced_splits = std::clamp(env_int("QINFER_CUDA_ATTN_SPLITS", 0), 0, 128);
  // QINFER_CUDA_GEMV_MLP=0: the MLP's producers as kernels even where mlp_from_f32 applies.
  bool mlp_gemvs = env_switch("QINFER_CUDA_GEMV_MLP", 1) != 0;
  // QINFER_CUDA_GEMV_ROPE=0: rope_kv_write as its own kernel even where the QKV GEMV's
  // epilogue can do it (linear_from_f32_rope).
  bool gemv_rope = env_switch("QINFER_CUDA_GEMV_ROPE", 1) != 0;
  bool embed_rope = env_switch("QINFER_CUDA_EMBED_ROPE", 1) != 0;
  // QINFER_CUDA_LM_HEAD_EXACT=1: the BF16 lm_head keeps F32 inputs (two GEMMs) for every batch,
  // not only for prompt logprobs.
  bool lm_head_exact = env_switch("QINFER_CUDA_LM_HEAD_EXACT", 0) == 1;
  bool greedy_lm_head = env_switch("QINFER_CUDA_GREEDY_LM_HEAD", 1) != 0;
  // A decode batch's tensor-core attention also writes o's FP8 input codes where o takes a
  // static input scale (cu::AttnCodes): no to_act kernel at batch > 2. At batch 1-2 o's GEMV
  // makes its x from the attention's F32 output instead (QINFER_CUDA_ATTN_CODES=1: codes there
  // too; 0: never).
  int attn_codes = env_int("QINFER_CUDA_ATTN_CODES", 2);
  // A mixed step's prompt-chunk attention runs on a second stream beside its decode rows'
  // attention (cu::fork_stream): the one is bound by the tensor cores, the other by HBM reads.
  // QINFER_CUDA_MIXED_OVERLAP=0: one after the other on the backend stream; 2: the decode
  // rows' kernel queued first.
  int mixed_overlap = std::clamp(env_int("QINFER_CUDA_MIXED_OVERLAP", 1), 0, 2);

  Buffers eager;  // grows with the largest batch seen
  Tensor meta_dev;
  cu::UploadRing meta_up;
  int64_t meta_cap = 0;

  // QINFER_CUDA_META_SIDE=0: a decode graph's metadata copied on the backend stream between two
  // steps into one buffer, one graph a slot (before session 27), for A/B runs.
  bool meta_side = env_switch("QINFER_CUDA_META_SIDE", 1) != 0;

  // A decode graph slot: two graphs over the same buffers, each reading its own metadata
  // buffer, used in turn, so that step N+1's metadata is copied (SideUpload) while step N runs
  // instead of between the two on the backend stream.
  struct GraphSlot {
    Tensor meta_dev[2];
    cu::SideUpload side;
    cu::UploadRing meta_up;  // QINFER_CUDA_META_SIDE=0
    Tensor partials;
    int n_split = 1;
    bool tc = false;  // decode attention on tensor cores
    int next = 0;     // the graph (and metadata buffer) of the next step
    bool greedy[2] = {};  // each graph's lm_head makes the rows' greedy samples (run_layers)
    cu::Graph graph[2];
  };
  std::map<std::pair<int64_t, int64_t>, std::unique_ptr<GraphSlot>> graphs;
  // The KV cache the graphs were captured against (address and size: a cache reallocated at
  // the same address with another block count moves every layer).
  const void* graphs_kv = nullptr;
  int64_t graphs_kv_numel = 0;
  // The activations every graph runs on, sized for the largest bucket captured so far (powers of
  // two): the steps run one after another on the backend stream, as a slot's two graphs always
  // did, so one set serves all buckets (it was one set a slot: ~180 MB each at 256 rows of the
  // 8B, whose logits alone are 131 MB).
  Buffers graph_buf;

  Impl(const io::ModelConfig& cfg, const LlamaWeights& wt) : c(cfg), w(wt) {
    dims.n_head = int(c.n_head);
    dims.n_head_kv = int(c.n_head_kv);
    dims.head_dim = int(c.head_dim);
    dims.scale = 1.0f / std::sqrt(float(c.head_dim));
  }

  size_t act_bytes_for(int64_t n) const {
    size_t m = 0;
    for (const LayerWeights& L : w.layers)
      for (const ops::LinearWeight* lw : {&L.qkv, &L.o, &L.gate_up, &L.down})
        m = std::max(m, cu::act_bytes(cu::act_spec(*lw, n), n));
    return std::max(m, cu::act_bytes(cu::act_spec(w.lm_head, n), n));
  }

  // row_group: logits rows in whole groups (the eager buffers: lm_head_rows' groups, so that
  // the row counts of a prefill's growing batch also reallocate once a group, not once a step).
  void ensure(Buffers& b, int64_t n_tok, int64_t n_rows, int64_t row_group = 1) const {
    if (n_tok <= b.cap && n_rows <= b.cap_rows) return;
    const int64_t n = std::max(n_tok, b.cap);
    const int64_t r = std::max(round_up(n_rows, row_group), b.cap_rows);
    const int64_t h = c.hidden_size, hd = c.head_dim;
    const DType f32 = DType::kF32;
    const Device d = Device::kCuda;
    b.hid = Tensor::empty(f32, {n, h}, d);
    b.qkv = Tensor::empty(f32, {n, (c.n_head + 2 * c.n_head_kv) * hd}, d);
    b.attn = Tensor::empty(f32, {n, c.n_head * hd}, d);
    b.gate_up = Tensor::empty(f32, {n, 2 * c.intermediate_size}, d);
    const size_t ab = std::max(act_bytes_for(n), act_bytes_for(std::min<int64_t>(n, 8)));
    b.act = Tensor::empty(DType::kU8, {int64_t(ab)}, d);
    b.act_scale = Tensor::empty(f32, {n}, d);
    b.sel = Tensor::empty(f32, {r, h}, d);
    b.logits = Tensor::empty(f32, {r, c.vocab_size}, d);
    b.rope_cs = Tensor::empty(f32, {n, hd}, d);
    b.rope_slot = Tensor::empty(DType::kU8, {n * int64_t(sizeof(int64_t))}, d);
    b.cap = n;
    b.cap_rows = r;
  }

  cu::KvCacheView layer_view(KvCache& kv, int64_t l) const {
    const size_t per_layer = size_t(kv.k.numel() / kv.n_layer) * dtype_size(kv.k.dtype());
    cu::KvCacheView v;
    v.k = static_cast<uint8_t*>(kv.k.data()) + size_t(l) * per_layer;
    v.v = static_cast<uint8_t*>(kv.v.data()) + size_t(l) * per_layer;
    v.dtype = kv.k.dtype();
    v.n_block = int(kv.k.dim(1));
    v.block_size = int(kv.block_size);
    v.k_scale = kv.k_scale * (size_t(l) < w.k_scale.size() ? w.k_scale[size_t(l)] : 1.0f);
    v.v_scale = kv.v_scale * (size_t(l) < w.v_scale.size() ? w.v_scale[size_t(l)] : 1.0f);
    return v;
  }

  std::vector<cu::DecodeLayer> decode_layers(KvCache& kv) const {
    std::vector<cu::DecodeLayer> r;
    for (int64_t l = 0; l < c.n_layer; ++l) {
      const LayerWeights& L = w.layers[size_t(l)];
      r.push_back(cu::DecodeLayer{.qkv = &L.qkv, .o = &L.o, .gate_up = &L.gate_up,
                                  .down = &L.down, .attn_norm = &L.attn_norm,
                                  .mlp_norm = &L.mlp_norm, .kv = layer_view(kv, l)});
    }
    return r;
  }

  cu::AttnBatch attn_batch(const int32_t* dev, const MetaLayout& m, int64_t max_seq_len,
                           int64_t max_q_len) const {
    cu::AttnBatch b;
    b.tok_seq = dev + m.tok_seq;
    b.tok_pos = dev + m.tok_pos;
    b.seq_q_start = dev + m.q_start;
    b.seq_len = dev + m.seq_len;
    b.block_tables = dev + m.tables;
    b.n_tok = int(m.n_tok);
    b.n_seq = int(m.n_seq);
    b.max_blocks = int(m.width);
    b.max_seq_len = int(max_seq_len);
    b.max_q_len = int(max_q_len);
    return b;
  }

  // Host arrays of the batch in layout m. Sequences past batch.seqs (graph padding) repeat the
  // last real one.
  static void fill_meta(const Batch& batch, const MetaLayout& m, const std::vector<int32_t>& rows,
                        uint32_t tag, int32_t* out) {
    out[m.tag] = int32_t(tag);
    const int64_t n_real = int64_t(batch.seqs.size());
    int64_t t = 0;
    for (int64_t s = 0; s < m.n_seq; ++s) {
      const SeqInput& q = batch.seqs[size_t(std::min(s, n_real - 1))];
      const int64_t first_tok = s < n_real ? t : t - 1;  // padding repeats the last token
      out[m.q_start + s] = int32_t(t);
      out[m.seq_len + s] = int32_t(q.n_past + q.n_new);
      const int64_t n_new = s < n_real ? q.n_new : 1;
      for (int64_t i = 0; i < n_new; ++i, ++t) {
        out[m.tokens + t] = s < n_real ? batch.tokens[size_t(t)] : out[m.tokens + first_tok];
        out[m.from + t] = batch.token_from.empty() ? -1
                          : s < n_real            ? batch.token_from[size_t(t)]
                                                  : out[m.from + first_tok];
        out[m.tok_seq + t] = int32_t(s);
        out[m.tok_pos + t] = int32_t(q.n_past + (s < n_real ? i : q.n_new - 1));
      }
      int32_t* tb = out + m.tables + s * m.width;
      const int64_t nb = std::min<int64_t>(int64_t(q.block_table.size()), m.width);
      std::memcpy(tb, q.block_table.data(), size_t(nb) * sizeof(int32_t));
      std::fill(tb + nb, tb + m.width, 0);
    }
    out[m.q_start + m.n_seq] = int32_t(t);
    // Only a layout with a rows list has room for it (every row wanted: n_rows == 0); copying
    // it anyway once overwrote the block tables that follow with 0, 1, 2, ... (the K/V of a
    // prefill with logits_all went to the wrong blocks: LlamaGoldenCuda.PrefillWritesItsOwnBlocks).
    QINFER_CHECK(int64_t(rows.size()) == m.n_rows, "forward: ", rows.size(),
                 " logits rows for a layout of ", m.n_rows);
    std::copy(rows.begin(), rows.end(), out + m.rows);
    if (m.n_dec > 0) {
      for (int64_t i = m.n_dec; i < m.n_tok; ++i)
        out[m.tok_seq_tail + i - m.n_dec] = out[m.tok_seq + i] - int32_t(m.n_dec);
      for (int64_t s = m.n_dec; s <= m.n_seq; ++s)
        out[m.q_start_tail + s - m.n_dec] = out[m.q_start + s] - int32_t(m.n_dec);
    }
  }

  // Uploads metadata for the eager path; returns the device pointer. No synchronization: the
  // previous step may still run (its reads of meta_dev precede this copy on the stream).
  const int32_t* upload_eager(const Batch& batch, const MetaLayout& m,
                              const std::vector<int32_t>& rows, uint32_t tag) {
    if (m.total > meta_cap) {
      meta_cap = std::max<int64_t>(m.total, 2 * meta_cap);
      meta_dev = Tensor::empty(DType::kI32, {meta_cap}, Device::kCuda);
    }
    const size_t bytes = size_t(m.total) * sizeof(int32_t);
    fill_meta(batch, m, rows, tag, static_cast<int32_t*>(meta_up.acquire(bytes)));
    meta_up.upload(meta_dev.data(), bytes);
    return meta_dev.data_as<int32_t>();
  }

  // The device array Batch::token_from points into (checked: a graph bakes it in).
  static const int32_t* fed_of(const Batch& batch) {
    if (batch.token_from.empty()) return nullptr;
    QINFER_CHECK(batch.token_from.size() == batch.tokens.size(), "forward: token_from has ",
                 batch.token_from.size(), " entries for ", batch.tokens.size(), " tokens");
    QINFER_CHECK(batch.fed == cu::sampled_tokens_device(),
                 "forward: on CUDA, fed tokens must come from ops::cuda::sampled_tokens_device()");
    return batch.fed;
  }

  Tensor run(const Batch& batch, KvCache& kv) {
    const int64_t n_tok = int64_t(batch.tokens.size());
    const int64_t n_seq = int64_t(batch.seqs.size());
    std::vector<int32_t> rows;
    int64_t max_len = 0, max_q = 0, max_blocks = 1, t = 0;
    bool decode = n_seq > 0, scoring = false;
    for (const SeqInput& q : batch.seqs) {
      scoring = scoring || q.logits_all;
      for (int64_t i = 0; i < q.n_new; ++i)
        if (q.logits_all || (q.logits_last && i == q.n_new - 1)) rows.push_back(int32_t(t + i));
      t += q.n_new;
      max_len = std::max(max_len, q.n_past + q.n_new);
      max_q = std::max(max_q, q.n_new);
      max_blocks = std::max(max_blocks, (q.n_past + q.n_new + kv.block_size - 1) / kv.block_size);
      decode = decode && q.n_new == 1 && q.logits_last && !q.logits_all;
    }
    QINFER_CHECK(t == n_tok, "forward: the sequences declare ", t, " new tokens but the batch has ",
                 n_tok);
    if (n_tok == 0) {
      cu::note_greedy(nullptr, 0, 0);
      return Tensor::empty(DType::kF32, {0, c.vocab_size}, Device::kCuda);
    }
    const int64_t n_rows = int64_t(rows.size());
    if (decode && graphs_on && n_seq <= max_graph_batch()) return run_graph(batch, kv, max_blocks);

    // Eager: rows list when not every token needs logits. Leading decode sequences of a batch
    // that also prefills go to the decode kernel (the prefill kernel would spend a whole tile
    // on each of them).
    const bool all_rows = n_rows == n_tok;
    int64_t n_dec = 0;
    while (max_q > 1 && n_dec < n_seq && batch.seqs[size_t(n_dec)].n_new == 1) ++n_dec;
    if (n_dec == n_seq) n_dec = 0;
    const MetaLayout m(n_tok, n_seq, max_blocks, all_rows ? 0 : n_rows, n_dec);
    ensure(eager, n_tok, std::max<int64_t>(n_rows, 1), kLmHeadRowGroup);
    const uint32_t tag = next_greedy_tag();
    const int32_t* dev = upload_eager(batch, m, all_rows ? std::vector<int32_t>{} : rows, tag);
    AttnPlan plan;
    plan.all = attn_batch(dev, m, max_len, max_q);
    plan.prefill = max_q > 1;
    plan.n_dec = n_dec;
    plan.dec_tc = use_tc_decode(dims, layer_view(kv, 0));
    if (n_dec > 0) {
      plan.dec = plan.all;
      plan.dec.n_tok = plan.dec.n_seq = int(n_dec);
      plan.dec.max_q_len = 1;
      plan.pre = plan.all;
      plan.pre.tok_seq = dev + m.tok_seq_tail;
      plan.pre.tok_pos = dev + m.tok_pos + n_dec;
      plan.pre.seq_q_start = dev + m.q_start_tail;
      plan.pre.seq_len = dev + m.seq_len + n_dec;
      plan.pre.block_tables = dev + m.tables + n_dec * m.width;
      plan.pre.n_tok = int(n_tok - n_dec);
      plan.pre.n_seq = int(n_seq - n_dec);
    }
    const bool greedy =
        run_layers(eager, dev, m, plan, kv, all_rows ? n_tok : n_rows, fed_of(batch), scoring);
    cu::note_greedy(greedy ? eager.logits.data_as<float>() : nullptr, int(n_rows), tag);
    return eager.logits.slice_rows(0, n_rows);
  }

  // scoring: some sequence wants every position's logits (prompt logprobs, echo): the lm_head
  // keeps its F32 inputs. Otherwise the logits only pick tokens, and at more than 8 rows the
  // BF16 lm_head takes BF16 inputs, one GEMM instead of two, as vLLM computes it. Returns
  // whether the lm_head also made the rows' greedy samples (cu::finish_greedy, tagged with the
  // metadata's tag).
  bool run_layers(Buffers& b, const int32_t* dev, const MetaLayout& m, const AttnPlan& plan,
                  KvCache& kv, int64_t n_rows, const int32_t* fed, bool scoring);

  Tensor run_graph(const Batch& batch, KvCache& kv, int64_t max_blocks) {
    const int64_t n_seq = int64_t(batch.seqs.size());
    const int64_t B = graph_bucket(n_seq);
    const int64_t W = pow2_at_least(std::max<int64_t>(max_blocks, 16));
    const MetaLayout m(B, B, W, 0);
    // Graphs bake in the cache's address (a cache reallocated elsewhere, or with another block
    // count) and the activations' (grown for a larger bucket): either change needs fresh
    // captures, once none of the old graphs still runs.
    const bool kv_moved = graphs_kv != kv.k.data() || graphs_kv_numel != kv.k.numel();
    if (kv_moved || B > graph_buf.cap) {
      cu::synchronize();
      graphs.clear();
      graphs_kv = kv.k.data();
      graphs_kv_numel = kv.k.numel();
      // Powers of two up to the bound (a bucket may round past it).
      const int64_t cap = std::min(pow2_at_least(B), std::max(B, max_graph_batch()));
      ensure(graph_buf, cap, cap);
    }
    auto& slot = graphs[{B, W}];
    const bool fresh = slot == nullptr;
    if (fresh) {
      slot = std::make_unique<GraphSlot>();
      for (Tensor& t : slot->meta_dev) t = Tensor::empty(DType::kI32, {m.total}, Device::kCuda);
      slot->tc = use_tc_decode(dims, layer_view(kv, 0));
      const int max_len = int(W * kv.block_size);
      slot->n_split = slot->tc ? cu::attention_decode_tc_splits(int(B), max_len, dims,
                                                                int(dtype_size(kv.k.dtype())))
                               : cu::attention_decode_splits(int(B), max_len, dims);
      if (slot->tc && one_split) slot->n_split = 1;
      if (slot->tc && forced_splits > 0) slot->n_split = forced_splits;
      const size_t pb = slot->tc ? cu::attention_decode_tc_scratch_bytes(int(B), dims, slot->n_split)
                                 : cu::attention_decode_scratch_bytes(int(B), dims, slot->n_split);
      slot->partials = Tensor::empty(DType::kU8, {int64_t(std::max<size_t>(pb, 16))}, Device::kCuda);
      if (!slot->tc)  // the fused kernel's split counters start at zero
        cu::attention_decode_scratch_init(slot->partials.data(), int(B), dims, slot->n_split,
                                          cu::backend_stream());
    }
    // No synchronization: the host prepares step N+1 while the GPU runs step N. Its metadata
    // goes to the buffer step N - 1 read, on the side stream once that graph has run (or,
    // QINFER_CUDA_META_SIDE=0, to the one buffer, queued behind step N's graph).
    const int k = meta_side ? slot->next : 0;
    slot->next = 1 - slot->next;
    const uint32_t tag = next_greedy_tag();
    const size_t bytes = size_t(m.total) * sizeof(int32_t);
    if (meta_side) {
      fill_meta(batch, m, {}, tag, static_cast<int32_t*>(slot->side.acquire(k, bytes)));
      slot->side.upload(k, slot->meta_dev[k].data(), bytes);
    } else {
      fill_meta(batch, m, {}, tag, static_cast<int32_t*>(slot->meta_up.acquire(bytes)));
      slot->meta_up.upload(slot->meta_dev[k].data(), bytes);
    }
    const int32_t* dev = slot->meta_dev[k].data_as<int32_t>();
    // Every graph reads its input tokens through `from` and the sampler's fixed output array,
    // so one capture serves steps with and without fed tokens.
    fed_of(batch);
    const int32_t* fed = cu::sampled_tokens_device();
    AttnPlan plan;
    plan.all = attn_batch(dev, m, W * kv.block_size, 1);
    plan.all.n_split = slot->n_split;
    plan.all.partials = reinterpret_cast<float*>(slot->partials.data());
    plan.dec_tc = slot->tc;
    cu::Graph& graph = slot->graph[k];
    bool greedy = false;
    if (fresh) {
      // This step runs eagerly (sizing every scratch buffer), then the same work is captured
      // while it runs: a capture only records launches. (It used to wait for the step first,
      // which left the GPU idle through each capture, 5-30 ms at the 8B's offline tail, where
      // every new bucket is captured: H100, bench/results/gpu_run_s34.cmd q1.)
      greedy = run_layers(graph_buf, dev, m, plan, kv, B, fed, false);
    }
    if (!graph.ready()) {  // captured at its first step (the slot's second graph: then replayed)
      graph.begin();
      slot->greedy[k] = run_layers(graph_buf, dev, m, plan, kv, B, fed, false);
      graph.end();
    }
    if (!fresh) {
      graph.launch();
      greedy = slot->greedy[k];
    }
    if (meta_side) slot->side.done(k);
    cu::note_greedy(greedy ? graph_buf.logits.data_as<float>() : nullptr, int(n_seq), tag);
    return graph_buf.logits.slice_rows(0, n_seq);
  }
};

bool CudaRunner::Impl::run_layers(Buffers& b, const int32_t* dev, const MetaLayout& m,
                                  const AttnPlan& plan, KvCache& kv, int64_t n_rows,
                                  const int32_t* fed, bool scoring) {
  const int64_t n = m.n_tok;
  const float eps = c.rms_norm_eps;
  float* hid = b.hid.data_as<float>();
  float* qkv = b.qkv.data_as<float>();
  float* attn = b.attn.data_as<float>();
  float* gate_up = b.gate_up.data_as<float>();
  const int64_t qkv_width = (c.n_head + 2 * c.n_head_kv) * c.head_dim;
  const int64_t attn_width = c.n_head * c.head_dim;
  cudaStream_t s = cu::backend_stream();
  cu::Act act;
  act.data = b.act.data();
  act.scale = b.act_scale.data_as<float>();
  auto prepare = [&](const ops::LinearWeight& lw, int64_t rows) {
    act.spec = cu::act_spec(lw, rows);
    act.n = rows;
  };
  const bool pure_decode = !plan.prefill && plan.n_dec == 0;
  // A decode batch of one token a sequence on the tensor-core attention.
  const bool tc_decode = pure_decode && plan.dec_tc && m.n_tok == m.n_seq;
  // Its QKV GEMVs may run RoPE and the K / V write in their epilogue (at batch 1-2): the
  // operands, the same for every layer, once a step.
  const bool rope_gemv = tc_decode && gemv_rope && n <= 2;
  float* rope_cs = b.rope_cs.data_as<float>();
  auto* rope_slot = static_cast<int64_t*>(b.rope_slot.data());
  // One launch for both where the QKV epilogue wants them (QINFER_CUDA_EMBED_ROPE=0: two).
  const int32_t* from = fed != nullptr ? dev + m.from : nullptr;
  // The residual stream in BF16, in hid's buffer, for a step whose every residual add is a
  // cuBLASLt FP8 GEMM (cu::linear_add_bf16_applies: FP8 W8A8, more than 8 rows, no CUTLASS tile
  // picked), as vLLM, TensorRT-LLM and transformers keep it: o and down add into it in their
  // epilogues and both norms read it, half the bytes of F32 (QINFER_CUDA_RESID_BF16=0: F32 at
  // every batch, as the CPU keeps it). Every layer then takes the generic path below (n > 8:
  // no GEMV prologue, RoPE epilogue or fused attention applies).
  bool r16 = n > 8;
  for (int64_t l = 0; r16 && l < c.n_layer; ++l) {
    const LayerWeights& L = w.layers[size_t(l)];
    r16 = cu::linear_add_bf16_applies(L.o, n) && cu::linear_add_bf16_applies(L.down, n);
  }
  // The QKV GEMM's BF16 output (in gate_up's buffer, which holds it: 2 bytes a column against
  // 8 a feature) then takes the rope_kv_write branch below with the tensor-core attention
  // kernels (not attention_decode_rope's fused decode).
  const bool qkv16_ok = r16 && plan.dec_tc && cu::rope_kv_write_from_bf16_applies(dims) &&
                        qkv_width <= 4 * c.intermediate_size;
  if (r16) {
    cu::embedding_rows_bf16(w.embed, dev + m.tokens, n, hid, from, fed);
  } else if (rope_gemv && embed_rope) {
    cu::embedding_rows_rope(w.embed, dev + m.tokens, n, hid, from, fed, plan.all, dims,
                            w.inv_freq.data_as<float>(), int(kv.block_size), rope_cs, rope_slot);
  } else {
    if (rope_gemv)
      cu::rope_prepare(plan.all, dims, w.inv_freq.data_as<float>(), int(kv.block_size), rope_cs,
                       rope_slot, s);
    cu::embedding_rows(w.embed, dev + m.tokens, n, hid, from, fed);
  }
  // One token: every layer in one persistent kernel where it applies (decode_layers_persistent;
  // QINFER_CUDA_PERSIST, off by default: correct and slower on the H100, session 23).
  const bool persistent = !r16 && rope_gemv && n == 1 && m.n_seq == 1 &&
                          cu::decode_layers_persistent(decode_layers(kv), hid, eps, qkv, rope_cs,
                                                       rope_slot, plan.all, dims);
  for (int64_t l = 0; l < (persistent ? 0 : c.n_layer); ++l) {
    const LayerWeights& L = w.layers[size_t(l)];
    const cu::KvCacheView kvl = layer_view(kv, l);
    // At batch 1-2 (W8A8, sm_90) the norm and the quantization run inside the GEMV
    // (linear_from_f32): no producer kernel between the residual stream and the GEMV; for a
    // decode batch RoPE and the K / V write run in its epilogue (linear_from_f32_rope).
    const bool rope_done = !r16 && rope_gemv &&
                           cu::linear_from_f32_rope(L.qkv, hid, L.attn_norm, eps, n, qkv,
                                                    rope_cs, rope_slot, dims, kvl);
    // With the BF16 stream the QKV GEMM also writes BF16 (into gate_up's buffer, free until the
    // MLP) where rope_kv_write_from_bf16 then reads it: the tensor-core attention kernels, which
    // read only the rotated q heads that it writes to qkv in F32 (QINFER_CUDA_QKV_BF16=0: F32).
    bool q16 = false;
    if (r16) {
      prepare(L.qkv, n);
      cu::rms_norm_act_bf16(hid, L.attn_norm, eps, n, act);
      q16 = qkv16_ok && cu::linear_act_bf16(L.qkv, act, gate_up);
      if (!q16) cu::linear_act(L.qkv, act, qkv, false);
    } else if (!rope_done && !cu::linear_from_f32(L.qkv, hid, &L.attn_norm, eps, n, qkv, false)) {
      prepare(L.qkv, n);
      cu::rms_norm_act(hid, nullptr, L.attn_norm, eps, n, act);
      cu::linear_act(L.qkv, act, qkv, false);
    }
    // Decode tokens' older keys were written by earlier steps and the metadata by the step's
    // upload: the tensor-core decode kernel reads them before it waits for the kernel that
    // writes the token's own K / V row (rope_kv_write, which in a pure decode step lets it
    // launch first, or the QKV GEMV), AttnBatch::past_ready.
    const bool early = plan.dec_tc && cu::attention_early_loads();
    // One token, its RoPE and K / V row done by the QKV GEMV, o with a static input scale: the
    // attention and o in one kernel, o's weight streaming during the attention (attention_o;
    // QINFER_CUDA_ATTN_O, off by default).
    cu::AttnBatch one = plan.all;
    one.past_ready = early;
    bool o_codes = false;  // the attention wrote o's input (AttnCodes)
    const bool attn_o_done =
        !r16 && rope_done && n == 1 && cu::attention_o(L.o, qkv, one, dims, kvl, hid);
    if (!attn_o_done) prepare(L.o, n);  // o's input form: the attention may write it (AttnCodes)
    if (attn_o_done) {
      // hid += o(attention(qkv))
    } else if (pure_decode && !plan.dec_tc && m.n_tok == m.n_seq && fused_decode) {
      // One token per sequence: RoPE, the K/V write and split-K attention with its merge in
      // one launch.
      cu::attention_decode_rope(qkv, plan.all, dims, w.inv_freq.data_as<float>(), kvl, attn, s);
    } else {
      if (!rope_done) {
        cu::AttnBatch rope_b = plan.all;
        rope_b.past_ready = early && tc_decode;
        if (q16)
          cu::rope_kv_write_from_bf16(gate_up, qkv, rope_b, dims, w.inv_freq.data_as<float>(), kvl,
                                      s);
        else
          cu::rope_kv_write(qkv, rope_b, dims, w.inv_freq.data_as<float>(), kvl, s);
      }
      auto decode = [&](const float* q, const cu::AttnBatch& b, float* o,
                        const cu::AttnCodes* codes) {
        cu::AttnBatch db = b;
        db.past_ready = early && db.n_tok == db.n_seq;
        if (plan.dec_tc)
          cu::attention_decode_tc(q, db, dims, kvl, o, s, codes);
        else
          cu::attention_decode(q, b, dims, kvl, o, s);
      };
      if (plan.n_dec > 0) {
        // Disjoint rows of attn; both only read q and the cache, written above. Only the
        // tensor-core kernels: the CUDA-core ones (which attention_prefill falls back to at
        // other head sizes) share one split-K scratch.
        const bool side = mixed_overlap != 0 && plan.dec_tc && plan.pre.n_tok > 0;
        const cudaStream_t ps = side ? cu::fork_stream() : s;
        if (mixed_overlap == 2) decode(qkv, plan.dec, attn, nullptr);
        cu::attention_prefill(qkv + plan.n_dec * qkv_width, plan.pre, dims, kvl,
                              attn + plan.n_dec * attn_width, ps);
        if (mixed_overlap != 2) decode(qkv, plan.dec, attn, nullptr);
        if (side) cu::join_stream();
      } else if (plan.prefill) {
        cu::attention_prefill(qkv, plan.all, dims, kvl, attn, s);
      } else {
        // o with a static input scale takes the attention's codes (cu::AttnCodes).
        if ((attn_codes == 1 || (attn_codes == 2 && n > 2)) && plan.dec_tc &&
            act.spec.layout == cu::ActLayout::kCodesU8 &&
            act.spec.quant == ops::ActQuant::kStaticPerTensor) {
          const cu::AttnCodes codes{static_cast<uint8_t*>(act.data), act.spec.row_stride,
                                    act.scale, act.spec.static_scale};
          decode(qkv, plan.all, attn, &codes);
          o_codes = true;
        } else {
          decode(qkv, plan.all, attn, nullptr);
        }
      }
    }
    // hid += o(attn): BF16 stream (r16), else F32.
    const auto add_into_hid = [&](const ops::LinearWeight& lw) {
      if (!r16) return cu::linear_act(lw, act, hid, true);
      QINFER_CHECK(cu::linear_act_add_bf16(lw, act, hid), "forward: ", lw.name,
                   " cannot add into the BF16 residual stream at ", n, " rows");
    };
    if (o_codes) {
      add_into_hid(L.o);
    } else if (r16) {
      cu::to_act(attn, n, act);
      add_into_hid(L.o);
    } else if (!attn_o_done) {
      if (act.spec.layout == cu::ActLayout::kRowF32) {
        cu::Act direct = act;
        direct.data = attn;
        cu::linear_act(L.o, direct, hid, true);
      } else if (!cu::linear_from_f32(L.o, attn, nullptr, 0.0f, n, hid, true)) {
        cu::to_act(attn, n, act);
        cu::linear_act(L.o, act, hid, true);
      }
    }
    // Large prefills (FP8 tensor cores, n >= kBf16GateUpMin): gate_up in BF16, as vLLM keeps
    // it, halving the largest write and read of the step; smaller batches keep it in F32 (the
    // tensor is small there, and F32 stays closer to the reference).
    // At batch 1-2 the whole MLP is two GEMVs (mlp_from_f32: norm, silu * up and their
    // quantizations inside them).
    if (!r16 && mlp_gemvs &&
        cu::mlp_from_f32(L.gate_up, L.down, hid, L.mlp_norm, eps, n, gate_up, hid))
      continue;
    bool bf16_mlp = false;
    if (r16 || !cu::linear_from_f32(L.gate_up, hid, &L.mlp_norm, eps, n, gate_up, false)) {
      prepare(L.gate_up, n);
      if (r16)
        cu::rms_norm_act_bf16(hid, L.mlp_norm, eps, n, act);
      else
        cu::rms_norm_act(hid, nullptr, L.mlp_norm, eps, n, act);
      bf16_mlp = bf16_gate_up && n >= kBf16GateUpMin &&
                 cu::linear_act_bf16(L.gate_up, act, gate_up);
      if (!bf16_mlp) cu::linear_act(L.gate_up, act, gate_up, false);
    }
    prepare(L.down, n);
    if (bf16_mlp)
      cu::silu_mul_act_bf16(gate_up, n, c.intermediate_size, act);
    else
      cu::silu_mul_act(gate_up, n, c.intermediate_size, act);
    add_into_hid(L.down);
  }
  if (n_rows == 0) return false;
  // Final norm and lm_head over the rows that need logits (every row when n_rows == n).
  float* src = hid;
  if (n_rows != n) {
    if (r16)
      cu::gather_rows_bf16(hid, dev + m.rows, n_rows, c.hidden_size, b.sel.data());
    else
      cu::gather_rows(hid, dev + m.rows, n_rows, c.hidden_size, b.sel.data_as<float>());
    src = b.sel.data_as<float>();
  }
  prepare(w.lm_head, n_rows);
  if (r16)
    cu::rms_norm_act_bf16(src, w.final_norm, eps, n_rows, act);
  else
    cu::rms_norm_act(src, nullptr, w.final_norm, eps, n_rows, act);
  float* logits = b.logits.data_as<float>();
  if (!scoring && !lm_head_exact && act.spec.layout == cu::ActLayout::kRowF32 &&
      cu::linear_bf16_input(w.lm_head, static_cast<const float*>(act.data),
                            &b == &eager ? lm_head_rows(n_rows, std::min(b.cap, b.cap_rows))
                                         : n_rows,  // a graph's rows are a bucket already
                            logits))
    return false;
  // A step of a few logits rows: the lm_head's GEMV also takes each row's argmax and a small
  // kernel after it makes them samples, so that a batch of greedy rows needs no sampler kernel
  // (sampling_cuda.h; QINFER_CUDA_GREEDY_LM_HEAD=0: off).
  if (greedy_lm_head && !scoring && n_rows <= cu::kMaxGreedyRows) {
    unsigned long long* keys = cu::greedy_keys_device();
    if (keys != nullptr && cu::linear_act_greedy(w.lm_head, act, logits, keys)) {
      cu::finish_greedy(int(n_rows), dev + m.tag);
      return true;
    }
  }
  cu::linear_act(w.lm_head, act, logits, false);
  return false;
}

CudaRunner::CudaRunner(const io::ModelConfig& c, const LlamaWeights& w)
    : impl_(std::make_unique<Impl>(c, w)) {}
CudaRunner::~CudaRunner() = default;

Tensor CudaRunner::run(const Batch& batch, KvCache& kv) { return impl_->run(batch, kv); }

}  // namespace qinfer::model::detail
