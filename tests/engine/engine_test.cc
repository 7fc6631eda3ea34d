// The engine end to end over FakeModel (fake_model.h) and the real Llama 3.1 tokenizer:
// greedy outputs must equal the cache-free reference recurrence through chunked prefill,
// preemption, n > 1 forks, cancellation; stop strings, min_tokens, logprobs, prompt
// logprobs follow their definitions.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "engine/engine.h"
#include "fake_model.h"

namespace qinfer::engine {
namespace {

using testing::FakeModel;
using testing::reference_next;

std::shared_ptr<const tokenizer::Tokenizer> llama3_tokenizer() {
  static std::shared_ptr<const tokenizer::Tokenizer> tok =
      tokenizer::Tokenizer::from_dir(std::string(QINFER_SHARED_DIR) + "/models/llama3.1-tokenizer");
  return tok;
}

struct Result {
  std::map<int, std::vector<int32_t>> ids;
  std::map<int, std::string> text;
  std::map<int, std::optional<FinishReason>> finish;
  std::map<int, std::optional<std::string>> stop_str;
  std::map<int, std::vector<Logprob>> logprobs;
  std::vector<std::optional<Logprob>> prompt_logprobs;
  int n_final = 0;
  std::string error;
};

// Every engine test runs with the host waiting for each step's samples (kOff) and with the
// next step queued before they land (kOn, the placeholder tokens read through
// Batch::token_from): the outputs must not depend on it.
AsyncSteps g_async = AsyncSteps::kOff;

class EngineSteps : public ::testing::TestWithParam<AsyncSteps> {
 protected:
  void SetUp() override { g_async = GetParam(); }
};

struct Harness {
  std::shared_ptr<FakeModel> model = std::make_shared<FakeModel>();
  std::unique_ptr<Engine> eng;
  std::map<std::string, Result> results;

