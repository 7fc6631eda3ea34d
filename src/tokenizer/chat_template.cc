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
  // Variables go in as Values directly (no intermediate Json copy); later ones win.
  using jinja::Value;
  std::vector<std::pair<std::string, Value>> vars;
  vars.reserve(8);
  vars.emplace_back(
      "messages", input.messages.is_null() ? Value::new_list() : Value::from_json(input.messages));
  vars.emplace_back("tools", Value::from_json(input.tools));
  vars.emplace_back("documents", Value::none());
  vars.emplace_back("add_generation_prompt", Value::boolean(input.add_generation_prompt));
  vars.emplace_back("bos_token", Value::string(bos_token));
  vars.emplace_back("eos_token", Value::string(eos_token));
  if (input.kwargs.is_object())
    for (auto it = input.kwargs.begin(); it != input.kwargs.end(); ++it)
      vars.emplace_back(it.key(), Value::from_json(it.value()));
  return tmpl->render(Json(), vars);
}

std::string apply_chat_template(const Tokenizer& tok, const ChatTemplateInput& input) {
  QINFER_CHECK(!tok.chat_template().empty(),
               "the tokenizer has no chat_template (tokenizer_config.json / chat_template.jinja)");
  return render_chat_template(tok.chat_template(), input, tok.bos_token(), tok.eos_token());
}

}  // namespace qinfer::tokenizer
