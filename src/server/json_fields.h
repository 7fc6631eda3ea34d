// Typed access to optional request fields: a field of the wrong type is a 400 naming the
// field (param), as vLLM's pydantic validation reports it. null counts as absent.
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "server/api_error.h"

namespace qinfer::server {

inline const Json* field(const Json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

inline std::optional<double> opt_number(const Json& body, const char* name) {
  const Json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_number()) throw bad_request(str_cat("'", name, "' must be a number"), name);
  double x = v->get<double>();
  if (!std::isfinite(x)) throw bad_request(str_cat("'", name, "' must be finite"), name);
  return x;
}

inline std::optional<int64_t> opt_int(const Json& body, const char* name) {
  const Json* v = field(body, name);
  if (!v) return std::nullopt;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float()) {
    double x = v->get<double>();
    if (std::isfinite(x) && x == std::floor(x) && std::fabs(x) < 9e15) return int64_t(x);
  }
  throw bad_request(str_cat("'", name, "' must be an integer"), name);
}

inline std::optional<bool> opt_bool(const Json& body, const char* name) {
  const Json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) throw bad_request(str_cat("'", name, "' must be a boolean"), name);
  return v->get<bool>();
}

inline std::optional<std::string> opt_string(const Json& body, const char* name) {
  const Json* v = field(body, name);
  if (!v) return std::nullopt;
  if (!v->is_string()) throw bad_request(str_cat("'", name, "' must be a string"), name);
  return v->get<std::string>();
}

// A string or a list of strings ("stop").
inline std::vector<std::string> opt_strings(const Json& body, const char* name) {
  const Json* v = field(body, name);
  if (!v) return {};
  if (v->is_string()) return {v->get<std::string>()};
  if (v->is_array()) {
    std::vector<std::string> out;
    for (const Json& s : *v) {
      if (!s.is_string())
        throw bad_request(str_cat("'", name, "' must be a string or a list of strings"), name);
      out.push_back(s.get<std::string>());
    }
    return out;
  }
  throw bad_request(str_cat("'", name, "' must be a string or a list of strings"), name);
}

inline std::vector<int32_t> opt_token_ids(const Json& body, const char* name) {
  const Json* v = field(body, name);
  if (!v) return {};
  if (!v->is_array()) throw bad_request(str_cat("'", name, "' must be a list of integers"), name);
  std::vector<int32_t> out;
  for (const Json& t : *v) {
    if (!t.is_number_integer() || t.get<int64_t>() < 0 || t.get<int64_t>() > INT32_MAX)
      throw bad_request(str_cat("'", name, "' must be a list of non-negative integers"), name);
    out.push_back(int32_t(t.get<int64_t>()));
  }
  return out;
}

}  // namespace qinfer::server
