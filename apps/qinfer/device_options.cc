// --device, --kv-cache-dtype and --async-scheduling, parsed one way for every subcommand that loads a model.
#include "cli.h"
#include "core/error.h"
#include "ops/cuda/cuda_ops.h"

namespace qinfer::cli {

Device parse_device(const std::string& value) {
  QINFER_CHECK(value == "auto" || value == "cpu" || value == "cuda",
               "--device must be auto, cpu or cuda, got '", value, "'");
  if (value == "cpu") return Device::kCpu;
  // available() also starts the CUDA backend (its allocator and copy function).
  const bool gpu = ops::cuda::available();
  if (value == "auto") return gpu ? Device::kCuda : Device::kCpu;
  QINFER_CHECK(gpu, "--device cuda: no CUDA device (or this build has no CUDA backend)");
  return Device::kCuda;
}

std::optional<DType> parse_kv_cache_dtype(const std::string& value) {
  QINFER_CHECK(value == "auto" || value == "bf16" || value == "fp8" || value == "f32",
               "--kv-cache-dtype must be auto, bf16, fp8 or f32, got '", value, "'");
  if (value == "bf16") return DType::kBF16;
  if (value == "fp8") return DType::kF8E4M3;
  if (value == "f32") return DType::kF32;
  return std::nullopt;
}

engine::AsyncSteps parse_async_scheduling(const std::string& value) {
  QINFER_CHECK(value == "auto" || value == "on" || value == "off",
               "--async-scheduling must be auto, on or off, got '", value, "'");
  if (value == "on") return engine::AsyncSteps::kOn;
  if (value == "off") return engine::AsyncSteps::kOff;
  return engine::AsyncSteps::kAuto;
}

}  // namespace qinfer::cli
