// Without the CUDA backend, the CUDA entry points report that clearly.
#ifndef QINFER_HAVE_CUDA
#include "core/error.h"
#include "ops/cuda/cuda_ops.h"

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
double measure_copy_bandwidth_gbs(size_t) { no_cuda("measure_copy_bandwidth_gbs", DType::kU8); }
double measure_gemm_tflops(int64_t, bool) { no_cuda("measure_gemm_tflops", DType::kF8E4M3); }
std::string gpu_name() { return "none (built without CUDA)"; }
size_t gpu_memory_bytes() { return 0; }

}  // namespace qinfer::ops::cuda
#endif
