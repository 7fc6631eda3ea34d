// Without the CUDA backend, the GPU sampler reports that clearly (as cuda_stubs.cc does for
// the other CUDA entry points).
#ifndef QINFER_HAVE_CUDA
#include "core/error.h"
#include "ops/cuda/sampling_cuda.h"

namespace qinfer::ops::cuda {

std::vector<SampleOut> sample_rows(Tensor& logits, const SampleBatch&) {
  QINFER_FAIL("sample_rows: unsupported (dtype ", dtype_name(logits.dtype()),
              ", device cuda): this build has no CUDA backend");
}

SampleTicket sample_rows_async(Tensor& logits, const SampleBatch& batch) {
  (void)sample_rows(logits, batch);
  return {};
}

std::vector<SampleOut> sample_rows_wait(const SampleTicket&) { return {}; }

const int32_t* sampled_tokens_device() {
  QINFER_FAIL("sampled_tokens_device: this build has no CUDA backend");
}

unsigned long long* greedy_keys_device() { return nullptr; }

void finish_greedy(int, const int32_t*) {
  QINFER_FAIL("finish_greedy: this build has no CUDA backend");
}

void note_greedy(const float*, int, uint32_t) {}

}  // namespace qinfer::ops::cuda
#endif
