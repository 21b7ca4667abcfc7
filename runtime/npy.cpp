// NumPy .npy reader and writer. The format: 6-byte magic "\x93NUMPY", a major/minor version, a
// little-endian header length (uint16 for 1.0, uint32 for 2.0/3.0), then a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces and a newline,
// then the raw elements. The header is parsed by hand (a tiny recursive-descent parser of exactly
// that dict grammar), and every size in it is checked against the real file size before any
// buffer is allocated.
#include "upconv/npy.hpp"

#include <unistd.h>

#include <atomic>
#include <bit>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>

namespace upconv::npy {

// Elements are copied to and from memory as they are; a big-endian host would need swaps.
static_assert(std::endian::native == std::endian::little, "the .npy I/O assumes a little-endian host");

const char* to_string(DType dtype) noexcept { return dtype == DType::int64 ? "int64" : "float32"; }

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr size_t kPreambleV1 = 10;  // magic(6) + version(2) + uint16 length
constexpr size_t kPreambleV2 = 12;  // magic(6) + version(2) + uint32 length

size_t dtype_bytes(DType dtype) { return dtype == DType::int64 ? 8 : 4; }

Status error(const std::string& name, const std::string& what) {
  return invalid_argument(name + ": " + what);
}

/// The value of a header dict entry.
struct Value {
  enum class Kind { string, boolean, tuple } kind = Kind::string;
  std::string text;
  bool flag = false;
  Shape dims;
};

/// Recursive-descent parser of the header dict. Errors carry a short description only; the
/// caller prefixes the file name.
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : s_(text) {}

  /// Parses the whole dict into the three known keys; unknown or repeated keys are errors.
  Status parse(std::optional<std::string>& descr, std::optional<bool>& fortran, std::optional<Shape>& shape) {
    skip_ws();
    if (!eat('{')) return fail("header does not start with '{'");
    skip_ws();
    while (!eat('}')) {
      std::string key;
      UPCONV_RETURN_IF_ERROR(parse_string(key));
      skip_ws();
      if (!eat(':')) return fail("expected ':' after key '" + key + "'");
      skip_ws();
      Value v;
      UPCONV_RETURN_IF_ERROR(parse_value(v));
      if (key == "descr") {
        if (descr || v.kind != Value::Kind::string) return fail("'descr' must appear once, as a string");
        descr = v.text;
      } else if (key == "fortran_order") {
        if (fortran || v.kind != Value::Kind::boolean) return fail("'fortran_order' must appear once, as True or False");
        fortran = v.flag;
      } else if (key == "shape") {
        if (shape || v.kind != Value::Kind::tuple) return fail("'shape' must appear once, as a tuple");
        shape = std::move(v.dims);
      } else {
        return fail("unexpected header key '" + key + "'");
      }
      skip_ws();
      if (eat(',')) {
        skip_ws();
        continue;
      }
      skip_ws();
      if (!eat('}')) return fail("expected ',' or '}' in header dict");
      break;
    }
    skip_ws();
    if (pos_ != s_.size()) return fail("unexpected text after the header dict");
    return {};
  }

 private:
  Status fail(const std::string& what) const {
    return invalid_argument("bad header: " + what + " (at byte " + std::to_string(pos_) + ")");
  }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) ++pos_;
  }
  bool eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool eat_word(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }

  Status parse_string(std::string& out) {
    if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) return fail("expected a quoted string");
    const char quote = s_[pos_++];
    const size_t end = s_.find(quote, pos_);
    if (end == std::string_view::npos) return fail("unterminated string");
    out = std::string(s_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return {};
  }

  Status parse_value(Value& v) {
    if (pos_ < s_.size() && (s_[pos_] == '\'' || s_[pos_] == '"')) {
      v.kind = Value::Kind::string;
      return parse_string(v.text);
    }
    if (eat_word("True") || eat_word("False")) {
      v.kind = Value::Kind::boolean;
      v.flag = s_[pos_ - 1] == 'e' && s_[pos_ - 2] == 'u';  // "True" ends in "ue", "False" in "se"
      return {};
    }
    if (eat('(')) {
      v.kind = Value::Kind::tuple;
      return parse_tuple_rest(v.dims);
    }
    if (pos_ < s_.size() && s_[pos_] == '[') return fail("structured dtypes are not supported");
    return fail("expected a string, True, False or a tuple");
  }

  // After '(' : non-negative integers separated by commas, optional trailing comma, ')'.
  Status parse_tuple_rest(Shape& dims) {
    skip_ws();
    while (!eat(')')) {
      int64_t value = 0;
      UPCONV_RETURN_IF_ERROR(parse_dim(value));
      dims.push_back(value);
      skip_ws();
      if (eat(',')) {
        skip_ws();
        continue;
      }
      if (!eat(')')) return fail("expected ',' or ')' in shape");
      break;
    }
    return {};
  }

  Status parse_dim(int64_t& value) {
    if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') return fail("shape entries must be non-negative integers");
    value = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      const int digit = s_[pos_++] - '0';
      if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) return fail("shape dimension overflows int64");
      value = value * 10 + digit;
    }
    eat('L');  // Python 2 long literal, as old NumPy versions wrote it
    return {};
  }

  std::string_view s_;
  size_t pos_ = 0;
};

