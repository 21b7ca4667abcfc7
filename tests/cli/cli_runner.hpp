// Test helper: runs the built `upconv` binary (path from the UPCONV_CLI_PATH compile definition)
// and captures its exit code, stdout and stderr.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "upconv/tensor.hpp"

namespace upconv::test {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  /// Lines of stderr (a trailing newline does not start a new line).
  std::vector<std::string> err_lines() const;
  /// "exit 1, stderr: '...', stdout: '...'" for failure messages.
  std::string describe() const;
};

/// A per-test scratch directory, removed on destruction.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  const std::filesystem::path& dir() const { return dir_; }
  /// Writes raw bytes to `name` and returns its path.
  std::string write_bytes(const std::string& name, const std::string& bytes) const;
  /// Writes a tensor as .npy to `name` and returns its path.
  std::string write(const std::string& name, const Tensor& t) const;
  std::string write(const std::string& name, const IndexTensor& t) const;

 private:
  std::filesystem::path dir_;
};

/// Runs `upconv args...` with stdin from /dev/null; stdout and stderr are captured through
/// files named after `capture_dir` (beside it, not inside it).
CliResult run_cli(const std::vector<std::string>& args, const std::filesystem::path& capture_dir);

/// Deterministic values in [-1, 1) for test inputs.
Tensor random_tensor(Shape shape, uint32_t seed);

}  // namespace upconv::test
