// Engine counters and histograms, named after vLLM's Prometheus metrics so that dashboards
// built for `vllm serve` work unchanged (the server renders them, src/server/metrics_text.cc).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace qinfer::engine {

struct Histogram {
  std::vector<double> bounds;      // upper bounds, ascending (le="...")
  std::vector<uint64_t> counts;    // (bounds.size() + 1) non-cumulative; last = +Inf
  double sum = 0.0;
  uint64_t count = 0;

  explicit Histogram(std::vector<double> b = {})
      : bounds(std::move(b)), counts(bounds.size() + 1, 0) {}
  void observe(double v);
};

struct EngineMetrics {
  int64_t n_running = 0;               // requests with a running sequence
  int64_t n_waiting = 0;               // requests queued or preempted
  double kv_usage = 0.0;               // 0..1
  int64_t n_block = 0;
  uint64_t prompt_tokens = 0;          // vllm:prompt_tokens_total
  uint64_t generation_tokens = 0;      // vllm:generation_tokens_total
  uint64_t preemptions = 0;            // vllm:num_preemptions_total
  std::map<std::string, uint64_t> finished;  // vllm:request_success_total{finished_reason}
  uint64_t steps = 0;
  uint64_t empty_steps = 0;    // loop iterations with nothing to schedule
  double idle_seconds = 0.0;   // engine thread time outside non-empty steps
  // For comparing with client-side inter-token latency: Σ over steps of (step seconds x
  // tokens in that step that were not a sequence's first), and the count of those tokens.
  // Their ratio is the step time as a token (not a step) sees it on average.
  double decode_token_step_seconds = 0.0;
  uint64_t decode_tokens = 0;
  // vLLM's bucket bounds (vllm/v1/metrics/loggers.py).
  Histogram ttft{{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5,
                  5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0}};
  Histogram itl{{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
                 5.0, 7.5, 10.0, 20.0, 40.0, 80.0}};
  Histogram e2e{{0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0,
                 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0}};
  // qinfer's own: wall time of one engine step (schedule + forward + sample + outputs) and
  // of the model forward inside it; the benchmark compares them with client-side ITL.
  Histogram step{{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0}};
  Histogram forward{{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0}};
  // Device path: seconds the engine thread spent waiting for the GPU's sampled tokens. The
  // step time outside it and outside the forward's launches (step.sum - forward.sum -
  // device_wait_seconds) is host work (scheduling, outputs) the GPU sits idle for.
  double device_wait_seconds = 0.0;
  // Engine-thread seconds per phase of a step, summed over steps (for finding host overhead):
  // scheduling (inbox, schedule, block copies), preparing the samples (commit, sampling jobs),
  // drawing (the device wait or the host sampler), applying tokens (detokenize, stop checks),
  // emitting outputs (callbacks, gauges). The forward's own time is `forward`.
  double schedule_seconds = 0.0, prepare_seconds = 0.0, draw_seconds = 0.0,
         apply_seconds = 0.0, emit_seconds = 0.0;
};

}  // namespace qinfer::engine
