// libFuzzer target for the GGUF reader and importer: any byte string must either open or
// raise qinfer::Error. Anything else (a crash, an ASan report, another exception type, a huge
// allocation) is a bug. Built and run by tests/fuzz/run_gguf_fuzz.sh.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/gguf.h"

namespace {

std::string scratch_path() {
  static const std::string p = "/tmp/qinfer_gguf_fuzz_" + std::to_string(::getpid()) + ".gguf";
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = scratch_path();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    qinfer::io::GgufFile g(path);
    for (const auto& t : g.tensors()) {
      const auto* tr = qinfer::io::ggml_type_traits(t.type);
      if (tr && tr->readable && t.numel() <= (int64_t(1) << 20)) g.dequantize_f32(t);
    }
    qinfer::io::Checkpoint ck = qinfer::io::open_gguf_checkpoint(path);
    for (const std::string& n : ck.tensors->names()) {
      if (ck.tensors->get(n).numel() < 0) return 0;
    }
  } catch (const qinfer::Error&) {
  }
  return 0;
}
