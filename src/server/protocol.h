// The OpenAI / vLLM protocol mapping: request JSON -> engine Requests, engine outputs ->
// response JSON (whole or as stream chunks). No HTTP here (server.cc), no scheduling
// (engine/): a pure translation layer that tests can drive directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "io/model_config.h"
#include "qinfer/request.h"
#include "tokenizer/tokenizer.h"

namespace qinfer::server {

// What the server knows about the model it serves.
struct ServeConfig {
  std::vector<std::string> model_names;  // --served-model-name (first is reported)
  std::string model_path;
  std::string version;                   // qinfer's, for /version
  int64_t max_model_len = 0;
  int64_t max_num_seqs = 256;
  int64_t vocab_size = 0;
  io::GenerationConfig generation;       // defaults for unspecified sampling fields
  std::vector<int32_t> eos_ids;          // EOS ids (a stop on these reports stop_reason null)
  const tokenizer::Tokenizer* tok = nullptr;
};

enum class ToolChoice { kNone, kAuto, kRequired, kNamed };

// A parsed /v1/completions or /v1/chat/completions request.
struct ParsedRequest {
  bool chat = false;
  std::string id;                         // "chatcmpl-…" / "cmpl-…"
  std::string model;                      // as reported back
  int64_t created = 0;
  std::vector<Request> reqs;              // one per prompt (chat: exactly one)
  std::vector<std::string> prompt_texts;  // for echo
  int n = 1;
  bool stream = false;
  bool include_usage = false;
  bool echo = false;
  std::optional<int> logprobs;            // completions: top count; chat: top_logprobs
  // Chat: tools present and how to treat the output.
  ToolChoice tool_choice = ToolChoice::kNone;
  std::string named_tool;
  Json tools;
};

// The served name a request's "model" must match; 404 otherwise.
std::string check_model(const Json& body, const ServeConfig& cfg);
ParsedRequest parse_completion(const Json& body, const ServeConfig& cfg);
ParsedRequest parse_chat(const Json& body, const ServeConfig& cfg);
// The chat prompt as token ids (the rendered template tokenized without adding BOS again),
// shared with /tokenize.
std::vector<int32_t> render_chat(const Json& body, const ServeConfig& cfg, Json* tools_used);

// Fills the sampling fields, max_tokens and the rest that chat and completions share.
void parse_common(const Json& body, const ServeConfig& cfg, bool chat, Request* r);

std::string random_id(const char* prefix);
int64_t unix_time();

}  // namespace qinfer::server
