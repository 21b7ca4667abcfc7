// Command-line parsing helpers shared by the `upconv` subcommands. They check syntax only
// (is it a flag we know, is it an integer); whether a value is valid for an operator is decided
// by the library's validation, so the rules live in one place.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "upconv/params.hpp"
#include "upconv/plan.hpp"
#include "upconv/status.hpp"

namespace upconv::cli {

/// "--name value" (or "--name=value") pairs after parsing.
class Flags {
 public:
  bool has(std::string_view name) const { return values_.count(std::string(name)) != 0; }
  /// The value of a flag, if it was given.
  std::optional<std::string> get(std::string_view name) const;
  void set(std::string name, std::string value) { values_.emplace(std::move(name), std::move(value)); }

 private:
  std::map<std::string, std::string, std::less<>> values_;
};

/// Parses `args` (everything after the subcommand and its positional argument) into flags.
/// `allowed` are the flags (without "--") the caller accepts here; `known` are all flags the
/// subcommand knows, so that a known flag that does not apply to `context` (e.g. an operator
/// name) gets a message saying so, rather than "unknown flag". Errors: unknown flag, a flag that
/// does not apply, a repeated flag, a missing value, a stray positional argument.
Result<Flags> parse_flags(std::span<const std::string> args, std::span<const std::string_view> allowed,
                          std::span<const std::string_view> known, std::string_view context);

/// One integer, or a comma-separated list of integers ("2" or "2,3"). `flag` names the flag in
/// messages. Fails on anything that is not a plain decimal int64.
Result<std::vector<int64_t>> parse_int_list(std::string_view flag, std::string_view text);

/// A per-axis attribute: one value for every axis, or exactly one value per spatial axis.
/// Writes elements [0, spatial_rank) of `out`.
Status assign_per_axis(std::string_view flag, const std::vector<int64_t>& values, int spatial_rank, Pair& out);

/// Convolution padding: one value (all sides), one per axis (symmetric), or 2 * spatial_rank
/// values: all begins then all ends, in ONNX order (h_begin, w_begin, h_end, w_end).
Status assign_padding(std::string_view flag, const std::vector<int64_t>& values, int spatial_rank, Pair& begin,
                      Pair& end);

/// "none", "relu", "leaky_relu" (alpha 0.01), "leaky_relu:A", "sigmoid" or "tanh".
Result<ActivationParams> parse_activation(std::string_view text);
/// "crd" or "dcr".
Result<ShuffleMode> parse_shuffle_mode(std::string_view text);
/// "auto", "cpu" or "vulkan".
Result<BackendKind> parse_backend(std::string_view text);
/// "fp32" or "fp16".
Result<Precision> parse_precision(std::string_view text);
/// A positive integer (e.g. a thread count); `flag` names it in messages.
Result<int64_t> parse_positive_int(std::string_view flag, std::string_view text);

/// Prints "upconv <subcommand>: <message>" to stderr as exactly one line (newlines in the
/// message become spaces), and returns `exit_code`.
int report_error(std::string_view subcommand, const std::string& message, int exit_code = 1);

}  // namespace upconv::cli
