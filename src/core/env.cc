#include "core/env.h"

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

}  // namespace qinfer
