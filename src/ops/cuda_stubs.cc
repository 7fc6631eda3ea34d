// Without the CUDA backend, the CUDA entry points report that clearly.
#ifndef QINFER_HAVE_CUDA
#include "core/error.h"
#include "ops/cuda/cuda_ops.h"

namespace qinfer::ops::cuda {

bool available() { return false; }

void linear(const LinearWeight& w, const Tensor&, Tensor&) {
  QINFER_FAIL("linear ", w.name, ": unsupported (format ", dtype_name(w.weight.dtype()),
              ", device cuda): this build has no CUDA backend");
}

}  // namespace qinfer::ops::cuda
#endif
