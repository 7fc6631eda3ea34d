#include "server/response.h"

#include "server/tool_output.h"

namespace qinfer::server {
namespace {

// vLLM reports -inf logprobs as -9999.0 (JSON has no infinity).
double clamp_lp(float lp) { return std::isfinite(lp) ? double(lp) : -9999.0; }

Json bytes_of(const std::string& s) {
  Json b = Json::array();
  for (unsigned char c : s) b.push_back(int(c));
  return b;
}

int64_t n_chars(const std::string& s) {  // code points, as Python's len()
  int64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

ResponseBuilder::ResponseBuilder(const ParsedRequest& pr, const ServeConfig& cfg)
    : pr_(pr), cfg_(cfg), choices_(pr.reqs.size() * size_t(pr.n)), done_(pr.reqs.size(), false) {}

std::string ResponseBuilder::token_str(int32_t id) const {
  return cfg_.tok->decode(std::vector<int32_t>{id}, false);
}

bool ResponseBuilder::finished() const {
  for (bool d : done_)
    if (!d) return false;
  return true;
}

int64_t ResponseBuilder::prompt_tokens() const {
  int64_t n = 0;
  for (const Request& r : pr_.reqs) n += int64_t(r.prompt.size());
  return n;
}

std::string ResponseBuilder::finish_summary() const {
  std::string s;
  for (const Choice& c : choices_) {
    if (!s.empty()) s += ",";
    s += c.tool_called ? "tool_calls" : c.finish ? finish_reason_name(*c.finish) : "none";
  }
  return s;
}

Json ResponseBuilder::usage() const {
  return Json{{"prompt_tokens", prompt_tokens()},
              {"total_tokens", prompt_tokens() + n_generated_},
              {"completion_tokens", n_generated_},
              {"prompt_tokens_details", nullptr}};
}

Json ResponseBuilder::chunk(Json choices) const {
  Json j = Json::object();
  j["id"] = pr_.id;
  j["object"] = pr_.chat ? "chat.completion.chunk" : "text_completion";
  j["created"] = pr_.created;
  j["model"] = pr_.model;
  j["choices"] = std::move(choices);
  if (pr_.include_usage) j["usage"] = nullptr;
  return j;
}

Json ResponseBuilder::usage_chunk() const {
  Json j = chunk(Json::array());
  j["usage"] = usage();
  return j;
}

Json ResponseBuilder::chat_logprobs(const std::vector<Logprob>& lps) const {
  Json content = Json::array();
  for (const Logprob& lp : lps) {
    std::string s = token_str(lp.id);
    Json top = Json::array();
    for (auto [id, v] : lp.top) {
      std::string ts = token_str(id);
      top.push_back({{"token", ts}, {"logprob", clamp_lp(v)}, {"bytes", bytes_of(ts)}});
    }
    content.push_back({{"token", s}, {"logprob", clamp_lp(lp.logprob)}, {"bytes", bytes_of(s)},
                       {"top_logprobs", top}});
  }
  return Json{{"content", content}};
}

// The legacy completions shape: parallel lists tokens / token_logprobs / top_logprobs /
// text_offset. A prompt's first token has no logprob (null).
Json ResponseBuilder::completion_logprobs(const std::vector<std::optional<Logprob>>& lps,
                                          const std::vector<int32_t>& ids,
                                          int64_t* offset) const {
  Json tokens = Json::array(), token_lps = Json::array(), tops = Json::array(),
       offsets = Json::array();
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string s = token_str(ids[i]);
    tokens.push_back(s);
    offsets.push_back(*offset);
    *offset += n_chars(s);
    if (i < lps.size() && lps[i]) {
      token_lps.push_back(clamp_lp(lps[i]->logprob));
      Json top = Json::object();
      // The sampled token is listed too, as vLLM does.
      top[s] = clamp_lp(lps[i]->logprob);
      for (auto [id, v] : lps[i]->top) top[token_str(id)] = clamp_lp(v);
      tops.push_back(top);
    } else {
      token_lps.push_back(nullptr);
      tops.push_back(nullptr);
    }
  }
  return Json{{"tokens", tokens}, {"token_logprobs", token_lps}, {"top_logprobs", tops},
              {"text_offset", offsets}};
}

Json ResponseBuilder::stop_reason_json(const Choice& c) const {
  if (c.stop_str) return *c.stop_str;
  if (c.stop_token && !std::count(cfg_.eos_ids.begin(), cfg_.eos_ids.end(), *c.stop_token))
    return *c.stop_token;
  return nullptr;
}

Json ResponseBuilder::finish_json(const Choice& c) const {
  if (!c.finish) return nullptr;
  return finish_reason_name(*c.finish);
}

bool ResponseBuilder::parse_tools() const {
  return pr_.chat && pr_.tool_choice != ToolChoice::kNone;
}

Json ResponseBuilder::chat_message(const Choice& c) const {
  Json msg = Json::object();
  msg["role"] = "assistant";
  msg["content"] = c.text;
  msg["tool_calls"] = Json::array();
  if (parse_tools()) {
    ToolOutput t = extract_tool_calls(c.text, pr_);
    if (!t.calls.empty()) {
      msg["content"] = t.content.empty() ? Json(nullptr) : Json(t.content);
      msg["tool_calls"] = t.calls;
    }
  }
  return msg;
}

Json ResponseBuilder::chat_delta(Choice& c, const SeqDelta& d) {
  Json delta = Json::object();
  if (!parse_tools()) {
    if (!d.text.empty()) delta["content"] = d.text;
    return delta;
  }
  if (pr_.tool_choice == ToolChoice::kNamed) {  // the whole output is the arguments: at the end
    if (!c.finish) return delta;
    Json calls = chat_message(c)["tool_calls"];
    for (size_t k = 0; k < calls.size(); ++k) calls[k]["index"] = k;
    delta["tool_calls"] = calls;
    c.tool_called = true;
    return delta;
  }
  if (!c.tool_stream) c.tool_stream = std::make_shared<tokenizer::ToolCallStreamParser>();
  tokenizer::StreamDelta sd = c.tool_stream->push(d.text);
  if (c.finish) {
    tokenizer::StreamDelta end = c.tool_stream->finish();
    sd.content += end.content;
    sd.tool_calls.insert(sd.tool_calls.end(), end.tool_calls.begin(), end.tool_calls.end());
  }
  if (!sd.content.empty()) delta["content"] = sd.content;
  if (!sd.tool_calls.empty()) {
    Json calls = Json::array();
    for (const tokenizer::ToolCallDelta& t : sd.tool_calls) {
      Json call = Json::object();
      call["index"] = t.index;
      if (t.first) {
        call["id"] = t.id;
        call["type"] = "function";
        call["function"] = Json{{"name", t.name}, {"arguments", t.arguments}};
      } else {
        call["function"] = Json{{"arguments", t.arguments}};
      }
      calls.push_back(std::move(call));
    }
    delta["tool_calls"] = calls;
    c.tool_called = true;
  }
  return delta;
}

std::vector<Json> ResponseBuilder::start_chunks() {
  std::vector<Json> out;
  Json choices = Json::array();
  for (size_t i = 0; i < choices_.size(); ++i) {
    if (pr_.chat) {
      choices.push_back({{"index", i}, {"delta", {{"role", "assistant"}, {"content", ""}}},
                         {"logprobs", nullptr}, {"finish_reason", nullptr}});
    }
  }
  if (!choices.empty()) out.push_back(chunk(std::move(choices)));
  return out;
}

std::vector<Json> ResponseBuilder::apply(size_t p, RequestOutput&& out) {
  std::vector<Json> chunks;
  if (!out.error.empty()) error_ = out.error;
  size_t base = p * size_t(pr_.n);
  if (!out.prompt_logprobs.empty())
    for (int k = 0; k < pr_.n; ++k) choices_[base + size_t(k)].prompt_logprobs = out.prompt_logprobs;
  Json choices = Json::array();
  for (SeqDelta& d : out.seqs) {
    Choice& c = choices_[base + size_t(d.index)];
    size_t idx = base + size_t(d.index);
    bool first = c.ids.empty() && !c.finish;
    n_generated_ += int64_t(d.token_ids.size());
    c.text += d.text;
    c.ids.insert(c.ids.end(), d.token_ids.begin(), d.token_ids.end());
    c.logprobs.insert(c.logprobs.end(), d.logprobs.begin(), d.logprobs.end());
    if (d.finish) c.finish = d.finish;
    if (d.stop_str) c.stop_str = d.stop_str;
    if (d.stop_token) c.stop_token = d.stop_token;
    if (!pr_.stream) continue;
    Json ch = Json::object();
    ch["index"] = idx;
    if (pr_.chat) {
      Json delta = chat_delta(c, d);
      if (delta.empty() && !c.finish && d.logprobs.empty()) continue;
      ch["delta"] = delta;
      ch["logprobs"] = pr_.logprobs && !d.logprobs.empty() ? chat_logprobs(d.logprobs)
                                                           : Json(nullptr);
      ch["finish_reason"] = nullptr;
      if (c.finish) {
        ch["finish_reason"] = c.tool_called && pr_.tool_choice != ToolChoice::kNamed
                                  ? Json("tool_calls")
                                  : finish_json(c);
        ch["stop_reason"] = stop_reason_json(c);
      }
    } else {
      std::string text = d.text;
      std::vector<std::optional<Logprob>> lps(d.logprobs.begin(), d.logprobs.end());
      std::vector<int32_t> ids = d.token_ids;
      if (first && pr_.echo) {
        text = pr_.prompt_texts[p] + text;
        ids.insert(ids.begin(), pr_.reqs[p].prompt.begin(), pr_.reqs[p].prompt.end());
        std::vector<std::optional<Logprob>> pl = c.prompt_logprobs;
        pl.resize(pr_.reqs[p].prompt.size());
        lps.insert(lps.begin(), pl.begin(), pl.end());
      }
      ch["text"] = text;
      ch["logprobs"] = pr_.logprobs ? completion_logprobs(lps, ids, &c.text_offset)
                                    : Json(nullptr);
      ch["finish_reason"] = finish_json(c);
      ch["stop_reason"] = stop_reason_json(c);
    }
    choices.push_back(std::move(ch));
  }
  if (out.finished) done_[p] = true;
  if (!choices.empty()) chunks.push_back(chunk(std::move(choices)));
  return chunks;
}

Json ResponseBuilder::response() const {
  Json choices = Json::array();
  for (size_t i = 0; i < choices_.size(); ++i) {
    const Choice& c = choices_[i];
    size_t p = i / size_t(pr_.n);
    Json ch = Json::object();
    ch["index"] = i;
    if (pr_.chat) {
      Json msg = chat_message(c);
      bool tools = !msg["tool_calls"].empty();
      ch["message"] = msg;
      ch["logprobs"] = pr_.logprobs ? chat_logprobs(c.logprobs) : Json(nullptr);
      // vLLM reports "tool_calls" for parsed (auto) calls; a named tool_choice keeps the
      // engine's reason.
      ch["finish_reason"] = tools && pr_.tool_choice != ToolChoice::kNamed ? Json("tool_calls")
                                                                          : finish_json(c);
    } else {
      std::string text = pr_.echo ? pr_.prompt_texts[p] + c.text : c.text;
      ch["text"] = text;
      if (pr_.logprobs) {
        std::vector<std::optional<Logprob>> lps;
        std::vector<int32_t> ids;
        if (pr_.echo) {
          lps = c.prompt_logprobs;
          lps.resize(pr_.reqs[p].prompt.size());
          ids = pr_.reqs[p].prompt;
        }
        lps.insert(lps.end(), c.logprobs.begin(), c.logprobs.end());
        ids.insert(ids.end(), c.ids.begin(), c.ids.end());
        int64_t offset = 0;
        ch["logprobs"] = completion_logprobs(lps, ids, &offset);
      } else {
        ch["logprobs"] = nullptr;
      }
      ch["finish_reason"] = finish_json(c);
    }
    ch["stop_reason"] = stop_reason_json(c);
    choices.push_back(std::move(ch));
  }
  Json j = Json::object();
  j["id"] = pr_.id;
  j["object"] = pr_.chat ? "chat.completion" : "text_completion";
  j["created"] = pr_.created;
  j["model"] = pr_.model;
  j["choices"] = std::move(choices);
  j["usage"] = usage();
  return j;
}

}  // namespace qinfer::server
