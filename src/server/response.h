// Builds OpenAI / vLLM response bodies from engine outputs: the whole response (stream off)
// or one SSE chunk per engine output (stream on), plus usage. One builder per HTTP request;
// choice index = prompt index * n + sample index, as vLLM numbers them.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "qinfer/request.h"
#include "server/protocol.h"
#include "tokenizer/tool_calls.h"

namespace qinfer::server {

class ResponseBuilder {
 public:
  ResponseBuilder(const ParsedRequest& pr, const ServeConfig& cfg);

  // Streaming: the chunks that announce each choice (chat: role; completions with echo:
  // the prompt text).
  std::vector<Json> start_chunks();
  // Applies one engine output of prompt `p`; returns the stream chunks it makes.
  std::vector<Json> apply(size_t p, RequestOutput&& out);
  bool finished() const;
  const std::string& error() const { return error_; }

  Json response() const;      // stream off: the whole body
  Json usage() const;
  Json usage_chunk() const;   // stream_options.include_usage: choices [] + usage
  int64_t prompt_tokens() const;
  int64_t completion_tokens() const { return n_generated_; }
  // "stop,length": the finish reasons of the choices, for the request log.
  std::string finish_summary() const;

 private:
  struct Choice {
    std::string text;
    std::vector<int32_t> ids;
    std::vector<Logprob> logprobs;
    std::optional<FinishReason> finish;
    std::optional<std::string> stop_str;
    std::optional<int32_t> stop_token;
    std::vector<std::optional<Logprob>> prompt_logprobs;  // echo
    int64_t text_offset = 0;  // completions logprobs: characters emitted so far
    // Streamed chat with tool_choice auto/required: content flows until a tool call starts.
    std::shared_ptr<tokenizer::ToolCallStreamParser> tool_stream;
    bool tool_called = false;
  };

  Json chunk(Json choices) const;
  Json chat_logprobs(const std::vector<Logprob>& lps) const;
  Json completion_logprobs(const std::vector<std::optional<Logprob>>& lps,
                           const std::vector<int32_t>& ids, int64_t* offset) const;
  std::string token_str(int32_t id) const;
  Json finish_json(const Choice& c) const;
  Json stop_reason_json(const Choice& c) const;
  Json chat_message(const Choice& c) const;
  bool parse_tools() const;
  // The streamed chat delta of one engine delta (content and/or tool_call pieces).
  Json chat_delta(Choice& c, const SeqDelta& d);

  const ParsedRequest& pr_;
  const ServeConfig& cfg_;
  std::vector<Choice> choices_;
  std::vector<bool> done_;   // per prompt
  int64_t n_generated_ = 0;
  std::string error_;
};

}  // namespace qinfer::server
