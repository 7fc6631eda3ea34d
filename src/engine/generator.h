// A simple single-sequence generation driver over LlamaModel + Sampler (the CLI's `generate`
// and `perplexity`); the server uses the scheduler instead. One sequence owns a contiguous
// block table over a private KV cache.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/sampler.h"
#include "io/model_config.h"
#include "model/llama.h"
#include "tokenizer/tokenizer.h"

namespace qinfer::engine {

struct GenerateOptions {
  SamplingParams sampling = {};
  int64_t max_tokens = 256;
  std::vector<int32_t> stop_token_ids = {};  // in addition to the model's EOS ids
  std::vector<std::string> stop = {};        // stop strings; cut from the output (vLLM)
  bool ignore_eos = false;
  bool skip_special_tokens = true;  // in the output text, as vLLM by default
  int64_t prefill_chunk = 512;      // prompt tokens per forward pass
};

struct GenerateResult {
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> completion_ids;  // includes the EOS / stop token that ended it
  std::string text;                     // the completion, without the stop string
  std::string finish_reason;            // "stop" or "length"
  std::vector<SampleResult> logprobs;   // one per completion token
};

// Receives each newly completed piece of text as soon as it is safe to show.
using StreamCallback = std::function<void(std::string_view)>;

class Generator {
 public:
  // `eos_ids`: generation_config.json's eos_token_id list (falling back to config.json's).
  Generator(model::LlamaModel& model, const tokenizer::Tokenizer& tok,
            std::vector<int32_t> eos_ids);

  GenerateResult generate(const std::vector<int32_t>& prompt_ids, const GenerateOptions& opt,
                          const StreamCallback& on_text = nullptr);

 private:
  model::LlamaModel& model_;
  const tokenizer::Tokenizer& tok_;
  std::vector<int32_t> eos_ids_;
};

// A checkpoint and its tokenizer for the CLI. A directory's tokenizer.json is read by
// Tokenizer::from_dir (plain JSON: io::open_checkpoint's order-preserving Json spends seconds
// on a 128k-entry vocabulary) and ck.tokenizer_json stays null; a .gguf uses the tokenizer
// synthesized from its metadata. `tokenizer_dir`, when not empty, overrides either.
struct ModelFiles {
  io::Checkpoint ck;
  std::unique_ptr<tokenizer::Tokenizer> tok;
};
ModelFiles open_model_files(const std::string& path, const std::string& tokenizer_dir = "");

// The EOS ids a checkpoint declares: generation_config.json's list, else config.json's.
std::vector<int32_t> eos_token_ids(const io::ModelConfig& c, const io::GenerationConfig& g);

// Perplexity with a sliding window, exactly the loop of Hugging Face's guide
// (https://huggingface.co/docs/transformers/perplexity): windows start every `stride`
// tokens and span up to `context`; only the trg_len = end - prev_end tokens not scored by an
// earlier window are targets (the rest are labels -100); each window's mean NLL is weighted
// by its number of valid targets minus one (the guide's label-shift correction), and
// ppl = exp(Σ nll_i * n_i / Σ n_i).
struct PerplexityResult {
  double ppl = 0;
  double mean_nll = 0;
  int64_t n_tokens = 0;  // Σ n_i
  int64_t n_windows = 0;
  int64_t n_input_ids = 0;
};

PerplexityResult perplexity(model::LlamaModel& model, const std::vector<int32_t>& ids,
                            int64_t context, int64_t stride, int64_t chunk = 256);

}  // namespace qinfer::engine