  explicit Harness(EngineOptions opt) {
    opt.eos_token_ids = {128009};
    opt.async_steps = g_async;
    eng = std::make_unique<Engine>(model, llama3_tokenizer(), opt);
  }
  void submit(Request r) {
    std::string id = r.id;
    eng->validate(r);
    ASSERT_TRUE(eng->submit(std::move(r), [this, id](RequestOutput&& o) {
      Result& res = results[id];
      for (SeqDelta& d : o.seqs) {
        res.ids[d.index].insert(res.ids[d.index].end(), d.token_ids.begin(), d.token_ids.end());
        res.text[d.index] += d.text;
        if (d.finish) res.finish[d.index] = d.finish;
        if (d.stop_str) res.stop_str[d.index] = d.stop_str;
        for (auto& l : d.logprobs) res.logprobs[d.index].push_back(l);
      }
      if (!o.prompt_logprobs.empty()) res.prompt_logprobs = o.prompt_logprobs;
      if (o.finished) ++res.n_final;
      if (!o.error.empty()) res.error = o.error;
    }));
  }
  int run(int max_steps = 100000) {
    int steps = 0;
    while (!eng->idle() && steps < max_steps) {
      eng->step();
      ++steps;
    }
    return steps;
  }
};

std::vector<int32_t> reference(std::vector<int32_t> prompt, int64_t n) {
  std::vector<int32_t> out;
  for (int64_t i = 0; i < n; ++i) {
    int32_t t = reference_next(prompt);
    out.push_back(t);
    prompt.push_back(t);
  }
  return out;
}

Request greedy(const std::string& id, std::vector<int32_t> prompt, int64_t max_tokens) {
  Request r{.id = id, .prompt = std::move(prompt), .max_tokens = max_tokens};
  r.sampling.temperature = 0.0f;
  return r;
}

std::vector<int32_t> prompt_of(int seed, int len) {
  std::vector<int32_t> p = {128000};
  for (int i = 1; i < len; ++i) p.push_back(int32_t(2000 + (seed * 131 + i * 17) % 3000));
  return p;
}

TEST_P(EngineSteps, GreedyMatchesReferenceAndDetokenizes) {
  Harness h({.max_model_len = 256, .max_num_seqs = 4, .max_num_batched_tokens = 64});
  std::vector<int32_t> prompt = prompt_of(1, 10);
  h.submit(greedy("a", prompt, 20));
  h.run();
  const Result& r = h.results["a"];
  std::vector<int32_t> want = reference(prompt, 20);
  EXPECT_EQ(r.ids.at(0), want);
  EXPECT_EQ(r.finish.at(0), FinishReason::kLength);
  EXPECT_EQ(r.n_final, 1);
  EXPECT_EQ(r.text.at(0), llama3_tokenizer()->decode(want, true));
  EngineMetrics m = h.eng->metrics();
  EXPECT_EQ(m.generation_tokens, 20u);
  EXPECT_EQ(m.prompt_tokens, 10u);
  EXPECT_EQ(m.finished["length"], 1u);
  EXPECT_EQ(m.kv_usage, 0.0);
}

TEST_P(EngineSteps, ManyRequestsWithPreemptionForksAndChunkingMatchReference) {
  // 40 blocks of 16 = 640 positions for 12 requests of up to 90 tokens each (some with
  // n = 3): the cache runs out, sequences are preempted and recomputed; prefill is chunked
  // at 48 tokens per step. Every sample must still equal the reference.
  Harness h({.max_model_len = 128, .max_num_seqs = 16, .max_num_batched_tokens = 48,
             .kv_cache_bytes = 40 * 2 * 16 * 4});
  std::map<std::string, std::pair<std::vector<int32_t>, int64_t>> want;
  for (int i = 0; i < 12; ++i) {
    std::vector<int32_t> p = prompt_of(i, 5 + (i * 7) % 40);
    int64_t n_out = 20 + (i * 13) % 30;
    Request r = greedy("r" + std::to_string(i), p, n_out);
    r.n = i % 4 == 0 ? 3 : 1;
    want[r.id] = {p, n_out};
    h.submit(std::move(r));
  }
  h.run();
  EXPECT_GT(h.eng->metrics().preemptions, 0u) << "the test meant to force preemption";
  for (auto& [id, pw] : want) {
    const Result& r = h.results[id];
    std::vector<int32_t> expect = reference(pw.first, pw.second);
    ASSERT_FALSE(r.ids.empty()) << id;
    for (auto& [idx, ids] : r.ids) EXPECT_EQ(ids, expect) << id << " sample " << idx;
    EXPECT_EQ(r.n_final, 1) << id;
  }
  EXPECT_EQ(h.results["r0"].ids.size(), 3u);
  EXPECT_EQ(h.eng->metrics().kv_usage, 0.0);
}

TEST_P(EngineSteps, StepTraceHasALineForEveryStepInOrder) {
  // QINFER_STEP_TRACE (step_trace.h): one line a step, its boundaries in time order, and the
  // steps' tokens and preemptions adding up to what the model computed and the metrics count.
  // One file a process: ctest runs the modes' instances side by side.
  const std::string path =
      ::testing::TempDir() + "qinfer_step_trace_" + std::to_string(getpid()) + ".csv";
  ASSERT_EQ(setenv("QINFER_STEP_TRACE", path.c_str(), 1), 0);
  Harness h({.max_model_len = 128, .max_num_seqs = 16, .max_num_batched_tokens = 48,
             .kv_cache_bytes = 40 * 2 * 16 * 4});
  unsetenv("QINFER_STEP_TRACE");
  for (int i = 0; i < 12; ++i) h.submit(greedy("r" + std::to_string(i), prompt_of(i, 30), 40));
  h.run();
  const uint64_t steps = h.eng->metrics().steps, preemptions = h.eng->metrics().preemptions;
  EXPECT_GT(preemptions, 0u) << "the test meant to force preemption";
  h.eng.reset();  // closes the trace
  std::FILE* f = std::fopen(path.c_str(), "r");
  ASSERT_NE(f, nullptr) << path;
  char line[1024];
  ASSERT_NE(std::fgets(line, sizeof(line), f), nullptr);
  EXPECT_EQ(std::string(line),
            "step,begin_ns,landed_ns,scheduled_ns,launched_ns,prepared_ns,drawn_ns,applied_ns,"
            "emitted_ns,n_seq,n_tok,land_first,preempted\n");
  uint64_t rows = 0;
  int64_t tokens = 0, preempted = 0;
  long long prev_end = 0;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    long long v[13];
    ASSERT_EQ(std::sscanf(line, "%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%lld",
                          &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9],
                          &v[10], &v[11], &v[12]),
              13)
        << line;
    EXPECT_EQ(v[0], static_cast<long long>(rows)) << line;
    EXPECT_GE(v[1], prev_end) << line;
    for (int i = 2; i <= 8; ++i) EXPECT_GE(v[i], v[i - 1]) << "boundary " << i << ": " << line;
    prev_end = v[8];
    tokens += v[10];
    preempted += v[12];
    ++rows;
  }
  std::fclose(f);
  std::remove(path.c_str());
  EXPECT_EQ(rows, steps);
  EXPECT_EQ(tokens, h.model->tokens_computed);
  EXPECT_EQ(uint64_t(preempted), preemptions);
}

