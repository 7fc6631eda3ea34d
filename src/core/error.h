// Errors: one exception type for every user-facing failure. Messages name the thing that is
// wrong (file, tensor, field, op/dtype/device) so a user can act on them.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace qinfer {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// str_cat("a", 1, 'b') -> "a1b": <format> is not in g++ 12.
template <typename... Args>
std::string str_cat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

}  // namespace qinfer

// QINFER_CHECK(cond, parts...): throws qinfer::Error with the concatenated message.
#define QINFER_CHECK(cond, ...)                              \
  do {                                                       \
    if (!(cond)) throw ::qinfer::Error(::qinfer::str_cat(__VA_ARGS__)); \
  } while (0)

#define QINFER_FAIL(...) throw ::qinfer::Error(::qinfer::str_cat(__VA_ARGS__))
