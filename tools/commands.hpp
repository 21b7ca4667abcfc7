// Entry points of the `upconv` subcommands. Each receives the arguments after its own name
// (e.g. for `upconv run conv2d --input x.npy ...`: {"conv2d", "--input", "x.npy", ...}) and
// returns the process exit code: 0 success, 1 bad input or a failed operation, 2 bad usage.
// Every failure prints exactly one line on stderr.
#pragma once

#include <span>
#include <string>

namespace upconv::cli {

/// `upconv run OP --input X.npy ... --output Y.npy` (tools/run_command.cpp).
int run_command(std::span<const std::string> args);
/// `upconv info` (tools/info_command.cpp).
int info_command(std::span<const std::string> args);
/// `upconv bench ...` (tools/bench_command.cpp).
int bench_command(std::span<const std::string> args);
/// `upconv make-demo-data DIR` (tools/demo_data_command.cpp): small deterministic .npy inputs
/// for a first `upconv run`, so the README's demo needs no NumPy.
int make_demo_data_command(std::span<const std::string> args);

/// Exit codes shared by the subcommands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;

}  // namespace upconv::cli
