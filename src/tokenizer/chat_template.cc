#include "tokenizer/chat_template.h"

#include <map>
#include <memory>
#include <mutex>

#include "core/error.h"
#include "tokenizer/jinja.h"

namespace qinfer::tokenizer {
namespace {

// Parsed templates by source: a server renders the same template for every request.
std::shared_ptr<const jinja::Template> compiled(const std::string& source) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const jinja::Template>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(source);
  if (it != cache.end()) return it->second;
  auto t = std::make_shared<const jinja::Template>(source);
  if (cache.size() > 16) cache.clear();
  cache.emplace(source, t);
  return t;
}

}  // namespace

std::string render_chat_template(const std::string& template_source, const ChatTemplateInput& input,
                                 const std::string& bos_token, const std::string& eos_token) {
  auto tmpl = compiled(template_source);
  Json ctx = Json::object();
  ctx["messages"] = input.messages.is_null() ? Json::array() : input.messages;
  ctx["tools"] = input.tools;
  ctx["documents"] = nullptr;
  ctx["add_generation_prompt"] = input.add_generation_prompt;
  ctx["bos_token"] = bos_token;
  ctx["eos_token"] = eos_token;
  if (input.kwargs.is_object())
    for (auto it = input.kwargs.begin(); it != input.kwargs.end(); ++it) ctx[it.key()] = it.value();
  return tmpl->render(ctx);
}

std::string apply_chat_template(const Tokenizer& tok, const ChatTemplateInput& input) {
  QINFER_CHECK(!tok.chat_template().empty(),
               "the tokenizer has no chat_template (tokenizer_config.json / chat_template.jinja)");
  return render_chat_template(tok.chat_template(), input, tok.bos_token(), tok.eos_token());
}

}  // namespace qinfer::tokenizer
