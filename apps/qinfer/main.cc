// qinfer: serve, generate with and quantize Llama-family models.
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "cli.h"
#include "core/error.h"

namespace qinfer::cli {

std::map<std::string, Command>& registry() {
  static std::map<std::string, Command> r;
  return r;
}

Registrar::Registrar(Command c) { registry().emplace(c.name, std::move(c)); }

namespace {
std::string g_command_line;
}  // namespace

const std::string& command_line() { return g_command_line; }

void set_command_line(int argc, char** argv) {
  g_command_line.clear();
  for (int i = 0; i < argc; ++i) (g_command_line += i > 0 ? " " : "") += argv[i];
}

Args::Args(std::vector<std::string> argv, std::vector<std::string> flags) {
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "--help" || a == "-h") {
      help_ = true;
    } else if (a.rfind("--", 0) == 0) {
      std::string name = a.substr(2);
      std::string value;
      bool has_value = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_value = true;
      }
      bool is_flag = false;
      for (const auto& f : flags) is_flag |= (f == name);
      if (is_flag) {
        QINFER_CHECK(!has_value, "option --", name, " takes no value");
        flags_given_[name] = true;
      } else {
        if (!has_value) {
          QINFER_CHECK(i + 1 < argv.size(), "option --", name, " needs a value");
          value = argv[++i];
        }
        values_[name] = value;
        all_values_[name].push_back(value);
      }
    } else {
      positionals_.push_back(a);
    }
  }
}

std::optional<std::string> Args::get(const std::string& name) {
  used_[name] = true;
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::get_or(const std::string& name, const std::string& fallback) {
  auto v = get(name);
  return v ? *v : fallback;
}

std::string Args::require(const std::string& name) {
  auto v = get(name);
  QINFER_CHECK(v.has_value(), "missing required option --", name, " (see --help)");
  return *v;
}

std::optional<int64_t> Args::get_int_opt(const std::string& name) {
  auto v = get(name);
  if (!v) return std::nullopt;
  char* end = nullptr;
  long long x = std::strtoll(v->c_str(), &end, 10);
  QINFER_CHECK(!v->empty() && *end == '\0', "option --", name, ": '", *v,
               "' is not an integer");
  return int64_t(x);
}

int64_t Args::get_int(const std::string& name, int64_t fallback) {
  auto v = get_int_opt(name);
  return v ? *v : fallback;
}

std::optional<double> Args::get_double_opt(const std::string& name) {
  auto v = get(name);
  if (!v) return std::nullopt;
  char* end = nullptr;
  double x = std::strtod(v->c_str(), &end);
  QINFER_CHECK(!v->empty() && *end == '\0', "option --", name, ": '", *v,
               "' is not a number");
  return x;
}

double Args::get_double(const std::string& name, double fallback) {
  auto v = get_double_opt(name);
  return v ? *v : fallback;
}

std::vector<std::string> Args::get_all(const std::string& name) {
  used_[name] = true;
  auto it = all_values_.find(name);
  return it == all_values_.end() ? std::vector<std::string>() : it->second;
}

bool Args::flag(const std::string& name) {
  used_[name] = true;
  return flags_given_.count(name) != 0;
}

void Args::finish() const {
  for (const auto& [k, v] : values_)
    QINFER_CHECK(used_.count(k), "unknown option --", k, " (see --help)");
  for (const auto& [k, v] : flags_given_)
    QINFER_CHECK(used_.count(k), "unknown option --", k, " (see --help)");
}

}  // namespace qinfer::cli

namespace {

void print_usage() {
  std::printf("usage: qinfer <command> [options]\n\ncommands:\n");
  for (const auto& [name, c] : qinfer::cli::registry())
    std::printf("  %-12s %s\n", name.c_str(), c.summary.c_str());
  std::printf("\n`qinfer <command> --help` describes a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace qinfer::cli;
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  if (std::string(argv[1]) == "--version") {
    std::printf("qinfer %s\n", QINFER_VERSION);
    return 0;
  }
  auto it = registry().find(argv[1]);
  if (it == registry().end()) {
    std::fprintf(stderr, "qinfer: unknown command '%s'\n\n", argv[1]);
    print_usage();
    return 2;
  }
  set_command_line(argc, argv);
  try {
    Args args(std::vector<std::string>(argv + 2, argv + argc), it->second.flags);
    if (args.help()) {
      std::printf("%s\n", it->second.usage.c_str());
      return 0;
    }
    return it->second.run(args);
  } catch (const qinfer::Error& e) {
    std::fprintf(stderr, "qinfer %s: error: %s\n", argv[1], e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qinfer %s: internal error: %s\n", argv[1], e.what());
    return 1;
  }
}
