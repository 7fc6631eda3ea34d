// Without the CUDA backend, the CUDA entry points report that clearly.
#ifndef QINFER_HAVE_CUDA
#include "core/error.h"
#include "ops/cuda/cuda_ops.h"
#include "ops/cuda/attention_decode_tc.h"
#include "ops/cuda/fused_ops.h"

namespace qinfer::ops::cuda {

namespace {

[[noreturn]] void no_cuda(const char* op, DType dt) {
  QINFER_FAIL(op, ": unsupported (dtype ", dtype_name(dt),
              ", device cuda): this build has no CUDA backend");
}

}  // namespace

bool available() { return false; }

void linear(const LinearWeight& w, const Tensor&, Tensor&) {
  QINFER_FAIL("linear ", w.name, ": unsupported (format ", dtype_name(w.weight.dtype()),
              ", device cuda): this build has no CUDA backend");
}

void embedding(const Tensor& table, const Tensor&, Tensor&) { no_cuda("embedding", table.dtype()); }
void rms_norm(const Tensor& x, const Tensor&, float, Tensor&) { no_cuda("rms_norm", x.dtype()); }
void rope(Tensor& x, const Tensor&, const Tensor&, int64_t, int64_t) { no_cuda("rope", x.dtype()); }
void silu_mul(const Tensor& gu, Tensor&) { no_cuda("silu_mul", gu.dtype()); }
void add(Tensor& x, const Tensor&) { no_cuda("add", x.dtype()); }
void attention(const Tensor& qkv, const std::vector<AttentionSeq>&, const AttentionDims&, Tensor&,
               Tensor&, Tensor&) {
  no_cuda("attention", qkv.dtype());
}

void synchronize() {}
float absmax(const Tensor& x) { no_cuda("absmax", x.dtype()); }

ActSpec act_spec(const LinearWeight&, int64_t) { return {}; }
size_t act_bytes(const ActSpec&, int64_t) { return 0; }
void set_gemv_split(int) {}
void set_gemv_bulk(int, int, int) {}
void set_producer_path(int) {}
void rms_norm_act(float*, const float*, const Tensor& w, float, int64_t, Act&) {
  no_cuda("rms_norm_act", w.dtype());
}
void rms_norm_act_bf16(const void*, const Tensor& w, float, int64_t, Act&) {
  no_cuda("rms_norm_act_bf16", w.dtype());
}
bool linear_act_add_bf16(const LinearWeight&, const Act&, void*) { return false; }
bool linear_add_bf16_applies(const LinearWeight&, int64_t) { return false; }
int resid_bf16_mode() { return 0; }
void set_resid_bf16_mode(int) {}
void silu_mul_act(const float*, int64_t, int64_t, Act&) { no_cuda("silu_mul_act", DType::kF32); }
void silu_mul_act_bf16(const void*, int64_t, int64_t, Act&) {
  no_cuda("silu_mul_act_bf16", DType::kBF16);
}
void to_act(const float*, int64_t, Act&) { no_cuda("to_act", DType::kF32); }
bool linear_act_bf16(const LinearWeight& w, const Act&, void*) {
  no_cuda("linear_act_bf16", w.weight.dtype());
}
bool linear_bf16_input(const LinearWeight& w, const float*, int64_t, float*) {
  no_cuda("linear_bf16_input", w.weight.dtype());
}
bool linear_act_greedy(const LinearWeight&, const Act&, float*, unsigned long long*) {
  return false;
}
void linear_act(const LinearWeight& w, const Act&, float*, bool) {
  no_cuda("linear_act", w.weight.dtype());
}
bool linear_from_f32(const LinearWeight&, const float*, const Tensor*, float, int64_t, float*,
                     bool) {
  return false;
}
bool linear_from_f32_rope(const LinearWeight&, const float*, const Tensor&, float, int64_t,
                          float*, const float*, const int64_t*, const AttnDims&,
                          const KvCacheView&) {
  return false;
}
void rope_prepare(const AttnBatch&, const AttnDims&, const float*, int, float*, int64_t*,
                  cudaStream_t) {
  no_cuda("rope_prepare", DType::kF32);
}
bool mlp_from_f32(const LinearWeight&, const LinearWeight&, const float*, const Tensor&, float,
                  int64_t, float*, float*) {
  return false;
}
void set_gemv_prologue(int) {}
bool attention_o(const LinearWeight&, const float*, const AttnBatch&, const AttnDims&,
                 const KvCacheView&, float*, float*) {
  return false;
}
int attention_o_max_keys() { return 0; }
void set_attention_o(int) {}
bool decode_layers_persistent(const std::vector<DecodeLayer>&, float*, float, float*, const float*,
                              const int64_t*, const AttnBatch&, const AttnDims&) {
  return false;
}
int decode_persistent_max_keys() { return 0; }
void set_decode_persistent(int) {}
void gather_rows(const float*, const int32_t*, int64_t, int64_t, float*) {
  no_cuda("gather_rows", DType::kF32);
}
void gather_rows_bf16(const void*, const int32_t*, int64_t, int64_t, void*) {
  no_cuda("gather_rows_bf16", DType::kBF16);
}
void embedding_rows(const Tensor& t, const int32_t*, int64_t, float*, const int32_t*,
                    const int32_t*) {
  no_cuda("embedding", t.dtype());
}
void embedding_rows_bf16(const Tensor& t, const int32_t*, int64_t, void*, const int32_t*,
                         const int32_t*) {
  no_cuda("embedding", t.dtype());
}
void embedding_rows_rope(const Tensor& t, const int32_t*, int64_t, float*, const int32_t*,
                         const int32_t*, const AttnBatch&, const AttnDims&, const float*, int,
                         float*, int64_t*) {
  no_cuda("embedding", t.dtype());
}
cudaStream_t backend_stream() { return nullptr; }
void attention_decode_rope(float*, const AttnBatch&, const AttnDims&, const float*,
                           const KvCacheView&, float*, cudaStream_t) {
  no_cuda("attention_decode_rope", DType::kF32);
}
void attention_decode_scratch_init(void*, int, const AttnDims&, int, cudaStream_t) {}
bool attention_decode_tc_supported(const AttnDims&, const KvCacheView&) { return false; }
void attention_decode_tc(const float*, const AttnBatch&, const AttnDims&, const KvCacheView& kv,
                         float*, cudaStream_t, const AttnCodes*) {
  no_cuda("attention_decode_tc", kv.dtype);
}
size_t attention_decode_tc_scratch_bytes(int, const AttnDims&, int) { return 0; }
int attention_decode_tc_splits(int, int, const AttnDims&, int) { return 1; }
int attention_decode_tc_heads(int, const AttnDims&, int) { return 1; }
void set_attention_decode_tc_heads(int) {}
bool attention_decode_tc_cluster_merge(int) { return false; }
void probe_dump(const char*) {}
void set_attention_decode_tc_cluster(int) {}
void set_attention_prefill_tile(int) {}
bool attention_early_loads() { return false; }
void set_rope_kv_write_delay(int) {}
bool rope_kv_write_from_bf16_applies(const AttnDims&) { return false; }
void rope_kv_write_from_bf16(const void*, float*, const AttnBatch&, const AttnDims&, const float*,
                             const KvCacheView&, cudaStream_t) {
  no_cuda("rope_kv_write_from_bf16", DType::kBF16);
}
void rope_kv_write(float*, const AttnBatch&, const AttnDims&, const float*, const KvCacheView&,
                   cudaStream_t) {
  no_cuda("rope_kv_write", DType::kF32);
}
void attention_decode(const float*, const AttnBatch&, const AttnDims&, const KvCacheView&, float*,
                      cudaStream_t) {
  no_cuda("attention_decode", DType::kF32);
}
void attention_prefill(const float*, const AttnBatch&, const AttnDims&, const KvCacheView&,
                       float*, cudaStream_t) {
  no_cuda("attention_prefill", DType::kF32);
}
size_t attention_decode_scratch_bytes(int, const AttnDims&, int) { return 0; }
int attention_decode_splits(int, int, const AttnDims&) { return 1; }
void copy_to_device_async(void*, const void*, size_t) { no_cuda("copy", DType::kU8); }
void copy_to_host_async(void*, const void*, size_t) { no_cuda("copy", DType::kU8); }
void* pinned_alloc(size_t) { no_cuda("pinned_alloc", DType::kU8); }
void pinned_free(void*) {}

struct UploadRing::Impl {};
UploadRing::UploadRing() = default;
UploadRing::~UploadRing() = default;
void* UploadRing::acquire(size_t) { no_cuda("UploadRing", DType::kU8); }
void UploadRing::upload(void*, size_t) { no_cuda("UploadRing", DType::kU8); }

struct SideUpload::Impl {};
SideUpload::SideUpload() = default;
SideUpload::~SideUpload() = default;
void* SideUpload::acquire(int, size_t) { no_cuda("SideUpload", DType::kU8); }
void SideUpload::upload(int, void*, size_t) { no_cuda("SideUpload", DType::kU8); }
void SideUpload::done(int) { no_cuda("SideUpload", DType::kU8); }

struct Graph::Impl {};
Graph::Graph() = default;
Graph::~Graph() = default;
void Graph::begin() { no_cuda("graph", DType::kU8); }
void Graph::end() { no_cuda("graph", DType::kU8); }
void Graph::launch() { no_cuda("graph", DType::kU8); }
bool Graph::ready() const { return false; }
double measure_copy_bandwidth_gbs(size_t) { no_cuda("measure_copy_bandwidth_gbs", DType::kU8); }
double measure_gemm_tflops(int64_t, bool) { no_cuda("measure_gemm_tflops", DType::kF8E4M3); }
bool fp8_fast_accum() { return false; }
void set_fp8_fast_accum(bool) {}
std::string gpu_name() { return "none (built without CUDA)"; }
size_t gpu_memory_bytes() { return 0; }
size_t gpu_free_bytes() { return 0; }

}  // namespace qinfer::ops::cuda
#endif
