// CUDA-event timing shared by the GPU benchmarks (gpu_kernels, gpu_attention) and the measured
// ceilings (measure.cc): the median over
// `reps` timings of `iters` back-to-back calls, on the backend stream, either launched one by
// one or captured once into a CUDA graph and replayed (what kernels take without the host's
// launch gaps: decode runs as graphs). fn is called as fn(i) or fn().
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <type_traits>
#include <vector>

#include "ops/cuda/cuda_common.h"

namespace qinfer::ops::cuda {
namespace event_timing {

struct Events {
  cudaEvent_t a = nullptr, b = nullptr;
  Events() {
    QINFER_CUDA_CHECK(cudaEventCreate(&a));
    QINFER_CUDA_CHECK(cudaEventCreate(&b));
  }
  ~Events() {
    cudaEventDestroy(a);
    cudaEventDestroy(b);
  }
  Events(const Events&) = delete;
  Events& operator=(const Events&) = delete;
};

template <typename F>
void call(F& fn, int i) {
  if constexpr (std::is_invocable_v<F&, int>)
    fn(i);
  else
    fn();
}

}  // namespace event_timing

// Milliseconds per call, median over reps.
template <typename F>
double time_ms(F fn, int iters, int reps) {
  event_timing::Events ev;
  // Warm-up: plans, module load, scratch buffers.
  for (int i = 0; i < 3; ++i) event_timing::call(fn, i);
  std::vector<double> ts;
  for (int r = 0; r < reps; ++r) {
    QINFER_CUDA_CHECK(cudaEventRecord(ev.a, stream()));
    for (int i = 0; i < iters; ++i) event_timing::call(fn, i);
    QINFER_CUDA_CHECK(cudaEventRecord(ev.b, stream()));
    QINFER_CUDA_CHECK(cudaEventSynchronize(ev.b));
    float ms = 0;
    QINFER_CUDA_CHECK(cudaEventElapsedTime(&ms, ev.a, ev.b));
    ts.push_back(double(ms) / iters);
  }
  std::sort(ts.begin(), ts.end());
  return ts[ts.size() / 2];
}

// As time_ms, with the iters calls captured once into a CUDA graph that is replayed.
template <typename F>
double time_graph_ms(F fn, int iters, int reps) {
  // Warm-up outside the capture: allocations, plans.
  for (int i = 0; i < 3; ++i) event_timing::call(fn, i);
  cudaStream_t s = stream();
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  QINFER_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed));
  for (int i = 0; i < iters; ++i) event_timing::call(fn, i);
  QINFER_CUDA_CHECK(cudaStreamEndCapture(s, &graph));
  QINFER_CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  const double ms = time_ms([&] { QINFER_CUDA_CHECK(cudaGraphLaunch(exec, s)); }, 1, reps);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  return ms / iters;
}

}  // namespace qinfer::ops::cuda
