#include "engine/device_sampling.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"

namespace qinfer::engine {

namespace {

// The row's penalty entries, ascending by id: in_context for every distinct token of prompt +
// generated (repetition penalty), count of each generated token (presence / frequency).
void append_penalties(const SamplingParams& p, const RowToSample& row, int64_t vocab,
                      std::vector<ops::cuda::SamplePenalty>* out) {
  auto in_range = [vocab](int32_t t) { return t >= 0 && t < vocab; };
  std::vector<int32_t> ctx, gen;
  if (p.repetition_penalty != 1.0f)
    for (auto span : {row.prompt, row.generated})
      for (int32_t t : span)
        if (in_range(t)) ctx.push_back(t);
  if (p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f)
    for (int32_t t : row.generated)
      if (in_range(t)) gen.push_back(t);
  std::sort(ctx.begin(), ctx.end());
  ctx.erase(std::unique(ctx.begin(), ctx.end()), ctx.end());
  std::sort(gen.begin(), gen.end());
  // Merge: ctx is distinct, gen holds runs of equal ids.
  size_t i = 0, j = 0;
  while (i < ctx.size() || j < gen.size()) {
    const int32_t id = j == gen.size() || (i < ctx.size() && ctx[i] < gen[j]) ? ctx[i] : gen[j];
    ops::cuda::SamplePenalty e{.id = id, .count = 0, .in_context = 0};
    if (i < ctx.size() && ctx[i] == id) e.in_context = 1, ++i;
    while (j < gen.size() && gen[j] == id) ++e.count, ++j;
    out->push_back(e);
  }
}

}  // namespace

ops::cuda::SampleBatch plan_samples(std::span<const RowToSample> rows, int64_t vocab) {
  ops::cuda::SampleBatch b;
  b.rows.reserve(rows.size());
  for (const RowToSample& row : rows) {
    QINFER_CHECK(row.params != nullptr, "plan_samples: a row without parameters");
    const SamplingParams& p = *row.params;
    QINFER_CHECK(p.top_logprobs <= ops::sampling::kMaxTopLogprobs, "plan_samples: top_logprobs ",
                 p.top_logprobs, " exceeds ", ops::sampling::kMaxTopLogprobs);
    ops::cuda::SampleRow r{
        .logits_row = int32_t(row.logits_row),
        .temperature = p.temperature,
        .top_k = p.top_k > 0 && p.top_k < vocab ? int32_t(p.top_k) : 0,
        .top_p = p.top_p,
        .min_p = p.min_p,
        // The CPU sampler's cut is mx + std::log(min_p): the same float, computed here.
        .log_min_p = p.min_p > 0.0f ? std::log(p.min_p) : 0.0f,
        .repetition_penalty = p.repetition_penalty,
        .presence_penalty = p.presence_penalty,
        .frequency_penalty = p.frequency_penalty,
        .want_logprob = p.logprobs ? 1 : 0,
        .n_top = int32_t(p.top_logprobs),
        .uniform = p.temperature > 0.0f ? row.uniform : 0.0,
        .penalty_begin = int32_t(b.penalties.size()),
        .penalty_end = 0,
        .ban_begin = int32_t(b.bans.size()),
        .ban_end = 0};
    if (has_penalties(p)) append_penalties(p, row, vocab, &b.penalties);
    for (int32_t t : row.banned) {
      QINFER_CHECK(t >= 0 && t < vocab, "plan_samples: banned token ", t, " is out of range");
      b.bans.push_back(t);
    }
    r.penalty_end = int32_t(b.penalties.size());
    r.ban_end = int32_t(b.bans.size());
    b.rows.push_back(r);
  }
  return b;
}

SamplingParams params_of(const ops::cuda::SampleRow& r) {
  return {.temperature = r.temperature,
          .top_k = r.top_k,
          .top_p = r.top_p,
          .min_p = r.min_p,
          .repetition_penalty = r.repetition_penalty,
          .presence_penalty = r.presence_penalty,
          .frequency_penalty = r.frequency_penalty,
          .seed = {},
          .top_logprobs = r.n_top,
          .logprobs = r.want_logprob != 0};
}

std::vector<ops::cuda::SampleOut> sample_rows_host(Tensor& logits,
                                                   const ops::cuda::SampleBatch& batch) {
  QINFER_CHECK(
      logits.device() == Device::kCpu && logits.dtype() == DType::kF32 && logits.ndim() == 2,
      "sample_rows_host: logits must be (rows, vocab) F32 on the CPU");
  const int64_t V = logits.dim(1);
  float* l = logits.data_as<float>();
  for (const ops::cuda::SampleRow& r : batch.rows) {
    QINFER_CHECK(r.logits_row >= 0 && r.logits_row < logits.dim(0), "sample_rows_host: row ",
                 r.logits_row, " is out of range");
    for (int32_t j = r.ban_begin; j < r.ban_end; ++j)
      l[int64_t(r.logits_row) * V + batch.bans[size_t(j)]] = -INFINITY;
  }
  std::vector<ops::cuda::SampleOut> outs(batch.rows.size());
  parallel_for(int64_t(batch.rows.size()), [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      const ops::cuda::SampleRow& r = batch.rows[size_t(i)];
      // The penalty entries stand for prompt + generated: every in-context id once (the
      // repetition penalty needs only the set) and each generated id `count` times.
      std::vector<int32_t> ctx, gen;
      for (int32_t j = r.penalty_begin; j < r.penalty_end; ++j) {
        const ops::cuda::SamplePenalty& pe = batch.penalties[size_t(j)];
        if (pe.in_context) ctx.push_back(pe.id);
        gen.insert(gen.end(), size_t(pe.count), pe.id);
      }
      SampleResult res =
          sample_row(params_of(r), std::span<const float>(l + int64_t(r.logits_row) * V, size_t(V)),
                     ctx, gen, r.uniform);
      ops::cuda::SampleOut& o = outs[size_t(i)];
      o.token = res.token;
      o.logprob = res.logprob;
      o.n_top = int32_t(res.top.size());
      for (size_t k = 0; k < res.top.size(); ++k) {
        o.top_id[k] = res.top[k].id;
        o.top_logprob[k] = res.top[k].logprob;
      }
    }
  });
  return outs;
}

SampleResult to_sample_result(const ops::cuda::SampleOut& o) {
  SampleResult r{.token = o.token, .logprob = o.logprob, .top = {}};
  for (int32_t k = 0; k < o.n_top; ++k) r.top.push_back({o.top_id[k], o.top_logprob[k]});
  return r;
}

}  // namespace qinfer::engine
