// upconv — NumPy .npy files: the on-disk tensor format of the command-line program.
// Supported: float32 ('<f4') and int64 ('<i8'), C order, little endian, format versions 1.0,
// 2.0 and 3.0. Everything else is rejected with a Status whose message names the file and the
// problem. A malformed header never causes a large allocation: sizes are checked against the
// file size first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "upconv/status.hpp"
#include "upconv/tensor.hpp"

namespace upconv::npy {

/// Element types upconv reads and writes.
enum class DType { float32, int64 };
/// "float32" / "int64".
const char* to_string(DType dtype) noexcept;

/// The parsed header of a .npy file.
struct Header {
  DType dtype = DType::float32;
  Shape shape;
  /// Byte offset of the first element (the size of magic + version + length + header text).
  uint64_t data_offset = 0;
  /// Element count of `shape` (1 for a rank-0 array).
  int64_t element_count = 0;
};

/// Largest header text accepted (NumPy itself writes a few hundred bytes at most and refuses
/// more than 10,000 bytes by default); a larger length field means a corrupt file.
inline constexpr uint64_t kMaxHeaderBytes = 1 << 16;

/// Parses the header at the start of `prefix` — at least the first
/// min(file_size, data_offset) bytes of a file that is `file_size` bytes long in total — and
/// checks that the data section has exactly the size the shape and dtype call for.
/// `name` is used in messages (typically the path).
Result<Header> parse_header(std::span<const std::byte> prefix, uint64_t file_size, const std::string& name);

/// Reads the header of a file without loading the data.
Result<Header> read_header(const std::string& path);

/// Reads a float32 file. Any other dtype is an error naming the dtype found.
Result<Tensor> read_float32(const std::string& path);
/// Reads an int64 file. Any other dtype is an error naming the dtype found.
Result<IndexTensor> read_int64(const std::string& path);

/// Serialises a tensor to .npy bytes (version 1.0, 64-byte aligned header).
std::string encode(const Tensor& tensor);
std::string encode(const IndexTensor& tensor);

/// Writes a tensor as .npy, atomically: the bytes go to a temporary file in the same directory
/// that is renamed over `path` only once it is complete, so on failure no file at `path` is
/// created or changed.
Status write(const std::string& path, const Tensor& tensor);
Status write(const std::string& path, const IndexTensor& tensor);

}  // namespace upconv::npy
