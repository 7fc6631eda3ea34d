#include "ops/linear.h"

#include "core/error.h"
#include "ops/cpu/linear_cpu.h"
#include "ops/cuda/cuda_ops.h"

namespace qinfer::ops {

void linear(const LinearWeight& w, const Tensor& x, Tensor& y) {
  QINFER_CHECK(x.ndim() == 2 && x.dim(1) == w.n_in, "linear ", w.name, ": x has shape ",
               shape_str(x.shape()), ", expected (n, ", w.n_in, ")");
  QINFER_CHECK(y.ndim() == 2 && y.dim(0) == x.dim(0) && y.dim(1) == w.n_out, "linear ", w.name,
               ": y has shape ", shape_str(y.shape()), ", expected (", x.dim(0), ", ", w.n_out,
               ")");
  QINFER_CHECK(x.device() == w.weight.device() && y.device() == x.device(), "linear ", w.name,
               ": x, y and W must be on one device");
  if (x.device() == Device::kCuda) {
    cuda::linear(w, x, y);
    return;
  }
  QINFER_CHECK(x.dtype() == DType::kF32 && y.dtype() == DType::kF32, "linear ", w.name,
               ": unsupported (format ", dtype_name(w.weight.dtype()), ", activation dtype ",
               dtype_name(x.dtype()), ", device cpu)");
  switch (w.weight.dtype()) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
      cpu::linear_dense(w, x.data_as<float>(), x.dim(0), y.data_as<float>());
      return;
    case DType::kF8E4M3:
      cpu::linear_fp8(w, x.data_as<float>(), x.dim(0), y.data_as<float>());
      return;
    default:
      QINFER_FAIL("linear ", w.name, ": unsupported (format ", dtype_name(w.weight.dtype()),
                  ", activation dtype F32, device cpu)");
  }
}

}  // namespace qinfer::ops
