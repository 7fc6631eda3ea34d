// The CUDA fast path of the Llama block, callable from plain C++ (no CUDA headers): kernels
// that produce a linear layer's input in exactly the form its kernel reads (normalized,
// quantized, laid out for the GEMV), a linear that consumes it (optionally adding into the
// residual stream), and CUDA graphs over the backend stream. Used by src/model/llama_cuda.cc;
// the generic ops (src/ops/*.h) remain the cross-backend contract and reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/tensor.h"
#include "ops/cuda/attention_cuda.h"
#include "ops/linear.h"

namespace qinfer::ops::cuda {

// How a linear layer reads its input activation x (n, n_in):
//   kRowF32   row-major F32; ops::cuda::linear quantizes / converts as it needs
//   kSlotF32  F32 values (for W8A8: the FP8 codes' values) in the GEMV's lane-interleaved
//             layout: element i of a row at ((ch / 32) (E / 4) + (i % E) / 4) 128 + (ch % 32) 4
//             + i % 4 with ch = i / E, E = 16 / sizeof(weight element); rows padded to 32 E
//   kCodesU8  row-major FP8 E4M3 codes with a per-row scale (the FP8 tensor-core GEMM)
enum class ActLayout : uint8_t { kRowF32, kSlotF32, kCodesU8 };

struct ActSpec {
  ActLayout layout = ActLayout::kRowF32;
  ActQuant quant = ActQuant::kNone;  // applied while producing (kSlotF32 / kCodesU8)
  float static_scale = 0.0f;         // ActQuant::kStaticPerTensor
  int chunk_elems = 4;               // E of kSlotF32
  int64_t n_in = 0;
  int64_t row_stride = 0;  // elements between rows (padded for kSlotF32)
};

// The form w wants for n input rows.
ActSpec act_spec(const LinearWeight& w, int64_t n);
// Bytes of an activation buffer for n rows of spec (data; the scales are separate).
size_t act_bytes(const ActSpec& spec, int64_t n);

// An activation prepared for one linear: `data` holds n rows as `spec` says, `scale` (n) the
// per-row quantization scales (W8A8) on the device.
struct Act {
  ActSpec spec;
  void* data = nullptr;
  float* scale = nullptr;
  int64_t n = 0;
};

// hid (n, d) F32: hid += add (when add is set), then out = rms_norm(hid) * weight (transformers'
// LlamaRMSNorm), produced in out.spec's form. One kernel.
void rms_norm_act(float* hid, const float* add, const Tensor& weight, float eps, int64_t n,
                  Act& out);
// The same norm of a BF16 residual stream hid (n, d) (no add): the stream a step keeps in BF16
// where every residual add is a cuBLASLt GEMM adding into it (linear_act_add_bf16), as vLLM
// and TensorRT-LLM keep it.
void rms_norm_act_bf16(const void* hid, const Tensor& weight, float eps, int64_t n, Act& out);
// out = silu(gate) * up from gate_up (n, 2 inter) F32, in out.spec's form.
void silu_mul_act(const float* gate_up, int64_t n, int64_t inter, Act& out);
// The same from a BF16 gate_up (n, 2 inter), as linear_act_bf16 writes it.
void silu_mul_act_bf16(const void* gate_up, int64_t n, int64_t inter, Act& out);
// Which producers (rms_norm_act, silu_mul_act(_bf16), to_act) run: 0 = the default
// (QINFER_CUDA_VEC_PRODUCERS, default 1: the vectorized ones where they apply (rows a multiple
// of 4 up to 16384, aligned buffers): one 1024-thread block per row, each thread's 4-element
// groups held in registers from one set of 16-byte loads to 16-byte stores; H100, 8B FP8:
// decode 210 -> 236 tok/s, 2048-token prefill 43.2 -> 38.3 ms, bench/results/*_s4*), 1 =
// classic, 2 = vectorized where it applies. For tests and benchmarks.
void set_producer_path(int p);
// out = x (n, out.spec.n_in) row-major F32, in out.spec's form.
void to_act(const float* x, int64_t n, Act& out);

// y (n, n_out) F32 = linear(w, x), or y += linear(w, x) when accumulate.
// The GEMV splits each row over 1, 2, 4 or 8 warps so that no warp streams more than 4 KiB of
// it; set_gemv_split(s) forces s (0: automatic), for benchmarks and tests.
void set_gemv_split(int s);
// For n <= 8 FP8 rows on sm_90 the GEMV streams weights through shared memory with the bulk copy
// engine (linear_cuda.h gemv_bulk). set_gemv_bulk(mode, smem_kib, flags): mode 0 =
// QINFER_CUDA_GEMV_BULK (default 1), 1 = off, 2 = on; smem_kib = its shared memory per SM (0:
// 128 KiB for up to 256 KiB of weights a block, else 192; more where x and two stages need
// it); flags (-1: from the environment,
// QINFER_CUDA_GEMV_BULK_FLAGS=1 and QINFER_CUDA_GEMV_XSMEM=0) is a sum of 1 = skip the
// arithmetic (measures the copy rate; wrong results), 2 = 1 KiB pieces, 4 = read x from global
// memory instead of shared memory, 8 = the products on mma.sync where they would be on wgmma
// (n <= 2, n_in % 1024 == 0). For tests and benchmarks.
void set_gemv_bulk(int mode, int smem_kib, int flags = -1);
void linear_act(const LinearWeight& w, const Act& x, float* y, bool accumulate);
// linear_act (y = linear(w, x), not accumulating) for a layer whose outputs are logits that
// may be sampled greedily (the lm_head of a decode step): the GEMV also leaves each row's
// largest sampling::greedy_key (the argmax, lowest id among equal logits; sampling_math.h) in
// keys, spread over the row's kGreedyParts partial maxima (sampling_cuda.h: row r's part p at
// keys[(r kGreedyParts + p) kGreedyStride], the row's key the largest of them) with atomic
// maxima, so keys must hold 0 (or smaller keys) before it; y's bits are linear_act's. Applies where linear_act runs the slot GEMV (x in ActLayout::kSlotF32,
// n <= 8) on an FP8, BF16 or F32 weight; returns false, having done nothing, elsewhere.
// sampling_cuda.h's finish_greedy turns the keys into samples.
bool linear_act_greedy(const LinearWeight& w, const Act& x, float* y, unsigned long long* keys);
// y (=, or += when accumulate) linear(w, x) with x = rms_norm(src) * norm (transformers'
// LlamaRMSNorm, eps; norm F32 (w.n_in)) when norm is set, else x = src; src (n, w.n_in) F32. The
// producer runs inside the decode GEMV (gemv_bulk's prologue: each block makes x's FP8 codes
// in shared memory, the arithmetic of rms_norm_act / to_act) where that applies: FP8 W8A8 on
// sm_90, n <= 2, n_in <= 4096, QINFER_CUDA_GEMV_PROLOGUE (default 1). Returns false, having
// done nothing, elsewhere: the caller then runs rms_norm_act / to_act and linear_act.
bool linear_from_f32(const LinearWeight& w, const float* src, const Tensor* norm, float eps,
                     int64_t n, float* y, bool accumulate);
// The QKV projection of a decode batch (n <= 2 tokens, one per sequence) as linear_from_f32
// with the norm, with rope_kv_write in its epilogue: q and k rotated in qkv and the token's K /
// V rows in their cache slots, the bits of rope_kv_write. cos_sin (n, head_dim / 2, 2) and slot
// (n) are rope_prepare's (attention_cuda.h), made once a step. Returns false, having done
// nothing, where linear_from_f32 would not apply or the shapes do not fit (the caller then runs
// linear_from_f32 / the producers and rope_kv_write).
bool linear_from_f32_rope(const LinearWeight& w, const float* src, const Tensor& norm, float eps,
                          int64_t n, float* qkv, const float* cos_sin, const int64_t* slot,
                          const AttnDims& d, const KvCacheView& kv);
// The MLP at batch 1-2 in two GEMVs: y += down(silu(gate) * up) with (gate, up) =
// gate_up(rms_norm(hid) * norm). gate_up's GEMV makes its input in its prologue (as
// linear_from_f32), pairs each block's gate and up rows and writes h = silu(gate) * up (n,
// inter) F32 and each block's max |h| per row; down's GEMV makes h's FP8 codes in its prologue
// with the scale from those maxima: the same numbers as rms_norm_act, linear_act, silu_mul_act
// and linear_act, with two kernels instead of four. With a static per-tensor down projection
// gate_up's epilogue writes h's FP8 codes under down's input_scale into h's buffer instead (and
// the row scales after them), which down's GEMV copies as its x: no maximum and no conversion
// in down's prologue. Where it does not apply (down not FP8 with dynamic per-token or static
// activations, or as linear_from_f32) returns false, having done nothing. h: (n, inter) F32.
bool mlp_from_f32(const LinearWeight& gate_up, const LinearWeight& down, const float* hid,
                  const Tensor& norm, float eps, int64_t n, float* h, float* y);
// 0: QINFER_CUDA_GEMV_PROLOGUE (default 1), 1: linear_from_f32 and mlp_from_f32 never apply,
// 2: wherever they can. For tests and benchmarks.
void set_gemv_prologue(int mode);
// A decode step of one token: y (1, w.n_out) += o(attention(qkv)) in one kernel, where
// attention is attention_decode_tc's contract (the token's q heads in qkv rotated, the cache
// already holding its K / V row; b one token, AttnBatch::past_ready honoured) and o = w is FP8
// W8A8 with a static per-tensor input scale: the attention's output quantized as to_act does
// (x * (1 / input_scale)), multiplied as linear_act, added to y with w's bias. The blocks own
// (KV head, slice of o's rows): o's weight streams into shared memory during the attention
// (attention_o.cu). The attention runs in fp32 (as attention_decode), so its output differs
// from attention_decode_tc's (BF16 / FP16 rounding of Q and P) by ~1e-3 relative and the FP8
// codes of o's input may differ by one step here and there. attn_out (1, n_head head_dim),
// when set, receives the attention's output (tests). Applies on sm_90 with QINFER_CUDA_ATTN_O
// (default 0: slower on the H100, 8B batch 1 297 against 310 tok/s,
// bench/results/gpu_run_s22.cmd q2) or set_attention_o(2), for BF16 / FP8 caches,
// head_dim 64 / 128, groups of 4 or 8 and b.max_seq_len <= attention_o_max_keys()
// (QINFER_CUDA_ATTN_O_MAX_KEYS, default 512); elsewhere returns false, having done nothing.
// Not inside a graph capture first: the first call allocates and zeroes its scratch.
bool attention_o(const LinearWeight& w, const float* qkv, const AttnBatch& b, const AttnDims& d,
                 const KvCacheView& kv, float* y, float* attn_out = nullptr);
int attention_o_max_keys();
// 0: QINFER_CUDA_ATTN_O, 1: never, 2: wherever attention_o applies. For tests and benchmarks.
void set_attention_o(int mode);
// A batch-1 decode step's layers in one persistent kernel (decode_persistent.cu): for each
// layer, in the arithmetic of linear_from_f32_rope, attention (fp32, as attention_o), o with
// its input quantized as to_act, and mlp_from_f32's static path:
//   hid += o(attention(rope(qkv(rms_norm(hid) * attn_norm))));
//   hid += down(silu(gate) * up), (gate, up) = gate_up(rms_norm(hid) * mlp_norm),
// the token's K / V rows written to each layer's cache slot and the last layer's qkv in qkv.
// One block a multiprocessor streams its share of every weight through shared memory while
// the phases wait for one another through counters in global memory. cos_sin and slot are
// rope_prepare's (embedding_rows_rope). Applies on sm_90 with QINFER_CUDA_PERSIST (default 0)
// or set_decode_persistent(2), for one token (b.n_tok == b.n_seq == 1), every linear FP8 with
// a static per-tensor input scale, head_dim 64 or 128, group <= 8, hidden size <= 4096, BF16 or FP8
// caches, b.max_seq_len <= decode_persistent_max_keys() (QINFER_CUDA_PERSIST_MAX_KEYS, 4096);
// elsewhere returns false, having done nothing. The first call for a set of layers uploads
// their descriptors and zeroes its scratch (not inside a graph capture: it then returns false).
struct DecodeLayer {
  const LinearWeight* qkv = nullptr;  // (n_head + 2 n_head_kv) head_dim x hidden
  const LinearWeight* o = nullptr;
  const LinearWeight* gate_up = nullptr;  // 2 inter x hidden, gate rows then up rows
  const LinearWeight* down = nullptr;
  const Tensor* attn_norm = nullptr;  // F32 (hidden)
  const Tensor* mlp_norm = nullptr;
  KvCacheView kv;
};
bool decode_layers_persistent(const std::vector<DecodeLayer>& layers, float* hid, float eps,
                              float* qkv, const float* cos_sin, const int64_t* slot,
                              const AttnBatch& b, const AttnDims& d);
int decode_persistent_max_keys();
// 0: QINFER_CUDA_PERSIST, 1: never, 2: wherever decode_layers_persistent applies.
void set_decode_persistent(int mode);

// y (n, n_out) BF16 = linear(w, x) for an FP8 weight without bias and x in kCodesU8 form, on
// cuBLASLt with the scales applied inside (vLLM's W8A8 GEMM writes BF16 the same way). Returns
// false, having done nothing, where that kernel is not available (the caller then runs
// linear_act into F32). For prefill: the (n, 2 inter) gate_up output is the largest tensor of
// the step, and BF16 halves what its GEMM writes and silu_mul_act_bf16 reads.
bool linear_act_bf16(const LinearWeight& w, const Act& x, void* y);

// y (n, n_out) F32 = linear(w, x) for a BF16 weight with x (n, n_in) F32 rows rounded to BF16:
// one BF16 GEMM where linear_act runs two (x = hi + lo keeps F32 activations ~exact). These
// are vLLM's lm_head numerics (its hidden states are BF16); the runner's sampled logits at
// large batches. Returns false, having done nothing, where it does not apply (weight not BF16;
// n <= 8 rows, where the GEMV reads each weight byte once whatever x is; no cuBLASLt
// algorithm).
bool linear_bf16_input(const LinearWeight& w, const float* x, int64_t n, float* y);

// y (n, w.n_out) BF16 += linear(w, x): the residual add of o / down into a BF16 residual
// stream, cuBLASLt's FP8 GEMM reading and writing y in BF16 (the sum x_scale ⊙ (x · wᵀ) ⊙
// w_scale + y in fp32, rounded once). Applies where linear_add_bf16_applies(w, x.n) and x is
// FP8 codes; returns false, having done nothing, elsewhere.
bool linear_act_add_bf16(const LinearWeight& w, const Act& x, void* y);
// Whether linear_act_add_bf16 takes w at n rows, at no cost against linear_act's F32 add:
// FP8 W8A8 with codes, no bias, more than 8 rows, and a cuBLASLt GEMM where linear_act would
// run cuBLASLt too (gemm_fp8_add_bf16_applies). The runner keeps a step's residual stream in
// BF16 where this holds for every layer's o and down.
bool linear_add_bf16_applies(const LinearWeight& w, int64_t n);
// 0: never (a step's residual stream stays F32), 1: as above (the default), 2: also where a
// CUTLASS tile would have run (cuBLASLt then adds into BF16; for tests at small shapes).
// Initially QINFER_CUDA_RESID_BF16 (default 1).
int resid_bf16_mode();
void set_resid_bf16_mode(int mode);

// Rows `rows` (n_rows I32 on the device) of src (?, d) F32 -> dst (n_rows, d).
void gather_rows(const float* src, const int32_t* rows, int64_t n_rows, int64_t d, float* dst);
// The same for BF16 rows.
void gather_rows_bf16(const void* src, const int32_t* rows, int64_t n_rows, int64_t d, void* dst);
// out (n, d) F32 = table[ids] for ids (n) I32 on the device; table F32 / F16 / BF16.
// With `from` (n) I32 on the device, row i whose from[i] >= 0 takes its id from fed[from[i]]
// instead (the previous step's sampled tokens, still on the GPU: sampled_tokens_device()).
void embedding_rows(const Tensor& table, const int32_t* ids, int64_t n, float* out,
                    const int32_t* from = nullptr, const int32_t* fed = nullptr);
// The same into a BF16 out (n, d) (a BF16 table's rows exactly).
void embedding_rows_bf16(const Tensor& table, const int32_t* ids, int64_t n, void* out,
                         const int32_t* from = nullptr, const int32_t* fed = nullptr);
// embedding_rows and rope_prepare (attention_cuda.h) of a decode batch (b.n_tok == n) in one
// launch, the same numbers: the decode step's first two kernels, which ran 2.4 us apart on the
// H100 (bench/results/gpu_run_s19.cmd q3).
void embedding_rows_rope(const Tensor& table, const int32_t* ids, int64_t n, float* out,
                         const int32_t* from, const int32_t* fed, const AttnBatch& b,
                         const AttnDims& d, const float* inv_freq, int block_size,
                         float* cos_sin, int64_t* slot);

// The backend stream every op runs on (for the attention_cuda.h entry points).
cudaStream_t backend_stream();

// A second compute stream beside the backend stream, for two kernels of one step that read
// and write nothing of each other's (the mixed step's prefill attention beside its decode
// attention): fork_stream() returns it after everything queued on the backend stream so far,
// and join_stream() makes the backend stream's later work wait for what was queued on it.
// QINFER_CUDA_SIDE_PRIORITY=1 gives it the device's greatest stream priority (the block
// scheduler then places its blocks first). Legal inside a graph capture (a fork and a join).
cudaStream_t fork_stream();
void join_stream();

// Host <-> device copies on the backend stream (asynchronous for pinned host memory).
void copy_to_device_async(void* dst, const void* src, size_t bytes);
void copy_to_host_async(void* dst, const void* src, size_t bytes);
// Page-locked host memory for those copies.
void* pinned_alloc(size_t bytes);
void pinned_free(void* p);

// Page-locked host buffers for per-step uploads, used in turn: a buffer is rewritten only once
// the copy that last read it has run (an event per buffer, not a stream synchronization), so
// the host can fill step N+1's metadata while the GPU still runs step N.
class UploadRing {
 public:
  UploadRing();
  ~UploadRing();
  UploadRing(const UploadRing&) = delete;
  UploadRing& operator=(const UploadRing&) = delete;
  // The next buffer, at least `bytes` long, its previous upload finished.
  void* acquire(size_t bytes);
  // Queues the copy of the last acquired buffer's first `bytes` to `dst` (device) on the
  // backend stream.
  void upload(void* dst, size_t bytes);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Per-step uploads into two destinations used in turn (k = 0, 1: a decode graph per
// destination), copied on a second stream so that the backend stream does not run the copy
// between two steps: the copy into destination k waits for the backend stream's work up to the
// last done(k) (the last graph that read it), and the backend stream's next work waits for the
// copy. The host fills step N+1's buffer and its copy runs while the GPU runs step N.
class SideUpload {
 public:
  SideUpload();
  ~SideUpload();
  SideUpload(const SideUpload&) = delete;
  SideUpload& operator=(const SideUpload&) = delete;
  // Destination k's page-locked buffer, at least `bytes` long, its previous copy finished.
  void* acquire(int k, size_t bytes);
  // Queues the copy of buffer k's first `bytes` to `dst` (device) as above.
  void upload(int k, void* dst, size_t bytes);
  // The backend stream's work queued so far is destination k's last reader.
  void done(int k);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A CUDA graph of the work queued on the backend stream between begin() and end(); launch()
// replays it. Capture must not allocate (warm the shapes up first) or synchronize.
class Graph {
 public:
  Graph();
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  void begin();
  void end();
  void launch();
  bool ready() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qinfer::ops::cuda
