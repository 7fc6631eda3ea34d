#include "server/protocol.h"

#include <charconv>
#include <chrono>
#include <random>

#include "server/api_error.h"
#include "server/json_fields.h"
#include "server/sampling_fields.h"
#include "tokenizer/chat_template.h"

namespace qinfer::server {

std::string random_id(const char* prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string s = prefix;
  for (int i = 0; i < 32; ++i) s += hex[rng() & 15];
  return s;
}

int64_t unix_time() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

std::string check_model(const Json& body, const ServeConfig& cfg) {
  std::optional<std::string> m = opt_string(body, "model");
  if (!m) return cfg.model_names.front();  // vLLM accepts a missing model: the served one
  for (const std::string& n : cfg.model_names)
    if (*m == n) return n;
  throw ApiError(404, "NotFoundError", str_cat("The model `", *m, "` does not exist."), "model");
}

namespace {

// OpenAI's logit_bias: {"token id": bias, ...}, ids as decimal strings (JSON keys), biases
// numbers (checked against [-100, 100] with the other sampling fields).
std::vector<std::pair<int32_t, float>> parse_logit_bias(const Json& body, int64_t vocab_size) {
  std::vector<std::pair<int32_t, float>> out;
  const Json* v = field(body, "logit_bias");
  if (v == nullptr) return out;
  if (!v->is_object())
    throw bad_request("logit_bias must be an object mapping token ids to biases", "logit_bias");
  for (auto it = v->begin(); it != v->end(); ++it) {
    const std::string& key = it.key();
    int64_t id = -1;
    const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
    if (ec != std::errc() || end != key.data() + key.size() || key.empty() || id < 0 ||
        id >= vocab_size)
      throw bad_request(str_cat("logit_bias: '", key, "' is not a token id in [0, ", vocab_size,
                                ")"), "logit_bias");
    if (!it.value().is_number())
      throw bad_request(str_cat("logit_bias: the bias of token ", key, " must be a number"),
                        "logit_bias");
    out.emplace_back(int32_t(id), it.value().get<float>());
  }
  return out;
}

// vLLM request fields that change the output and that qinfer does not implement: a 400
// naming the field, never a silently different answer. (Fields that do not change the
// output, such as `user`, are ignored as vLLM ignores unknown ones.)
void reject_unsupported(const Json& body, int n) {
  for (const char* name : {"guided_json", "guided_regex", "guided_choice", "guided_grammar",
                           "structured_outputs", "allowed_token_ids", "bad_words",
                           "prompt_logprobs", "truncate_prompt_tokens"})
    if (field(body, name))
      throw bad_request(str_cat("'", name, "' is not supported by this server"), name);
  if (auto v = opt_bool(body, "use_beam_search"); v && *v)
    throw bad_request("beam search is not supported by this server", "use_beam_search");
  if (auto v = opt_int(body, "best_of"); v && *v != 1 && *v != n)
    throw bad_request(str_cat("best_of ", *v, " is not supported (only best_of = n)"),
                      "best_of");
}

}  // namespace

void parse_common(const Json& body, const ServeConfig& cfg, bool chat, Request* r) {
  SamplingFields f = default_sampling_fields(cfg.generation);
  if (auto v = opt_number(body, "temperature")) f.temperature = *v;
  if (auto v = opt_number(body, "top_p")) f.top_p = *v;
  if (auto v = opt_int(body, "top_k")) f.top_k = *v;
  if (auto v = opt_number(body, "min_p")) f.min_p = *v;
  if (auto v = opt_number(body, "presence_penalty")) f.presence_penalty = *v;
  if (auto v = opt_number(body, "frequency_penalty")) f.frequency_penalty = *v;
  if (auto v = opt_number(body, "repetition_penalty")) f.repetition_penalty = *v;
  if (auto v = opt_int(body, "seed")) f.seed = *v;
  f.logit_bias = parse_logit_bias(body, cfg.vocab_size);
  validate_sampling_fields(f);
  r->sampling = to_sampling_params(f);

  std::optional<int64_t> max_tokens = opt_int(body, "max_tokens");
  if (chat) {
    if (auto v = opt_int(body, "max_completion_tokens")) max_tokens = *v;
  }
  int64_t n_prompt = int64_t(r->prompt.size());
  if (max_tokens) {
    if (*max_tokens < 0)
      throw bad_request(str_cat("max_tokens must be at least 0, got ", *max_tokens),
                        "max_tokens");
    r->max_tokens = *max_tokens;
  } else {
    // vLLM: the room left in the context, capped by generation_config's max_new_tokens.
    r->max_tokens = std::max<int64_t>(0, cfg.max_model_len - n_prompt);
    if (cfg.generation.max_new_tokens)
      r->max_tokens = std::min(r->max_tokens, *cfg.generation.max_new_tokens);
  }
  if (n_prompt >= cfg.max_model_len || n_prompt + r->max_tokens > cfg.max_model_len)
    throw bad_request(str_cat("This model's maximum context length is ", cfg.max_model_len,
                              " tokens. However, you requested ", n_prompt + r->max_tokens,
                              " tokens (", n_prompt, " in the messages, ", r->max_tokens,
                              " in the completion). Please reduce the length of the messages "
                              "or completion."),
                      "max_tokens");
  if (auto v = opt_int(body, "min_tokens")) {
    if (*v < 0 || *v > r->max_tokens)
      throw bad_request(str_cat("min_tokens must be in [0, max_tokens], got ", *v),
                        "min_tokens");
    r->min_tokens = *v;
  }
  if (auto v = opt_int(body, "n")) {
    if (*v < 1 || *v > cfg.max_num_seqs)
      throw bad_request(str_cat("n must be in [1, ", cfg.max_num_seqs, "], got ", *v), "n");
    r->n = int(*v);
  }
  reject_unsupported(body, r->n);
  r->stop = opt_strings(body, "stop");
  r->stop_token_ids = opt_token_ids(body, "stop_token_ids");
  for (int32_t t : r->stop_token_ids)
    if (t >= cfg.vocab_size)
      throw bad_request(str_cat("stop_token_ids: ", t, " is out of range"), "stop_token_ids");
  if (auto v = opt_bool(body, "ignore_eos")) r->ignore_eos = *v;
  if (auto v = opt_bool(body, "skip_special_tokens")) r->skip_special_tokens = *v;
  if (auto v = opt_bool(body, "include_stop_str_in_output")) r->include_stop_str_in_output = *v;
}

namespace {

// One prompt of /v1/completions: a string or a list of token ids.
std::vector<Json> split_prompts(const Json& body) {
  const Json* p = field(body, "prompt");
  if (!p) throw bad_request("'prompt' is required", "prompt");
  auto is_ids = [](const Json& j) {
    if (!j.is_array() || j.empty()) return false;
    for (const Json& t : j)
      if (!t.is_number_integer()) return false;
    return true;
  };
  if (p->is_string() || is_ids(*p)) return {*p};
  if (p->is_array() && !p->empty()) {
    std::vector<Json> out;
    for (const Json& q : *p) {
      if (!q.is_string() && !is_ids(q))
        throw bad_request("'prompt' must be a string, a list of strings, a list of token ids "
                          "or a list of lists of token ids", "prompt");
      out.push_back(q);
    }
    return out;
  }
  throw bad_request("'prompt' must be a non-empty string, list of strings, list of token ids "
                    "or list of lists of token ids", "prompt");
}

void parse_stream(const Json& body, ParsedRequest* pr) {
  if (auto v = opt_bool(body, "stream")) pr->stream = *v;
  if (const Json* so = field(body, "stream_options")) {
    if (!so->is_object()) throw bad_request("'stream_options' must be an object", "stream_options");
    if (!pr->stream)
      throw bad_request("Stream options can only be defined when `stream=True`.",
                        "stream_options");
    if (auto v = opt_bool(*so, "include_usage")) pr->include_usage = *v;
  }
}

}  // namespace

ParsedRequest parse_completion(const Json& body, const ServeConfig& cfg) {
  if (!body.is_object()) throw bad_request("the request body must be a JSON object");
  ParsedRequest pr;
  pr.chat = false;
  pr.model = check_model(body, cfg);
  pr.id = random_id("cmpl-");
  pr.created = unix_time();
  parse_stream(body, &pr);
  if (auto v = opt_bool(body, "echo")) pr.echo = *v;
  if (auto v = opt_int(body, "logprobs")) {
    if (*v < 0 || *v > 20) throw bad_request("logprobs must be in [0, 20]", "logprobs");
    pr.logprobs = int(*v);
  }
  bool add_special = opt_bool(body, "add_special_tokens").value_or(true);
  if (field(body, "suffix")) throw bad_request("'suffix' is not supported", "suffix");
  std::vector<Json> prompts = split_prompts(body);
  for (size_t i = 0; i < prompts.size(); ++i) {
    Request r;
    if (prompts[i].is_string()) {
      r.prompt = cfg.tok->encode(prompts[i].get<std::string>(), add_special);
      pr.prompt_texts.push_back(prompts[i].get<std::string>());
    } else {
      for (const Json& t : prompts[i]) {
        int64_t id = t.get<int64_t>();
        if (id < 0 || id >= cfg.vocab_size)
          throw bad_request(str_cat("prompt token id ", id, " is out of range [0, ",
                                    cfg.vocab_size, ")"), "prompt");
        r.prompt.push_back(int32_t(id));
      }
      pr.prompt_texts.push_back(cfg.tok->decode(r.prompt, false));
    }
    if (r.prompt.empty()) throw bad_request("the prompt is empty", "prompt");
    parse_common(body, cfg, false, &r);
    if (r.max_tokens == 0 && !pr.echo)
      throw bad_request("max_tokens must be at least 1 (0 only with echo)", "max_tokens");
    r.id = prompts.size() == 1 ? pr.id : str_cat(pr.id, "-", i);
    r.logprobs = pr.logprobs;
    if (pr.echo && pr.logprobs) r.prompt_logprobs = pr.logprobs;
    pr.n = r.n;
    pr.reqs.push_back(std::move(r));
  }
  return pr;
}

// OpenAI sends an assistant turn's tool_calls[].function.arguments as a JSON string; chat
// templates (Llama 3.1's `tool_call.arguments | tojson`) expect the object, so it is parsed
// first, as vLLM's chat preprocessing does.
namespace {
void parse_tool_call_arguments(Json* message) {
  if (!message->contains("tool_calls")) return;
  Json& calls = (*message)["tool_calls"];
  if (!calls.is_array()) throw bad_request("message 'tool_calls' must be a list", "messages");
  for (Json& call : calls) {
    if (!call.is_object() || !call.contains("function") || !call["function"].is_object())
      throw bad_request("each tool call needs a 'function' object", "messages");
    Json& fn = call["function"];
    if (!fn.contains("arguments") || !fn["arguments"].is_string()) continue;
    try {
      fn["arguments"] = Json::parse(fn["arguments"].get<std::string>());
    } catch (const nlohmann::json::exception&) {
      throw bad_request("tool call 'function.arguments' is not valid JSON", "messages");
    }
  }
}
}  // namespace

std::vector<int32_t> render_chat(const Json& body, const ServeConfig& cfg, Json* tools_used) {
  const Json* msgs = field(body, "messages");
  if (!msgs || !msgs->is_array() || msgs->empty())
    throw bad_request("'messages' must be a non-empty list", "messages");
  Json messages = Json::array();
  for (const Json& m : *msgs) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      throw bad_request("each message must be an object with a string 'role'", "messages");
    Json mm = m;
    // Content parts [{"type": "text", "text": ...}] are joined as vLLM does ("\n").
    if (m.contains("content") && m["content"].is_array()) {
      std::string text;
      for (const Json& part : m["content"]) {
        if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
            !part["text"].is_string())
          throw bad_request("only text content parts are supported", "messages");
        if (!text.empty()) text += "\n";
        text += part["text"].get<std::string>();
      }
      mm["content"] = text;
    } else if (m.contains("content") && !m["content"].is_string() && !m["content"].is_null()) {
      throw bad_request("message 'content' must be a string or a list of parts", "messages");
    }
    parse_tool_call_arguments(&mm);
    messages.push_back(std::move(mm));
  }
  tokenizer::ChatTemplateInput in;
  in.messages = std::move(messages);
  in.tools = tools_used ? *tools_used : Json();
  in.add_generation_prompt = opt_bool(body, "add_generation_prompt").value_or(true);
  if (const Json* kw = field(body, "chat_template_kwargs")) {
    if (!kw->is_object())
      throw bad_request("'chat_template_kwargs' must be an object", "chat_template_kwargs");
    in.kwargs = *kw;
  }
  std::string text;
  try {
    text = tokenizer::apply_chat_template(*cfg.tok, in);
  } catch (const Error& e) {
    throw bad_request(str_cat("chat template: ", e.what()), "messages");
  }
  // The template writes BOS itself (vLLM tokenizes chat prompts without special tokens).
  bool add_special = opt_bool(body, "add_special_tokens").value_or(false);
  return cfg.tok->encode(text, add_special);
}

