// Errors the server answers with, shaped as OpenAI's / vLLM's:
//   {"error": {"message": "...", "type": "BadRequestError", "param": "temperature", "code": 400}}
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include "core/error.h"
#include "core/json.h"

namespace qinfer::server {

struct ApiError : std::runtime_error {
  int status;
  std::string type;
  std::optional<std::string> param;
  ApiError(int status_, std::string type_, const std::string& message,
           std::optional<std::string> param_ = std::nullopt)
      : std::runtime_error(message), status(status_), type(std::move(type_)),
        param(std::move(param_)) {}
};

inline ApiError bad_request(const std::string& message,
                            std::optional<std::string> param = std::nullopt) {
  return ApiError(400, "BadRequestError", message, std::move(param));
}

inline Json error_json(int status, const std::string& type, const std::string& message,
                       const std::optional<std::string>& param = std::nullopt) {
  Json e = Json::object();
  e["message"] = message;
  e["type"] = type;
  e["param"] = param ? Json(*param) : Json(nullptr);
  e["code"] = status;
  return Json{{"error", e}};
}

inline Json error_json(const ApiError& e) {
  return error_json(e.status, e.type, e.what(), e.param);
}

// The type name vLLM uses for a status code.
inline const char* error_type(int status) {
  switch (status) {
    case 400: return "BadRequestError";
    case 401: return "AuthenticationError";
    case 404: return "NotFoundError";
    case 405: return "MethodNotAllowed";
    case 413: return "RequestEntityTooLarge";
    case 429: return "RateLimitError";
    case 503: return "ServiceUnavailableError";
    default: return status >= 500 ? "InternalServerError" : "BadRequestError";
  }
}

}  // namespace qinfer::server