TEST_P(EngineSteps, ForkComputesThePromptOnce) {
  Harness h({.max_model_len = 256, .max_num_seqs = 8, .max_num_batched_tokens = 512});
  Request r = greedy("f", prompt_of(3, 40), 5);
  r.n = 4;
  h.submit(std::move(r));
  h.run();
  // 40 prompt tokens once, then 4 samples x 4 more decode tokens (the first token of each
  // comes from the prompt's last logits row).
  EXPECT_EQ(h.model->tokens_computed, 40 + 4 * 4);
  EXPECT_EQ(h.results["f"].ids.size(), 4u);
}

TEST_P(EngineSteps, StopStringAcrossTokensIsCutAndHeldBack) {
  Harness h({.max_model_len = 256, .max_num_seqs = 4, .max_num_batched_tokens = 64});
  std::vector<int32_t> prompt = prompt_of(5, 8);
  std::vector<int32_t> ref = reference(prompt, 30);
  auto tok = llama3_tokenizer();
  // A stop string made of the end of token 6's text and the start of token 7's.
  std::string t6 = tok->decode(std::vector<int32_t>{ref[6]}, true);
  std::string t7 = tok->decode(std::vector<int32_t>{ref[7]}, true);
  ASSERT_GE(t6.size(), 2u);
  ASSERT_GE(t7.size(), 2u);
  std::string stop = t6.substr(t6.size() - 2) + t7.substr(0, 2);
  std::string full = tok->decode(ref, true);
  size_t cut = full.find(stop);
  ASSERT_NE(cut, std::string::npos);
  Request r = greedy("s", prompt, 30);
  r.stop = {stop};
  h.submit(std::move(r));
  h.run();
  const Result& res = h.results["s"];
  EXPECT_EQ(res.text.at(0), full.substr(0, cut));
  EXPECT_EQ(res.finish.at(0), FinishReason::kStop);
  EXPECT_EQ(res.stop_str.at(0), stop);
  EXPECT_LE(res.ids.at(0).size(), 8u);
}

TEST_P(EngineSteps, MinTokensMasksEosThenEosStops) {
  Harness h({.max_model_len = 256, .max_num_seqs = 4, .max_num_batched_tokens = 64});
  h.model->always_eos = true;
  Request r = greedy("e", prompt_of(1, 5), 50);
  r.min_tokens = 3;
  h.submit(std::move(r));
  h.run();
  const Result& res = h.results["e"];
  ASSERT_EQ(res.ids.at(0).size(), 4u);
  EXPECT_NE(res.ids.at(0)[2], 128009);
  EXPECT_EQ(res.ids.at(0)[3], 128009);
  EXPECT_EQ(res.finish.at(0), FinishReason::kStop);
}

