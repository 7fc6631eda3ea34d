// Stop strings across token boundaries. Detokenized text arrives in pieces (one per token);
// a stop string may span several pieces, so text that could still be the beginning of a
// stop string is held back until the next piece decides it (vLLM's holdback: the output
// never shows a prefix of a stop string that later completes). When a stop string appears,
// the text is cut before it (after it with include_stop_str_in_output) and the sequence
// stops.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qinfer::engine {

class StopChecker {
 public:
  StopChecker() = default;
  StopChecker(std::vector<std::string> stops, bool include_stop_str_in_output);

  // Appends a piece; returns the text that can be emitted now. After a stop string is
  // found, stopped() is true and matched() names it; later pushes return "".
  std::string push(std::string_view piece);
  // At the end of the sequence (any other reason): releases the held-back text.
  std::string flush();

  bool stopped() const { return matched_.has_value(); }
  const std::optional<std::string>& matched() const { return matched_; }

 private:
  std::vector<std::string> stops_;
  bool include_stop_ = false;
  size_t max_stop_len_ = 0;
  std::string held_;
  std::optional<std::string> matched_;
};

}  // namespace qinfer::engine