namespace {

void parse_tools(const Json& body, ParsedRequest* pr) {
  const Json* tools = field(body, "tools");
  if (tools) {
    if (!tools->is_array()) throw bad_request("'tools' must be a list", "tools");
    for (const Json& t : *tools)
      if (!t.is_object() || t.value("type", "") != "function" || !t.contains("function") ||
          !t["function"].is_object() || !t["function"].contains("name"))
        throw bad_request("each tool must be {\"type\": \"function\", \"function\": {\"name\": …}}",
                          "tools");
    if (!tools->empty()) pr->tools = *tools;
  }
  const Json* tc = field(body, "tool_choice");
  pr->tool_choice = pr->tools.is_null() ? ToolChoice::kNone : ToolChoice::kAuto;
  if (!tc) return;
  if (tc->is_string()) {
    std::string s = tc->get<std::string>();
    if (s == "none") pr->tool_choice = ToolChoice::kNone;
    else if (s == "auto") pr->tool_choice = ToolChoice::kAuto;
    else if (s == "required") pr->tool_choice = ToolChoice::kRequired;
    else throw bad_request(str_cat("unknown tool_choice '", s, "'"), "tool_choice");
  } else if (tc->is_object() && tc->contains("function") && (*tc)["function"].is_object() &&
             (*tc)["function"].contains("name") && (*tc)["function"]["name"].is_string()) {
    pr->tool_choice = ToolChoice::kNamed;
    pr->named_tool = (*tc)["function"]["name"].get<std::string>();
    bool found = false;
    if (pr->tools.is_array())
      for (const Json& t : pr->tools) found |= t["function"].value("name", "") == pr->named_tool;
    if (!found)
      throw bad_request(str_cat("tool_choice names '", pr->named_tool,
                                "', which is not in 'tools'"), "tool_choice");
  } else {
    throw bad_request("'tool_choice' must be none, auto, required or "
                      "{\"type\": \"function\", \"function\": {\"name\": …}}", "tool_choice");
  }
  if (pr->tool_choice != ToolChoice::kNone && pr->tools.is_null())
    throw bad_request("tool_choice needs 'tools'", "tool_choice");
}

}  // namespace