TEST_P(EngineSteps, LogprobsAndPromptLogprobsFollowLogSoftmax) {
  Harness h({.max_model_len = 256, .max_num_seqs = 4, .max_num_batched_tokens = 7});
  std::vector<int32_t> prompt = prompt_of(2, 20);
  prompt[5] = reference_next(std::vector<int32_t>(prompt.begin(), prompt.begin() + 5));
  Request r = greedy("l", prompt, 3);
  r.logprobs = 2;
  r.prompt_logprobs = 1;
  h.submit(std::move(r));
  h.run();
  const Result& res = h.results["l"];
  // A row is one-hot kHot over V tokens: log_softmax = kHot - lse at the hot token and
  // -lse elsewhere, lse = log(e^kHot + V - 1).
  double lse = std::log(std::exp(double(testing::kHot)) + 128256.0 - 1.0);
  ASSERT_EQ(res.prompt_logprobs.size(), 20u);
  EXPECT_FALSE(res.prompt_logprobs[0].has_value());
  for (size_t p = 1; p < 20; ++p) {
    ASSERT_TRUE(res.prompt_logprobs[p].has_value()) << p;
    bool hot = prompt[p] == reference_next(std::vector<int32_t>(prompt.begin(), prompt.begin() + long(p)));
    double want = hot ? testing::kHot - lse : -lse;
    EXPECT_NEAR(res.prompt_logprobs[p]->logprob, want, 1e-4) << "prompt position " << p;
  }
  EXPECT_NEAR(res.prompt_logprobs[5]->logprob, testing::kHot - lse, 1e-4);
  ASSERT_EQ(res.logprobs.at(0).size(), 3u);
  for (const Logprob& l : res.logprobs.at(0)) {
    EXPECT_NEAR(l.logprob, testing::kHot - lse, 1e-4);
    ASSERT_EQ(l.top.size(), 2u);
    EXPECT_EQ(l.top[0].first, l.id);
  }
}

TEST_P(EngineSteps, PromptOnlyWithMaxTokensZero) {
  Harness h({.max_model_len = 256, .max_num_seqs = 4, .max_num_batched_tokens = 64});
  Request r = greedy("z", prompt_of(4, 12), 0);
  r.prompt_logprobs = 0;
  h.submit(std::move(r));
  h.run();
  const Result& res = h.results["z"];
  EXPECT_TRUE(res.ids.count(0) == 0 || res.ids.at(0).empty());
  EXPECT_EQ(res.finish.at(0), FinishReason::kLength);
  EXPECT_EQ(res.prompt_logprobs.size(), 12u);
}

TEST_P(EngineSteps, AbortFreesBlocksAndEndsTheRequest) {
  Harness h({.max_model_len = 256, .max_num_seqs = 4, .max_num_batched_tokens = 64});
  h.submit(greedy("x", prompt_of(1, 30), 200));
  h.submit(greedy("y", prompt_of(2, 30), 5));
  for (int i = 0; i < 3; ++i) h.eng->step();
  EXPECT_GT(h.eng->metrics().kv_usage, 0.0);
  h.eng->abort("x");
  h.run();
  EXPECT_EQ(h.results["x"].finish.at(0), FinishReason::kAbort);
  EXPECT_EQ(h.results["x"].n_final, 1);
  EXPECT_EQ(h.results["y"].ids.at(0).size(), 5u);
  EXPECT_EQ(h.eng->metrics().kv_usage, 0.0);
  EXPECT_EQ(h.eng->metrics().finished["abort"], 1u);
}

TEST_P(EngineSteps, ValidateRejectsBadRequests) {
  Harness h({.max_model_len = 64, .max_num_seqs = 4, .max_num_batched_tokens = 64});
  EXPECT_THROW(h.eng->validate(greedy("a", {}, 5)), Error);
  EXPECT_THROW(h.eng->validate(greedy("a", prompt_of(1, 60), 10)), Error);  // past max_model_len
  EXPECT_THROW(h.eng->validate(greedy("a", {1, 200000}, 5)), Error);        // id out of vocab
  EXPECT_THROW(h.eng->validate(greedy("a", {1}, -1)), Error);
  Request r = greedy("a", {1, 2}, 5);
  r.n = 5;
  EXPECT_THROW(h.eng->validate(r), Error);  // n past max_num_seqs
  r.n = 1;
  r.sampling.top_p = 0.0f;
  EXPECT_THROW(h.eng->validate(r), Error);
}

