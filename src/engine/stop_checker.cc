#include "engine/stop_checker.h"

#include <algorithm>

namespace qinfer::engine {

StopChecker::StopChecker(std::vector<std::string> stops, bool include_stop_str_in_output)
    : include_stop_(include_stop_str_in_output) {
  for (auto& s : stops)
    if (!s.empty()) stops_.push_back(std::move(s));
  for (const auto& s : stops_) max_stop_len_ = std::max(max_stop_len_, s.size());
}

std::string StopChecker::push(std::string_view piece) {
  if (stopped()) return "";
  if (stops_.empty()) return std::string(piece);
  // Only the new piece plus the held tail (shorter than the longest stop) can hold a match
  // that was not seen before, and held_ is exactly that tail.
  held_.append(piece);
  size_t best = std::string::npos;
  const std::string* best_stop = nullptr;
  for (const auto& s : stops_) {
    size_t pos = held_.find(s);
    if (pos != std::string::npos && (best == std::string::npos || pos < best)) {
      best = pos;
      best_stop = &s;
    }
  }
  if (best != std::string::npos) {
    matched_ = *best_stop;
    std::string out = held_.substr(0, include_stop_ ? best + best_stop->size() : best);
    held_.clear();
    return out;
  }
  // Hold back the longest suffix of held_ that is a proper prefix of some stop string.
  size_t hold = 0;
  for (const auto& s : stops_) {
    size_t k = std::min(s.size() - 1, held_.size());
    for (; k > hold; --k)
      if (held_.compare(held_.size() - k, k, s, 0, k) == 0) break;
    hold = std::max(hold, k);
  }
  std::string out = held_.substr(0, held_.size() - hold);
  held_.erase(0, held_.size() - hold);
  return out;
}

std::string StopChecker::flush() {
  std::string out;
  out.swap(held_);
  return stopped() ? std::string() : out;
}

}  // namespace qinfer::engine