uint64_t read_le(const std::byte* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint64_t>(p[i]);
  return v;
}

Result<DType> dtype_of(const std::string& descr, const std::string& name) {
  if (descr == "<f4") return DType::float32;
  if (descr == "<i8") return DType::int64;
  if (!descr.empty() && descr[0] == '>')
    return error(name, "big-endian data ('" + descr + "') is not supported; save it little-endian ('<')");
  return error(name, "dtype '" + descr + "' is not supported (use float32 '<f4' or int64 '<i8')");
}

/// RAII wrapper so every early return closes the file.
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

struct OpenFile {
  File file;
  uint64_t size = 0;
};

Result<OpenFile> open_for_reading(const std::string& path) {
  std::error_code ec;
  const auto st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) return Status(StatusCode::io_error, path + ": no such file");
  if (!std::filesystem::is_regular_file(st)) return Status(StatusCode::io_error, path + ": not a regular file");
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return Status(StatusCode::io_error, path + ": cannot get file size: " + ec.message());
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) return Status(StatusCode::io_error, path + ": cannot open: " + std::strerror(errno));
  return OpenFile{std::move(f), size};
}

Status read_exact(std::FILE* f, void* dst, size_t bytes, const std::string& path) {
  if (bytes && std::fread(dst, 1, bytes, f) != bytes)
    return Status(StatusCode::io_error, path + ": read failed (file changed or unreadable)");
  return {};
}

/// Reads the preamble and header into `prefix` and parses them. The header is at most
/// kPreambleV2 + kMaxHeaderBytes long, so reading that much (or the whole file, if smaller)
/// bounds the allocation whatever the file claims.
Result<Header> read_header_prefix(std::FILE* f, uint64_t size, const std::string& path, std::string& prefix) {
  prefix.assign(static_cast<size_t>(std::min<uint64_t>(size, kPreambleV2 + kMaxHeaderBytes)), '\0');
  UPCONV_RETURN_IF_ERROR(read_exact(f, prefix.data(), prefix.size(), path));
  return parse_header(std::as_bytes(std::span(prefix.data(), prefix.size())), size, path);
}

template <class T>
Result<BasicTensor<T>> read_typed(const std::string& path, DType want) {
  auto opened = open_for_reading(path);
  if (!opened.ok()) return opened.status();
  std::FILE* f = opened->file.get();
  const uint64_t size = opened->size;

  std::string prefix;
  auto header = read_header_prefix(f, size, path, prefix);
  if (!header.ok()) return header.status();
  if (header->dtype != want)
    return error(path, std::string("dtype is ") + to_string(header->dtype) + ", expected " + to_string(want));
  if (std::fseek(f, static_cast<long>(header->data_offset), SEEK_SET) != 0)
    return Status(StatusCode::io_error, path + ": seek failed");
  // Safe to allocate now: element_count * sizeof(T) was checked against the file size.
  std::vector<T> data(static_cast<size_t>(header->element_count));
  UPCONV_RETURN_IF_ERROR(read_exact(f, data.data(), data.size() * sizeof(T), path));
  return BasicTensor<T>::create(header->shape, std::move(data));
}

std::string header_text(DType dtype, const Shape& shape) {
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i) dims += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dims += ",";
  return std::string("{'descr': '") + (dtype == DType::int64 ? "<i8" : "<f4") +
         "', 'fortran_order': False, 'shape': (" + dims + "), }";
}

template <class T>
std::string encode_typed(const BasicTensor<T>& t, DType dtype) {
  std::string header = header_text(dtype, t.shape());
  // Pad with spaces and a final newline so the data starts on a 64-byte boundary, as NumPy does.
  const bool v2 = header.size() + 1 + kPreambleV1 > 0xffff;
  const size_t pre = v2 ? kPreambleV2 : kPreambleV1;
  const size_t total = (pre + header.size() + 1 + 63) / 64 * 64;
  header.append(total - pre - header.size() - 1, ' ');
  header.push_back('\n');
  std::string out(kMagic);
  out.push_back(static_cast<char>(v2 ? 2 : 1));
  out.push_back(0);
  const uint64_t len = header.size();
  for (size_t i = 0; i < (v2 ? 4u : 2u); ++i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xff));
  out += header;
  const size_t data_bytes = static_cast<size_t>(t.size()) * sizeof(T);
  const size_t at = out.size();
  out.resize(at + data_bytes);
  if (data_bytes) std::memcpy(out.data() + at, t.data(), data_bytes);
  return out;
}

