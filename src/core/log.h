// Logging to stderr with a level set by QINFER_LOG (error, warn, info, debug; default info).
#pragma once

#include "core/error.h"

namespace qinfer {

enum class LogLevel { kError = 0, kWarn = 1, kInfo = 2, kDebug = 3 };
LogLevel log_level();
void log_line(LogLevel level, const std::string& message);

}  // namespace qinfer

#define QINFER_LOG(level, ...)                                              \
  do {                                                                      \
    if (int(::qinfer::LogLevel::level) <= int(::qinfer::log_level()))        \
      ::qinfer::log_line(::qinfer::LogLevel::level, ::qinfer::str_cat(__VA_ARGS__)); \
  } while (0)