ParsedRequest parse_chat(const Json& body, const ServeConfig& cfg) {
  if (!body.is_object()) throw bad_request("the request body must be a JSON object");
  ParsedRequest pr;
  pr.chat = true;
  pr.model = check_model(body, cfg);
  pr.id = random_id("chatcmpl-");
  pr.created = unix_time();
  parse_stream(body, &pr);
  parse_tools(body, &pr);
  bool lp = opt_bool(body, "logprobs").value_or(false);
  std::optional<int64_t> top = opt_int(body, "top_logprobs");
  if (top && (*top < 0 || *top > 20))
    throw bad_request("top_logprobs must be in [0, 20]", "top_logprobs");
  if (top && *top > 0 && !lp)
    throw bad_request("when using `top_logprobs`, `logprobs` must be set to true",
                      "top_logprobs");
  if (lp) pr.logprobs = int(top.value_or(0));
  if (const Json* rf = field(body, "response_format")) {
    std::string type = rf->is_object() ? rf->value("type", "") : "";
    if (type != "text" && type != "json_object" && type != "json_schema")
      throw bad_request("response_format.type must be text, json_object or json_schema",
                        "response_format");
    // Accepted but not enforced: qinfer has no constrained decoding (docs/OPERATIONS.md).
  }
  // tool_choice "none" leaves the tools out of the prompt (vLLM's default).
  Json tools = pr.tool_choice == ToolChoice::kNone ? Json() : pr.tools;
  Request r;
  r.prompt = render_chat(body, cfg, &tools);
  if (r.prompt.empty()) throw bad_request("the rendered prompt is empty", "messages");
  parse_common(body, cfg, true, &r);
  if (r.max_tokens == 0) throw bad_request("max_tokens must be at least 1", "max_tokens");
  r.id = pr.id;
  r.logprobs = pr.logprobs;
  pr.n = r.n;
  pr.reqs.push_back(std::move(r));
  return pr;
}

}  // namespace qinfer::server