TEST_P(EngineSteps, ThreadedLoopAndQueueLimit) {
  auto model = std::make_shared<FakeModel>();
  Engine eng(model, llama3_tokenizer(),
             {.max_model_len = 256, .max_num_seqs = 2, .max_queue = 3, .eos_token_ids = {128009},
              .async_steps = GetParam()});
  std::mutex mu;
  std::map<std::string, int64_t> n_tokens;
  int n_done = 0;
  auto cb_for = [&](std::string id) {
    return [&, id](RequestOutput&& o) {
      std::lock_guard<std::mutex> lock(mu);
      for (auto& d : o.seqs) n_tokens[id] += int64_t(d.token_ids.size());
      if (o.finished) ++n_done;
    };
  };
  // Not started: the queue fills at 3.
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(eng.submit(greedy(std::to_string(i), prompt_of(i, 8), 10), cb_for(std::to_string(i))));
  EXPECT_FALSE(eng.submit(greedy("over", prompt_of(9, 8), 10), cb_for("over")));
  eng.start();
  eng.stop(/*drain=*/true);
  EXPECT_EQ(n_done, 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(n_tokens[std::to_string(i)], 10);
}

// A mix that exercises every way a step may wait for or run past the samples in flight:
// forks, stop strings and stop tokens (the sequence has already been queued for one more
// step), penalties (the next draw reads the tokens), seeded temperature sampling, and both
// sampling paths; async and synchronous steps must give the same outputs.
TEST(Engine, AsyncStepsGiveTheSameOutputs) {
  auto tok = llama3_tokenizer();
  auto requests = [&] {
    std::vector<Request> v;
    for (int i = 0; i < 10; ++i) {
      std::vector<int32_t> p = prompt_of(i + 20, 6 + (i * 5) % 30);
      Request r = greedy("q" + std::to_string(i), p, 12 + (i * 7) % 25);
      if (i % 3 == 1) {
        r.sampling.temperature = 0.9f;
        r.sampling.seed = uint64_t(100 + i);
      }
      if (i % 4 == 2) r.sampling.repetition_penalty = 1.3f;
      if (i % 5 == 3) r.n = 2;
      if (i == 5) r.stop_token_ids = {reference(p, 6)[5]};
      if (i == 6) {
        std::vector<int32_t> ref = reference(p, 9);
        r.stop = {tok->decode(std::vector<int32_t>{ref[7]}, true)};
      }
      v.push_back(std::move(r));
    }
    return v;
  };
  for (SampleOn on : {SampleOn::kHost, SampleOn::kDevice}) {
    std::map<std::string, Result> out[2];
    int64_t fed[2] = {0, 0};
    for (int k = 0; k < 2; ++k) {
      g_async = k == 0 ? AsyncSteps::kOff : AsyncSteps::kOn;
      Harness h({.max_model_len = 128, .max_num_seqs = 6, .max_num_batched_tokens = 40,
                 .kv_cache_bytes = 30 * 2 * 16 * 4, .sample_on = on});
      for (Request& r : requests()) h.submit(std::move(r));
      h.run();
      out[k] = h.results;
      fed[k] = h.model->fed_tokens;
      EXPECT_EQ(h.eng->metrics().kv_usage, 0.0);
    }
    EXPECT_EQ(fed[0], 0);
    EXPECT_GT(fed[1], 0) << "no step read its tokens from the samples in flight";
    ASSERT_EQ(out[0].size(), out[1].size());
    for (auto& [id, a] : out[0]) {
      const Result& b = out[1].at(id);
      EXPECT_EQ(a.ids, b.ids) << id;
      EXPECT_EQ(a.text, b.text) << id;
      EXPECT_EQ(a.finish, b.finish) << id;
      EXPECT_EQ(a.n_final, 1) << id;
      EXPECT_EQ(b.n_final, 1) << id;
    }
    EXPECT_EQ(out[0].at("q5").finish.at(0), FinishReason::kStop);
    EXPECT_EQ(out[0].at("q6").finish.at(0), FinishReason::kStop);
  }
  g_async = AsyncSteps::kOff;
}

INSTANTIATE_TEST_SUITE_P(Modes, EngineSteps,
                         ::testing::Values(AsyncSteps::kOff, AsyncSteps::kOn),
                         [](const auto& info) {
                           return info.param == AsyncSteps::kOn ? "async" : "sync";
                         });

}  // namespace
}  // namespace qinfer::engine
