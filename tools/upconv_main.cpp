// The `upconv` command-line program: dispatches to one subcommand (tools/commands.hpp).
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "tools/commands.hpp"
#include "upconv/plan.hpp"

namespace {

constexpr std::string_view kUsage = R"(usage: upconv <command> [arguments]

commands:
  run OP --input X.npy [--weight W.npy] [--bias B.npy] [--indices I.npy] --output Y.npy [options]
      run one operator on .npy files (upconv run --help for OPs and options)
  bench [--backend ...] [--shapes FILE] [--threads N] [--json FILE]
      time the benchmark layers
  info
      version, available backends, CPU and threads
  make-demo-data DIR
      write small example inputs (x.npy, w.npy, b.npy) for a first `upconv run`
)";

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::cerr << "upconv: missing command (run, bench, info); try upconv --help" << std::endl;
    return upconv::cli::kExitUsage;
  }
  const std::string& command = args[0];
  const std::span<const std::string> rest(args.data() + 1, args.size() - 1);
  try {
    if (command == "run") return upconv::cli::run_command(rest);
    if (command == "info") return upconv::cli::info_command(rest);
    if (command == "bench") return upconv::cli::bench_command(rest);
    if (command == "make-demo-data") return upconv::cli::make_demo_data_command(rest);
    if (command == "--help" || command == "-h" || command == "help") {
      std::cout << kUsage;
      return upconv::cli::kExitOk;
    }
    if (command == "--version") {
      std::cout << "upconv " << upconv::version() << "\n";
      return upconv::cli::kExitOk;
    }
  } catch (const std::exception& e) {
    // The library does not throw; this catches std::bad_alloc and the like from the program itself.
    std::cerr << "upconv " << command << ": internal error: " << e.what() << std::endl;
    return upconv::cli::kExitFailure;
  }
  std::cerr << "upconv: unknown command '" << command << "' (expected run, bench or info)" << std::endl;
  return upconv::cli::kExitUsage;
}
