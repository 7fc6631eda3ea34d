// The `qinfer` command: subcommands register themselves (one file each, cmd_*.cc), and
// share one small argument parser. Every subcommand answers --help.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "engine/engine.h"

namespace qinfer::cli {

// Parsed "--name value" / "--flag" arguments plus positionals. Unknown options are an error
// (checked by Args::finish), so a typo never goes unnoticed.
class Args {
 public:
  Args(std::vector<std::string> argv, std::vector<std::string> flags);
  bool help() const { return help_; }
  std::optional<std::string> get(const std::string& name);
  std::string get_or(const std::string& name, const std::string& fallback);
  std::string require(const std::string& name);
  int64_t get_int(const std::string& name, int64_t fallback);
  double get_double(const std::string& name, double fallback);
  std::optional<double> get_double_opt(const std::string& name);
  std::optional<int64_t> get_int_opt(const std::string& name);
  bool flag(const std::string& name);
  // Every value of an option that may repeat (--stop a --stop b), in order.
  std::vector<std::string> get_all(const std::string& name);
  const std::vector<std::string>& positionals() const { return positionals_; }
  // Throws if an option was given that no get/flag call asked for.
  void finish() const;

 private:
  std::map<std::string, std::string> values_;
  std::map<std::string, std::vector<std::string>> all_values_;
  std::map<std::string, bool> flags_given_;
  std::map<std::string, bool> used_;
  std::vector<std::string> positionals_;
  bool help_ = false;
};

struct Command {
  std::string name;
  std::string summary;
  std::string usage;                           // printed for --help
  std::vector<std::string> flags;              // options that take no value
  std::function<int(Args&)> run;
};

// Registers at static-initialization time: `static cli::Registrar r({...});`
struct Registrar {
  explicit Registrar(Command c);
};

std::map<std::string, Command>& registry();

// The command line this process was started with (argv joined by spaces), for result files.
const std::string& command_line();
void set_command_line(int argc, char** argv);

// --device auto|cpu|cuda (auto: cuda when a CUDA device is present, which starts the CUDA
// backend); throws naming the value, or when cuda is asked for and there is none.
Device parse_device(const std::string& value);
// --kv-cache-dtype auto|bf16|fp8|f32 (auto: the device's default, nullopt).
std::optional<DType> parse_kv_cache_dtype(const std::string& value);
// --async-scheduling auto|on|off (engine::AsyncSteps: the host queues step N+1 while the GPU
// runs step N; auto: on for CUDA models).
engine::AsyncSteps parse_async_scheduling(const std::string& value);

// KV-cache bytes on the GPU for --gpu-memory-utilization `util`: util x the card's memory, less
// what is in use (the loaded weights) and a reserve for a step of max_num_batched_tokens
// (gpu_memory.cc). Throws, naming the numbers, when nothing is left.
int64_t gpu_kv_cache_bytes(double util, int64_t max_num_batched_tokens);

}  // namespace qinfer::cli
