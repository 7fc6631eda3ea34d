// Chat templates: renders a tokenizer's Jinja chat template the way transformers'
// apply_chat_template(tokenize=False) does, with our own Jinja interpreter (jinja.h).
#pragma once

#include <string>

#include "core/json.h"
#include "tokenizer/tokenizer.h"

namespace qinfer::tokenizer {

struct ChatTemplateInput {
  Json messages;  // [{"role": ..., "content": ..., "tool_calls": [...]}, ...]
  Json tools;     // null or a list of tool JSON schemas
  bool add_generation_prompt = true;
  Json kwargs;  // extra template variables (date_string, builtin_tools, tools_in_user_message...)
};

// Template variables: messages, tools (None when null), documents (None), add_generation_prompt,
// bos_token, eos_token, then kwargs (which may override them). Throws qinfer::Error
// "chat template line N: ..." on template errors (raise_exception included) and when the
// tokenizer has no chat template.
std::string apply_chat_template(const Tokenizer& tok, const ChatTemplateInput& input);

// The same with an explicit template source (tests, --chat-template overrides).
std::string render_chat_template(const std::string& template_source, const ChatTemplateInput& input,
                                 const std::string& bos_token, const std::string& eos_token);

}  // namespace qinfer::tokenizer
