#include "core/env.h"

#include <climits>
#include <cstdlib>
#include <cstring>

namespace qinfer {

int env_switch(const char* name, int otherwise) {
  const char* v = std::getenv(name);
  if (v == nullptr) return otherwise;
  if (std::strcmp(v, "0") == 0) return 0;
  if (std::strcmp(v, "1") == 0) return 1;
  return otherwise;
}

int env_int(const char* name, int otherwise) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return otherwise;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < INT_MIN || x > INT_MAX) return otherwise;
  return int(x);
}

}  // namespace qinfer
