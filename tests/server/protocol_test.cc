// Request validation and response shapes of the protocol layer, without HTTP: field types
// and ranges give 400 naming the field, defaults come from generation_config.json as vLLM
// applies them, and the Prometheus text is cumulative.
#include <gtest/gtest.h>

#include "server/api_error.h"
#include "server/protocol.h"
#include "server/response.h"
#include "server/server.h"

namespace qinfer::server {
namespace {

const tokenizer::Tokenizer& tok() {
  static auto t = tokenizer::Tokenizer::from_dir(std::string(QINFER_SHARED_DIR) +
                                                 "/models/llama3.1-tokenizer");
  return *t;
}

ServeConfig config() {
  ServeConfig c;
  c.model_names = {"m", "alias"};
  c.max_model_len = 100;
  c.max_num_seqs = 8;
  c.vocab_size = 128256;
  c.tok = &tok();
  c.generation.temperature = 0.6f;
  c.generation.top_p = 0.9f;
  c.eos_ids = {128009};
  return c;
}

// The status and param of the ApiError `f` throws.
template <typename F>
std::pair<int, std::string> error_of(F f) {
  try {
    f();
  } catch (const ApiError& e) {
    return {e.status, e.param.value_or("")};
  }
  return {0, ""};
}

TEST(Protocol, CompletionDefaultsFromGenerationConfig) {
  ServeConfig c = config();
  ParsedRequest p = parse_completion(Json::parse(R"({"model": "alias", "prompt": "Hello"})"), c);
  ASSERT_EQ(p.reqs.size(), 1u);
  const Request& r = p.reqs[0];
  EXPECT_EQ(p.model, "alias");
  EXPECT_EQ(r.prompt, tok().encode("Hello", true));
  EXPECT_FLOAT_EQ(r.sampling.temperature, 0.6f);
  EXPECT_FLOAT_EQ(r.sampling.top_p, 0.9f);
  EXPECT_EQ(r.max_tokens, 100 - int64_t(r.prompt.size()));  // the room left in the context
  ParsedRequest q = parse_completion(
      Json::parse(R"({"prompt": [1, 2, 3], "temperature": 0, "max_tokens": 5, "seed": 7,
                      "stop": "x", "n": 2, "logprobs": 2, "echo": true})"), c);
  EXPECT_EQ(q.reqs[0].prompt, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(q.reqs[0].sampling.temperature, 0.0f);
  EXPECT_EQ(q.reqs[0].sampling.seed, 7u);
  EXPECT_EQ(q.reqs[0].stop, std::vector<std::string>{"x"});
  EXPECT_EQ(q.reqs[0].n, 2);
  EXPECT_EQ(q.reqs[0].prompt_logprobs, 2);  // echo + logprobs
  ParsedRequest multi = parse_completion(Json::parse(R"({"prompt": ["a", "b", "c"]})"), c);
  EXPECT_EQ(multi.reqs.size(), 3u);
  EXPECT_NE(multi.reqs[0].id, multi.reqs[1].id);
}

TEST(Protocol, ValidationNamesTheField) {
  ServeConfig c = config();
  auto comp = [&](const char* body) { return error_of([&] { parse_completion(Json::parse(body), c); }); };
  EXPECT_EQ(comp(R"({"prompt": "a", "temperature": "x"})"), std::make_pair(400, std::string("temperature")));
  EXPECT_EQ(comp(R"({"prompt": "a", "temperature": -1})"), std::make_pair(400, std::string("temperature")));
  EXPECT_EQ(comp(R"({"prompt": "a", "top_p": 1.5})"), std::make_pair(400, std::string("top_p")));
  EXPECT_EQ(comp(R"({"prompt": "a", "top_k": -2})"), std::make_pair(400, std::string("top_k")));
  EXPECT_EQ(comp(R"({"prompt": "a", "presence_penalty": 3})"), std::make_pair(400, std::string("presence_penalty")));
  EXPECT_EQ(comp(R"({"prompt": "a", "max_tokens": -1})"), std::make_pair(400, std::string("max_tokens")));
  EXPECT_EQ(comp(R"({"prompt": "a", "max_tokens": 1000})"), std::make_pair(400, std::string("max_tokens")));
  EXPECT_EQ(comp(R"({"prompt": "a", "max_tokens": 0})"), std::make_pair(400, std::string("max_tokens")));
  EXPECT_EQ(comp(R"({"prompt": "a", "n": 9})"), std::make_pair(400, std::string("n")));
  EXPECT_EQ(comp(R"({"prompt": "a", "stop": [1]})"), std::make_pair(400, std::string("stop")));
  EXPECT_EQ(comp(R"({"prompt": [1, 200000]})"), std::make_pair(400, std::string("prompt")));
  EXPECT_EQ(comp(R"({"prompt": 5})"), std::make_pair(400, std::string("prompt")));
  EXPECT_EQ(comp(R"({})"), std::make_pair(400, std::string("prompt")));
  EXPECT_EQ(comp(R"({"model": "gpt", "prompt": "a"})"), std::make_pair(404, std::string("model")));
  EXPECT_EQ(comp(R"({"prompt": "a", "stream_options": {"include_usage": true}})"),
            std::make_pair(400, std::string("stream_options")));
  auto chat = [&](const char* body) { return error_of([&] { parse_chat(Json::parse(body), c); }); };
  EXPECT_EQ(chat(R"({"messages": []})"), std::make_pair(400, std::string("messages")));
  EXPECT_EQ(chat(R"({"messages": [{"role": "user", "content": 3}]})"), std::make_pair(400, std::string("messages")));
  EXPECT_EQ(chat(R"({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 3})"),
            std::make_pair(400, std::string("top_logprobs")));
  EXPECT_EQ(chat(R"({"messages": [{"role": "user", "content": "x"}], "tool_choice": "auto"})"),
            std::make_pair(400, std::string("tool_choice")));
  EXPECT_EQ(chat(R"({"messages": [{"role": "user", "content": "x"}], "response_format": {"type": "xml"}})"),
            std::make_pair(400, std::string("response_format")));
}

TEST(Protocol, ChatMaxCompletionTokensAndParts) {
  ServeConfig c = config();
  ParsedRequest p = parse_chat(Json::parse(R"({"messages": [{"role": "user", "content":
      [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}],
      "max_completion_tokens": 3, "max_tokens": 9, "logprobs": true, "top_logprobs": 2})"), c);
  EXPECT_EQ(p.reqs[0].max_tokens, 3);
  EXPECT_EQ(p.logprobs, 2);
  std::string text = tok().decode(p.reqs[0].prompt, false);
  EXPECT_NE(text.find("a\nb"), std::string::npos) << text;
  EXPECT_EQ(text.rfind("<|begin_of_text|>", 0), 0u);  // BOS once, from the template
  EXPECT_EQ(text.find("<|begin_of_text|>", 1), std::string::npos);
}

TEST(Protocol, AssistantToolCallArgumentsStringBecomesObject) {
  ServeConfig c = config();
  ParsedRequest p = parse_chat(Json::parse(R"({"messages": [
      {"role": "user", "content": "Weather in Paris?"},
      {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
        "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "18C"}]})"), c);
  std::string text = tok().decode(p.reqs[0].prompt, false);
  // The official template writes the arguments object with tojson, not a quoted string.
  EXPECT_NE(text.find(R"({"name": "get_weather", "parameters": {"city": "Paris"}})"),
            std::string::npos) << text;
  auto bad = error_of([&] {
    parse_chat(Json::parse(R"({"messages": [{"role": "assistant", "tool_calls": [{"id": "x",
        "type": "function", "function": {"name": "f", "arguments": "{not json"}}]}]})"), c);
  });
  EXPECT_EQ(bad.first, 400);
  EXPECT_EQ(bad.second, "messages");
}

