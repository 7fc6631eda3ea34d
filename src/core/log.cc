#include "core/log.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace qinfer {

LogLevel log_level() {
  static const LogLevel level = [] {
    const char* env = std::getenv("QINFER_LOG");
    if (!env) return LogLevel::kInfo;
    if (std::strcmp(env, "error") == 0) return LogLevel::kError;
    if (std::strcmp(env, "warn") == 0) return LogLevel::kWarn;
    if (std::strcmp(env, "debug") == 0) return LogLevel::kDebug;
    return LogLevel::kInfo;
  }();
  return level;
}

void log_line(LogLevel level, const std::string& message) {
  static std::mutex mu;
  static const char* kNames[] = {"error", "warn", "info", "debug"};
  std::lock_guard<std::mutex> lock(mu);
  std::fprintf(stderr, "[qinfer %s] %s\n", kNames[int(level)], message.c_str());
}

}  // namespace qinfer
