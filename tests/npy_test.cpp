// The .npy reader/writer: round trips, the header variants NumPy writes, and one test per class
// of malformed file (each written byte by byte here, so the test shows exactly what is wrong).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "upconv/npy.hpp"

namespace {

namespace fs = std::filesystem;
using upconv::IndexTensor;
using upconv::Shape;
using upconv::Tensor;

class NpyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("upconv_npy_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::string write_bytes(const std::string& name, const std::string& bytes) const {
    std::ofstream(path(name), std::ios::binary) << bytes;
    return path(name);
  }

  /// A complete file: preamble of `version`, header text padded with spaces + '\n', then `data`.
  static std::string make_npy(const std::string& dict, const std::string& data, int version = 1) {
    std::string header = dict;
    const size_t pre = version == 1 ? 10 : 12;
    while ((pre + header.size() + 1) % 64) header.push_back(' ');
    header.push_back('\n');
    std::string out = "\x93NUMPY";
    out.push_back(static_cast<char>(version));
    out.push_back(0);
    for (size_t i = 0; i < (version == 1 ? 2u : 4u); ++i) out.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xff));
    return out + header + data;
  }

  /// Expects reading `file` as float32 to fail with a message containing `needle` and the path.
  static void expect_float_error(const std::string& file, const std::string& needle) {
    auto r = upconv::npy::read_float32(file);
    ASSERT_FALSE(r.ok()) << "file " << file << " unexpectedly parsed";
    EXPECT_NE(r.status().message().find(needle), std::string::npos)
        << "message '" << r.status().message() << "' lacks '" << needle << "'";
    EXPECT_NE(r.status().message().find(file), std::string::npos) << r.status().message();
    EXPECT_EQ(r.status().message().find('\n'), std::string::npos) << "message must be one line";
  }

  fs::path dir_;
};

std::string floats(std::initializer_list<float> v) {
  return std::string(reinterpret_cast<const char*>(std::data(v)), v.size() * sizeof(float));
}

TEST_F(NpyTest, Float32RoundTrip) {
  Tensor t({2, 3, 1, 2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, -11.5f});
  ASSERT_TRUE(upconv::npy::write(path("t.npy"), t).ok());
  auto r = upconv::npy::read_float32(path("t.npy"));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->shape(), t.shape());
  EXPECT_EQ(r->storage(), t.storage());
  // NumPy's alignment: the data section starts on a 64-byte boundary.
  auto h = upconv::npy::read_header(path("t.npy"));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->data_offset % 64, 0u);
}

TEST_F(NpyTest, Int64RoundTripAndRankEdgeCases) {
  IndexTensor idx({3}, {0, -1, int64_t{1} << 40});
  ASSERT_TRUE(upconv::npy::write(path("i.npy"), idx).ok());
  auto r = upconv::npy::read_int64(path("i.npy"));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->shape(), Shape{3});
  EXPECT_EQ(r->storage(), idx.storage());

  Tensor scalar(Shape{}, {42.0f});
  ASSERT_TRUE(upconv::npy::write(path("s.npy"), scalar).ok());
  auto s = upconv::npy::read_float32(path("s.npy"));
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  EXPECT_EQ(s->shape(), Shape{});
  EXPECT_EQ(s->storage(), std::vector<float>{42.0f});

  Tensor empty(Shape{0, 4});
  ASSERT_TRUE(upconv::npy::write(path("e.npy"), empty).ok());
  auto e = upconv::npy::read_float32(path("e.npy"));
  ASSERT_TRUE(e.ok()) << e.status().to_string();
  EXPECT_EQ(e->shape(), (Shape{0, 4}));
}

TEST_F(NpyTest, AcceptsHeaderVariantsNumpyWrites) {
  const std::string data = floats({1, 2});
  for (int version : {1, 2, 3}) {
    for (const std::string dict : {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
                                   "{\"shape\": (1, 2), \"fortran_order\": False, \"descr\": \"<f4\"}",
                                   "{'descr':'<f4','fortran_order':False,'shape':(2L,)}"}) {
      const auto file = write_bytes("v.npy", make_npy(dict, data, version));
      auto r = upconv::npy::read_float32(file);
      ASSERT_TRUE(r.ok()) << "version " << version << " dict " << dict << ": " << r.status().to_string();
      EXPECT_EQ(r->storage(), (std::vector<float>{1, 2}));
    }
  }
}