TEST(Response, CompletionShapeAndStopReason) {
  ServeConfig c = config();
  ParsedRequest p = parse_completion(Json::parse(R"({"prompt": "Hi", "max_tokens": 4, "n": 2})"), c);
  ResponseBuilder rb(p, c);
  RequestOutput o;
  o.seqs.push_back({.index = 0, .token_ids = {9906}, .text = "Hello", .finish = FinishReason::kStop,
                    .stop_str = std::string("!")});
  o.seqs.push_back({.index = 1, .token_ids = {1, 2}, .text = "xy", .finish = FinishReason::kStop,
                    .stop_token = 128009});
  o.finished = true;
  rb.apply(0, std::move(o));
  EXPECT_TRUE(rb.finished());
  Json j = rb.response();
  EXPECT_EQ(j["object"], "text_completion");
  EXPECT_EQ(j["choices"][0]["text"], "Hello");
  EXPECT_EQ(j["choices"][0]["stop_reason"], "!");
  EXPECT_TRUE(j["choices"][1]["stop_reason"].is_null());  // EOS reports null, as vLLM
  EXPECT_EQ(j["usage"]["completion_tokens"], 3);
  EXPECT_EQ(j["usage"]["total_tokens"], 3 + int64_t(p.reqs[0].prompt.size()));
}

TEST(Metrics, PrometheusHistogramIsCumulative) {
  engine::EngineMetrics m;
  m.ttft.observe(0.003);
  m.ttft.observe(0.003);
  m.ttft.observe(5000.0);
  m.finished["stop"] = 2;
  std::string t = render_metrics(m, "m");
  EXPECT_NE(t.find("vllm:time_to_first_token_seconds_bucket{model_name=\"m\",le=\"0.001\"} 0\n"), std::string::npos);
  EXPECT_NE(t.find("vllm:time_to_first_token_seconds_bucket{model_name=\"m\",le=\"0.005\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("vllm:time_to_first_token_seconds_bucket{model_name=\"m\",le=\"2560\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("vllm:time_to_first_token_seconds_bucket{model_name=\"m\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(t.find("vllm:time_to_first_token_seconds_count{model_name=\"m\"} 3\n"), std::string::npos);
  EXPECT_NE(t.find("vllm:request_success_total{model_name=\"m\",finished_reason=\"stop\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("# TYPE vllm:kv_cache_usage_perc gauge"), std::string::npos);
}

}  // namespace
}  // namespace qinfer::server
