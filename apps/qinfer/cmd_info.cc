// `qinfer info FILE|DIR`: what a checkpoint holds (config, tensors, formats).
#include <cstdio>

#include "cli.h"
#include "core/error.h"
#include "io/checkpoint.h"

namespace qinfer::cli {
namespace {

int run_info(Args& args) {
  QINFER_CHECK(args.positionals().size() == 1, "usage: qinfer info MODEL");
  args.finish();
  io::Checkpoint ck = io::open_checkpoint(args.positionals()[0]);
  const io::ModelConfig& c = ck.config;
  std::printf("%s\n", io::model_config_to_json(c).dump(2).c_str());
  size_t n = ck.tensors->names().size();
  std::printf("tensors: %zu\n", n);
  return 0;
}

Registrar reg({.name = "info",
               .summary = "print a checkpoint's config and tensor count",
               .usage = "qinfer info MODEL\n  MODEL  a checkpoint directory or a .gguf file",
               .flags = {},
               .run = run_info});

}  // namespace
}  // namespace qinfer::cli