TEST_F(NpyTest, RejectsMissingFileAndDirectory) {
  auto r = upconv::npy::read_float32(path("absent.npy"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), upconv::StatusCode::io_error);
  EXPECT_NE(r.status().message().find("no such file"), std::string::npos) << r.status().message();
  auto d = upconv::npy::read_float32(dir_.string());
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("not a regular file"), std::string::npos) << d.status().message();
}

TEST_F(NpyTest, RejectsTruncatedFiles) {
  const std::string good = make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", floats({1, 2, 3, 4}));
  expect_float_error(write_bytes("empty.npy", ""), "truncated");
  expect_float_error(write_bytes("pre.npy", good.substr(0, 7)), "truncated");
  expect_float_error(write_bytes("header.npy", good.substr(0, 40)), "truncated");
  expect_float_error(write_bytes("data.npy", good.substr(0, good.size() - 3)), "truncated");
  // A version-2 preamble cut inside its 4-byte length field.
  expect_float_error(write_bytes("v2pre.npy", make_npy("{}", "", 2).substr(0, 11)), "truncated");
}

TEST_F(NpyTest, RejectsTrailingData) {
  const auto file =
      write_bytes("long.npy", make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", floats({1, 2})));
  expect_float_error(file, "needs 4 data bytes but the file has 8");
}

TEST_F(NpyTest, RejectsBadMagicAndVersion) {
  std::string bad = make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", floats({1}));
  bad[1] = 'X';
  expect_float_error(write_bytes("magic.npy", bad), "bad magic");
  expect_float_error(write_bytes("text.npy", "hello, this is not an array at all"), "bad magic");
  std::string v9 = make_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", floats({1}));
  v9[6] = 9;
  expect_float_error(write_bytes("v9.npy", v9), "version 9.0");
}

TEST_F(NpyTest, RejectsMalformedHeaders) {
  const std::string d = floats({1});
  const std::pair<std::string, std::string> cases[] = {
      {"[1, 2]", "bad header"},
      {"{'descr': '<f4', 'fortran_order': False}", "needs the keys"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", "bad header"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", "'descr' must appear once"},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': (1,)}", "bad header"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", "non-negative"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,)}", "bad header"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "bad header"},
      {"{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", "bad header"},
      {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", "structured"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk", "after the header"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", "overflows int64"},
  };
  int i = 0;
  for (const auto& [dict, needle] : cases) {
    SCOPED_TRACE("header: " + dict);
    std::string name = std::to_string(i++);  // not "h" + ...: GCC 12 -Wrestrict false positive
    name += ".npy";
    expect_float_error(write_bytes(name, make_npy(dict, d)), needle);
  }
}

TEST_F(NpyTest, RejectsBigEndianFortranAndOtherDtypes) {
  expect_float_error(write_bytes("be.npy", make_npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
                                                    floats({1}))),
                     "big-endian");
  expect_float_error(write_bytes("f.npy", make_npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                                                   floats({1, 2, 3, 4}))),
                     "Fortran");
  expect_float_error(write_bytes("f8.npy", make_npy("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
                                                    floats({1, 2}))),
                     "dtype '<f8' is not supported");
  expect_float_error(write_bytes("u1.npy", make_npy("{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }",
                                                    floats({1}))),
                     "dtype '|u1'");
  // A valid int64 file read as float32 (and the reverse) names both dtypes.
  IndexTensor idx({1}, {7});
  ASSERT_TRUE(upconv::npy::write(path("i.npy"), idx).ok());
  expect_float_error(path("i.npy"), "dtype is int64, expected float32");
  ASSERT_TRUE(upconv::npy::write(path("x.npy"), Tensor({1}, {1.0f})).ok());
  auto r = upconv::npy::read_int64(path("x.npy"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("dtype is float32, expected int64"), std::string::npos) << r.status().message();
}

TEST_F(NpyTest, RejectsHugeShapesWithoutAllocating) {
  // Each shape would need exabytes; the check against the file size must come first.
  expect_float_error(write_bytes("huge.npy", make_npy("{'descr': '<f4', 'fortran_order': False, "
                                                      "'shape': (4294967296, 4294967296), }",
                                                      floats({1}))),
                     "overflows");
  expect_float_error(write_bytes("big.npy", make_npy("{'descr': '<f4', 'fortran_order': False, "
                                                     "'shape': (1000000, 1000000), }",
                                                     floats({1}))),
                     "needs 4000000000000 data bytes");
}

TEST_F(NpyTest, RejectsAbsurdHeaderLength) {
  // Version 2 with a 4 GiB header length field, in a tiny file.
  std::string f = "\x93NUMPY\x02";
  f.push_back(0);
  f += std::string("\xff\xff\xff\xff", 4);
  f += "{}";
  expect_float_error(write_bytes("len.npy", f), "implausible");
  // Version 1 whose length points past the end of the file.
  std::string g = "\x93NUMPY\x01";
  g.push_back(0);
  g += std::string("\xf0\x00", 2);
  g += "{}";
  expect_float_error(write_bytes("len1.npy", g), "truncated");
}

TEST_F(NpyTest, FailedWriteLeavesNoFile) {
  const std::string target = path("missing_dir/out.npy");
  auto s = upconv::npy::write(target, Tensor({1}, {1.0f}));
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), upconv::StatusCode::io_error);
  EXPECT_FALSE(fs::exists(target));
  // No temporary left behind in the target directory either.
  ASSERT_TRUE(upconv::npy::write(path("ok.npy"), Tensor({1}, {1.0f})).ok());
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir_)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST_F(NpyTest, RandomCorruptionNeverCrashes) {
  // Mutated and truncated copies of valid files must either parse to a consistent tensor or fail
  // with a one-line message; under ASan this also proves no out-of-bounds read.
  const std::string originals[] = {upconv::npy::encode(Tensor({2, 3}, {1, 2, 3, 4, 5, 6})),
                                   upconv::npy::encode(IndexTensor({3}, {7, 8, 9}))};
  const uint32_t seed = 20261122;
  std::mt19937 rng(seed);
  int parsed = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::string bytes = originals[iter % 2];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % bytes.size();
      switch (rng() % 3) {
        case 0: bytes[at] = static_cast<char>(rng() & 0xff); break;  // random byte
        case 1: bytes.resize(at); break;                                // truncate
        default: bytes[at] = "0123456789(),:'{} TF<>fi"[rng() % 24]; break;  // plausible header char
      }
      if (bytes.empty()) bytes.push_back('x');
    }
    // The header parser on the bytes in memory every time; the whole file path every 16th time
    // (file I/O dominates the run time).
    auto h = upconv::npy::parse_header(std::as_bytes(std::span(bytes.data(), bytes.size())), bytes.size(), "fuzz");
    if (h.ok()) {
      EXPECT_EQ(h->data_offset + static_cast<uint64_t>(h->element_count) * (h->dtype == upconv::npy::DType::int64 ? 8 : 4),
                bytes.size());
    }
    if (iter % 16) continue;
    const auto file = write_bytes("fuzz.npy", bytes);
    auto r = upconv::npy::read_float32(file);
    if (r.ok()) {
      ++parsed;
      auto count = upconv::checked_element_count(r->shape());
      ASSERT_TRUE(count.ok());
      EXPECT_EQ(*count, r->size()) << "seed " << seed << " iteration " << iter;
    } else {
      EXPECT_EQ(r.status().message().find('\n'), std::string::npos) << "seed " << seed << " iteration " << iter;
    }
    (void)upconv::npy::read_int64(file);
  }
  EXPECT_GT(parsed, 0);  // some mutations only touch data bytes or padding
}

}  // namespace
