#include "tools/cli_args.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iostream>

namespace upconv::cli {
namespace {

bool contains(std::span<const std::string_view> names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string quoted(std::string_view s) {
  std::string out;  // built piecewise: "'" + s + "'" trips a GCC 12 -Wrestrict false positive
  out.reserve(s.size() + 2);
  out += '\'';
  out += s;
  out += '\'';
  return out;
}

}  // namespace

std::optional<std::string> Flags::get(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

Result<Flags> parse_flags(std::span<const std::string> args, std::span<const std::string_view> allowed,
                          std::span<const std::string_view> known, std::string_view context) {
  Flags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0)
      return invalid_argument("unexpected argument " + quoted(arg) + " (flags are written --name value)");
    std::string name = arg.substr(2), value;
    bool has_value = false;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    if (!contains(allowed, name)) {
      if (contains(known, name)) return invalid_argument("--" + name + " does not apply to " + std::string(context));
      return invalid_argument("unknown flag --" + name);
    }
    if (flags.has(name)) return invalid_argument("--" + name + " is given more than once");
    if (!has_value) {
      if (i + 1 >= args.size()) return invalid_argument("--" + name + " needs a value");
      value = args[++i];
    }
    if (value.empty()) return invalid_argument("--" + name + " has an empty value");
    flags.set(std::move(name), std::move(value));
  }
  return flags;
}

Result<std::vector<int64_t>> parse_int_list(std::string_view flag, std::string_view text) {
  std::vector<int64_t> values;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    const std::string_view item = text.substr(start, comma == std::string_view::npos ? text.npos : comma - start);
    int64_t v = 0;
    const char* first = item.data();
    const char* last = item.data() + item.size();
    if (!item.empty() && *first == '+') ++first;  // from_chars rejects a leading '+'
    const auto [ptr, ec] = std::from_chars(first, last, v);
    if (item.empty() || ec != std::errc() || ptr != last)
      return invalid_argument("--" + std::string(flag) + ": " + quoted(item) + " in " + quoted(text) +
                              " is not an integer" + (ec == std::errc::result_out_of_range ? " in int64 range" : ""));
    values.push_back(v);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return values;
}

Status assign_per_axis(std::string_view flag, const std::vector<int64_t>& values, int spatial_rank, Pair& out) {
  if (values.size() == 1) {
    for (int a = 0; a < spatial_rank; ++a) out[a] = values[0];
    return {};
  }
  if (values.size() == static_cast<size_t>(spatial_rank)) {
    for (int a = 0; a < spatial_rank; ++a) out[a] = values[a];
    return {};
  }
  return invalid_argument("--" + std::string(flag) + " takes 1" +
                          (spatial_rank > 1 ? " or " + std::to_string(spatial_rank) : std::string()) +
                          " value(s) for " + std::to_string(spatial_rank) + " spatial axes, got " +
                          std::to_string(values.size()));
}

Status assign_padding(std::string_view flag, const std::vector<int64_t>& values, int spatial_rank, Pair& begin,
                      Pair& end) {
  const size_t n = values.size(), rank = static_cast<size_t>(spatial_rank);
  if (n == 1 || n == rank) {
    UPCONV_RETURN_IF_ERROR(assign_per_axis(flag, values, spatial_rank, begin));
    return assign_per_axis(flag, values, spatial_rank, end);
  }
  if (n == 2 * rank) {
    for (size_t a = 0; a < rank; ++a) {
      begin[a] = values[a];
      end[a] = values[rank + a];
    }
    return {};
  }
  std::string counts = rank == 1 ? "1 or 2 (begin,end)" : "1, " + std::to_string(rank) + " or " +
                                                              std::to_string(2 * rank) + " (all begins, then all ends)";
  return invalid_argument("--" + std::string(flag) + " takes " + counts + " values, got " + std::to_string(n));
}

Result<ActivationParams> parse_activation(std::string_view text) {
  if (text == "none") return ActivationParams{Activation::none};
  if (text == "relu") return ActivationParams{Activation::relu};
  if (text == "sigmoid") return ActivationParams{Activation::sigmoid};
  if (text == "tanh") return ActivationParams{Activation::tanh};
  if (text == "leaky_relu") return ActivationParams{Activation::leaky_relu};
  constexpr std::string_view prefix = "leaky_relu:";
  if (text.substr(0, prefix.size()) == prefix) {
    const std::string alpha_text(text.substr(prefix.size()));
    char* end = nullptr;
    const float alpha = std::strtof(alpha_text.c_str(), &end);
    if (alpha_text.empty() || end != alpha_text.c_str() + alpha_text.size() || !std::isfinite(alpha))
      return invalid_argument("--activation: leaky_relu slope " + quoted(alpha_text) + " is not a finite number");
    return ActivationParams{Activation::leaky_relu, alpha};
  }
  return invalid_argument("--activation must be none, relu, leaky_relu[:A], sigmoid or tanh, got " + quoted(text));
}

Result<ShuffleMode> parse_shuffle_mode(std::string_view text) {
  if (text == "crd") return ShuffleMode::crd;
  if (text == "dcr") return ShuffleMode::dcr;
  return invalid_argument("--mode must be crd or dcr, got " + quoted(text));
}

Result<BackendKind> parse_backend(std::string_view text) {
  if (text == "auto") return BackendKind::automatic;
  if (text == "cpu") return BackendKind::cpu;
  if (text == "vulkan") return BackendKind::vulkan;
  return invalid_argument("--backend must be auto, cpu or vulkan, got " + quoted(text));
}

Result<Precision> parse_precision(std::string_view text) {
  if (text == "fp32") return Precision::fp32;
  if (text == "fp16") return Precision::fp16;
  return invalid_argument("--precision must be fp32 or fp16, got " + quoted(text));
}

Result<int64_t> parse_positive_int(std::string_view flag, std::string_view text) {
  auto values = parse_int_list(flag, text);
  if (!values.ok()) return values.status();
  if (values->size() != 1 || (*values)[0] < 1)
    return invalid_argument("--" + std::string(flag) + " must be one positive integer, got " + quoted(text));
  return (*values)[0];
}

int report_error(std::string_view subcommand, const std::string& message, int exit_code) {
  std::string line = message;
  std::replace(line.begin(), line.end(), '\n', ' ');
  std::cerr << "upconv " << subcommand << ": " << line << std::endl;
  return exit_code;
}

}  // namespace upconv::cli
