// Prometheus text format 0.0.4: "# HELP", "# TYPE", then samples; histograms as cumulative
// _bucket{le=...} series plus _sum and _count.
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <sstream>

#include "server/server.h"

namespace qinfer::server {
namespace {

// The shortest decimal that reads back as v (0.005, not 0.0050000000000000001).
std::string num(double v) {
  char buf[64];
  if (v == double(int64_t(v)) && v > -1e15 && v < 1e15) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    return buf;
  }
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

void header(std::ostringstream& os, const char* name, const char* type, const char* help) {
  os << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

void histogram(std::ostringstream& os, const char* name, const char* help,
               const engine::Histogram& h, const std::string& label) {
  header(os, name, "histogram", help);
  uint64_t cum = 0;
  for (size_t i = 0; i < h.bounds.size(); ++i) {
    cum += h.counts[i];
    os << name << "_bucket{" << label << ",le=\"" << num(h.bounds[i]) << "\"} " << cum << "\n";
  }
  cum += h.counts.back();
  os << name << "_bucket{" << label << ",le=\"+Inf\"} " << cum << "\n";
  os << name << "_sum{" << label << "} " << num(h.sum) << "\n";
  os << name << "_count{" << label << "} " << h.count << "\n";
}

}  // namespace

std::string render_metrics(const engine::EngineMetrics& m, const std::string& model_name) {
  std::ostringstream os;
  std::string label = "model_name=\"" + model_name + "\"";
  header(os, "vllm:num_requests_running", "gauge", "Number of requests in model execution batches.");
  os << "vllm:num_requests_running{" << label << "} " << m.n_running << "\n";
  header(os, "vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.");
  os << "vllm:num_requests_waiting{" << label << "} " << m.n_waiting << "\n";
  header(os, "vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.");
  os << "vllm:kv_cache_usage_perc{" << label << "} " << num(m.kv_usage) << "\n";
  header(os, "vllm:num_preemptions_total", "counter", "Cumulative number of preemptions.");
  os << "vllm:num_preemptions_total{" << label << "} " << m.preemptions << "\n";
  header(os, "vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.");
  os << "vllm:prompt_tokens_total{" << label << "} " << m.prompt_tokens << "\n";
  header(os, "vllm:generation_tokens_total", "counter", "Number of generation tokens processed.");
  os << "vllm:generation_tokens_total{" << label << "} " << m.generation_tokens << "\n";
  header(os, "vllm:request_success_total", "counter", "Count of successfully processed requests.");
  for (const char* r : {"stop", "length", "abort"}) {
    auto it = m.finished.find(r);
    os << "vllm:request_success_total{" << label << ",finished_reason=\"" << r << "\"} "
       << (it == m.finished.end() ? 0 : it->second) << "\n";
  }
  histogram(os, "vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
            m.ttft, label);
  histogram(os, "vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.",
            m.itl, label);
  histogram(os, "vllm:e2e_request_latency_seconds",
            "Histogram of e2e request latency in seconds.", m.e2e, label);
  histogram(os, "qinfer:engine_step_seconds",
            "Wall time of one engine step (schedule, forward, sample, outputs).", m.step, label);
  histogram(os, "qinfer:engine_forward_seconds", "Wall time of the model forward in a step.",
            m.forward, label);
  header(os, "qinfer:engine_steps_total", "counter", "Engine steps run.");
  os << "qinfer:engine_steps_total{" << label << "} " << m.steps << "\n";
  header(os, "qinfer:engine_decode_token_step_seconds_total", "counter",
         "Sum over steps of step seconds x non-first tokens sampled in the step.");
  os << "qinfer:engine_decode_token_step_seconds_total{" << label << "} "
     << num(m.decode_token_step_seconds) << "\n";
  header(os, "qinfer:engine_decode_tokens_total", "counter",
         "Tokens sampled that were not a sequence's first (the ITL population).");
  os << "qinfer:engine_decode_tokens_total{" << label << "} " << m.decode_tokens << "\n";
  header(os, "qinfer:engine_idle_seconds_total", "counter",
         "Engine thread time outside non-empty steps (waiting for work, empty steps).");
  os << "qinfer:engine_idle_seconds_total{" << label << "} " << num(m.idle_seconds) << "\n";
  header(os, "qinfer:engine_empty_steps_total", "counter", "Steps with nothing to schedule.");
  os << "qinfer:engine_empty_steps_total{" << label << "} " << m.empty_steps << "\n";
  header(os, "qinfer:kv_cache_blocks", "gauge", "KV-cache blocks (16 positions each).");
  os << "qinfer:kv_cache_blocks{" << label << "} " << m.n_block << "\n";
  return os.str();
}

}  // namespace qinfer::server
