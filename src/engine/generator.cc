#include "engine/generator.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "engine/stop_checker.h"

namespace qinfer::engine {

namespace {

// A contiguous block table for `n_pos` positions: block i is physical block i.
std::vector<int32_t> contiguous_blocks(int64_t n_pos, int64_t block_size) {
  std::vector<int32_t> bt(size_t((n_pos + block_size - 1) / block_size));
  for (size_t i = 0; i < bt.size(); ++i) bt[i] = int32_t(i);
  return bt;
}

constexpr int64_t kBlockSize = 16;

}  // namespace

ModelFiles open_model_files(const std::string& path, const std::string& tokenizer_dir) {
  ModelFiles m;
  m.ck = io::open_checkpoint(path);
  m.tok = tokenizer_dir.empty()
              ? tokenizer::Tokenizer::from_json(m.ck.tokenizer_json, m.ck.tokenizer_config)
              : tokenizer::Tokenizer::from_dir(tokenizer_dir);
  return m;
}

std::vector<int32_t> eos_token_ids(const io::ModelConfig& c, const io::GenerationConfig& g) {
  const std::vector<int64_t>& src = g.eos_token_ids.empty() ? c.eos_token_ids : g.eos_token_ids;
  return std::vector<int32_t>(src.begin(), src.end());
}

Generator::Generator(model::LlamaModel& model, const tokenizer::Tokenizer& tok,
                     std::vector<int32_t> eos_ids)
    : model_(model), tok_(tok), eos_ids_(std::move(eos_ids)) {}

GenerateResult Generator::generate(const std::vector<int32_t>& prompt_ids,
                                   const GenerateOptions& opt, const StreamCallback& on_text) {
  QINFER_CHECK(!prompt_ids.empty(), "generate: the prompt has no tokens");
  QINFER_CHECK(opt.max_tokens >= 0, "generate: max_tokens must be >= 0");
  QINFER_CHECK(opt.prefill_chunk > 0, "generate: prefill_chunk must be positive");
  const int64_t vocab = model_.config().vocab_size;
  for (int32_t id : prompt_ids)
    QINFER_CHECK(id >= 0 && id < vocab, "generate: prompt token id ", id,
                 " is outside the model's vocabulary (", vocab, ")");
  GenerateResult res;
  res.prompt_ids = prompt_ids;
  res.finish_reason = "length";
  const int64_t n_prompt = int64_t(prompt_ids.size());
  const int64_t max_pos = model_.config().max_position_embeddings;
  QINFER_CHECK(n_prompt < max_pos, "generate: the prompt has ", n_prompt,
               " tokens, the model's context (max_position_embeddings) is ", max_pos);
  // As vLLM with max_model_len: generation ends ("length") where the context does.
  const int64_t max_tokens = std::min(opt.max_tokens, max_pos - n_prompt);
  const int64_t n_pos = n_prompt + max_tokens;
  const std::vector<int32_t> bt = contiguous_blocks(n_pos, kBlockSize);
  model::KvCache kv =
      model_.allocate_kv_cache(std::max<int64_t>(1, int64_t(bt.size())), kBlockSize);
  std::vector<int32_t> stop_ids = opt.stop_token_ids;
  if (!opt.ignore_eos) stop_ids.insert(stop_ids.end(), eos_ids_.begin(), eos_ids_.end());
  Sampler sampler(opt.sampling);
  tokenizer::IncrementalDecoder dec(tok_, opt.skip_special_tokens);
  StopChecker stops(opt.stop, false);
  auto emit = [&](const std::string& piece) {
    if (piece.empty()) return;
    res.text += piece;
    if (on_text) on_text(piece);
  };
  // Prefill in chunks; the last chunk yields the first logits row.
  Tensor logits, logits_buffer;  // one buffer for every step's logits row
  for (int64_t p = 0; p < n_prompt; p += opt.prefill_chunk) {
    const int64_t n = std::min(opt.prefill_chunk, n_prompt - p);
    model::Batch b{
        .tokens = std::vector<int32_t>(prompt_ids.begin() + p, prompt_ids.begin() + p + n),
        .seqs = {{.n_past = p, .n_new = n, .block_table = bt}}};
    logits = model_.forward_into(b, kv, logits_buffer);
  }
  for (int64_t step = 0; step < max_tokens; ++step) {
    const SampleResult s =
        sampler.sample(std::span<const float>(logits.data_as<float>(), size_t(vocab)), prompt_ids,
                       res.completion_ids);
    res.completion_ids.push_back(s.token);
    res.logprobs.push_back(s);
    if (std::find(stop_ids.begin(), stop_ids.end(), s.token) != stop_ids.end()) {
      res.finish_reason = "stop";
      break;
    }
    emit(stops.push(dec.push(s.token)));
    if (stops.stopped()) {
      res.finish_reason = "stop";
      break;
    }
    if (step + 1 == max_tokens) break;
    model::Batch b{.tokens = {s.token},
                   .seqs = {{.n_past = n_prompt + step, .n_new = 1, .block_table = bt}}};
    logits = model_.forward_into(b, kv, logits_buffer);
  }
  if (!stops.stopped()) {
    emit(stops.push(dec.flush()));
    emit(stops.flush());
  }
  return res;
}

PerplexityResult perplexity(model::LlamaModel& model, const std::vector<int32_t>& ids,
                            int64_t context, int64_t stride, int64_t chunk) {
  QINFER_CHECK(context > 1 && stride > 0 && stride <= context,
               "perplexity: need context > 1 and "
               "0 < stride <= context, got context ",
               context, ", stride ", stride);
  QINFER_CHECK(ids.size() >= 2, "perplexity: the text has fewer than 2 tokens");
  const int64_t seq_len = int64_t(ids.size()), V = model.config().vocab_size;
  const std::vector<int32_t> bt = contiguous_blocks(context, kBlockSize);
  model::KvCache kv = model.allocate_kv_cache(int64_t(bt.size()), kBlockSize);
  PerplexityResult r;
  r.n_input_ids = seq_len;
  double nll_sum = 0;
  int64_t prev_end = 0;
  Tensor logits_buffer;  // (chunk, vocab), reused by every chunk
  for (int64_t begin = 0; begin < seq_len; begin += stride) {
    const int64_t end = std::min(begin + context, seq_len);
    const int64_t trg_len = end - prev_end;
    const int64_t len = end - begin;
    // Labels: input_ids[begin:end] with the first len - trg_len set to -100. The model's
    // loss shifts them: logits at window position i predict label i + 1, averaged over the
    // labels that are not -100.
    const int64_t first_label = std::max<int64_t>(1, len - trg_len);
    double window_nll = 0;
    int64_t window_n = 0;
    for (int64_t p = 0; p < len; p += chunk) {
      const int64_t n = std::min(chunk, len - p);
      model::Batch b{
          .tokens = std::vector<int32_t>(ids.begin() + begin + p, ids.begin() + begin + p + n),
          .seqs = {{.n_past = p, .n_new = n, .block_table = bt, .logits_all = true}}};
      Tensor logits = model.forward_into(b, kv, logits_buffer);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t label_pos = p + i + 1;  // window position whose token row i predicts
        if (label_pos < first_label || label_pos >= len) continue;
        const float* row = logits.data_as<float>() + i * V;
        double mx = row[0];
        for (int64_t v = 1; v < V; ++v) mx = std::max(mx, double(row[v]));
        double sum = 0;
        for (int64_t v = 0; v < V; ++v) sum += std::exp(double(row[v]) - mx);
        const int32_t target = ids[size_t(begin + label_pos)];
        window_nll += mx + std::log(sum) - double(row[target]);
        ++window_n;
      }
    }
    // The guide: num_valid_tokens = trg_len (labels != -100), num_loss_tokens = that - 1.
    const int64_t n_loss = trg_len - 1;
    if (window_n > 0) nll_sum += window_nll / double(window_n) * double(n_loss);
    r.n_tokens += n_loss;
    ++r.n_windows;
    prev_end = end;
    if (end == seq_len) break;
  }
  QINFER_CHECK(r.n_tokens > 0, "perplexity: no token was scored");
  r.mean_nll = nll_sum / double(r.n_tokens);
  r.ppl = std::exp(r.mean_nll);
  return r;
}

}  // namespace qinfer::engine