Status write_atomically(const std::string& path, const std::string& bytes) {
  static std::atomic<unsigned> counter{0};
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  auto fail = [&](const std::string& what) {
    std::remove(tmp.c_str());
    return Status(StatusCode::io_error, path + ": " + what);
  };
  {
    File f(std::fopen(tmp.c_str(), "wb"));
    if (!f) return Status(StatusCode::io_error, path + ": cannot create: " + std::strerror(errno));
    if (std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size()) return fail("write failed");
    if (std::fflush(f.get()) != 0) return fail(std::string("write failed: ") + std::strerror(errno));
    if (std::fclose(f.release()) != 0) return fail("close failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return fail(std::string("cannot rename: ") + std::strerror(errno));
  return {};
}

}  // namespace

Result<Header> parse_header(std::span<const std::byte> prefix, uint64_t file_size, const std::string& name) {
  if (file_size < kPreambleV1 || prefix.size() < std::min<uint64_t>(file_size, kPreambleV1))
    return error(name, "truncated: " + std::to_string(file_size) + " bytes is shorter than the .npy preamble");
  if (std::memcmp(prefix.data(), kMagic.data(), kMagic.size()) != 0)
    return error(name, "not a .npy file (bad magic)");
  const int major = static_cast<int>(prefix[6]), minor = static_cast<int>(prefix[7]);
  if (major < 1 || major > 3 || minor != 0)
    return error(name, "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor));
  const size_t pre = major == 1 ? kPreambleV1 : kPreambleV2;
  if (file_size < pre || prefix.size() < pre)
    return error(name, "truncated: " + std::to_string(file_size) + " bytes is shorter than the .npy preamble");
  const uint64_t header_len = read_le(prefix.data() + 8, major == 1 ? 2 : 4);
  if (header_len > kMaxHeaderBytes)
    return error(name, "header length " + std::to_string(header_len) + " is implausible (limit " +
                           std::to_string(kMaxHeaderBytes) + ")");
  const uint64_t data_offset = pre + header_len;
  if (data_offset > file_size)
    return error(name, "truncated: header needs " + std::to_string(data_offset) + " bytes but the file has " +
                           std::to_string(file_size));
  if (prefix.size() < data_offset) return error(name, "header not fully read");

  const std::string_view text(reinterpret_cast<const char*>(prefix.data()) + pre, header_len);
  std::optional<std::string> descr;
  std::optional<bool> fortran;
  std::optional<Shape> shape;
  if (Status s = HeaderParser(text).parse(descr, fortran, shape); !s.ok()) return error(name, s.message());
  if (!descr || !fortran || !shape) return error(name, "bad header: it needs the keys 'descr', 'fortran_order' and 'shape'");
  auto dtype = dtype_of(*descr, name);
  if (!dtype.ok()) return dtype.status();
  if (*fortran) return error(name, "Fortran-order arrays are not supported; save it in C order");

  // Overflow-checked element count, then the exact byte size the data section must have.
  const uint64_t elem = dtype_bytes(*dtype);
  uint64_t count = 1;
  for (int64_t d : *shape) {
    if (d != 0 && count > std::numeric_limits<uint64_t>::max() / elem / static_cast<uint64_t>(d))
      return error(name, "shape " + shape_to_string(*shape) + " has an element count that overflows");
    count *= static_cast<uint64_t>(d);
  }
  const uint64_t data_bytes = file_size - data_offset;
  if (count * elem != data_bytes)
    return error(name, "shape " + shape_to_string(*shape) + " of " + to_string(*dtype) + " needs " +
                           std::to_string(count * elem) + " data bytes but the file has " +
                           std::to_string(data_bytes) + (count * elem > data_bytes ? " (truncated)" : ""));
  return Header{*dtype, std::move(*shape), data_offset, static_cast<int64_t>(count)};
}

Result<Header> read_header(const std::string& path) {
  auto opened = open_for_reading(path);
  if (!opened.ok()) return opened.status();
  std::string prefix;
  return read_header_prefix(opened->file.get(), opened->size, path, prefix);
}

Result<Tensor> read_float32(const std::string& path) { return read_typed<float>(path, DType::float32); }
Result<IndexTensor> read_int64(const std::string& path) { return read_typed<int64_t>(path, DType::int64); }

std::string encode(const Tensor& tensor) { return encode_typed(tensor, DType::float32); }
std::string encode(const IndexTensor& tensor) { return encode_typed(tensor, DType::int64); }

Status write(const std::string& path, const Tensor& tensor) { return write_atomically(path, encode(tensor)); }
Status write(const std::string& path, const IndexTensor& tensor) { return write_atomically(path, encode(tensor)); }

}  // namespace upconv::npy
