#include "core/error.h"
#include "io/checkpoint.h"

namespace qinfer::io {

// Placeholder until the GGUF reader lands (issue: GGUF import).
Checkpoint open_gguf_checkpoint(const std::string& path) {
  QINFER_FAIL(path, ": GGUF files are not supported yet");
}

}  // namespace qinfer::io
