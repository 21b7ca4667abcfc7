// The manifest of the PyTorch golden data (tests/data/golden/manifest.txt, written by
// tests/golden/gen_golden.py): one case per line, "<name> op=<op> key=value ...".
#pragma once

#include <fstream>
#include <map>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "upconv/params.hpp"

namespace upconv::testing {

inline const std::string& golden_dir() {
  static const std::string dir = std::string(UPCONV_TEST_DATA_DIR) + "/golden/";
  return dir;
}

struct GoldenCase {
  std::string name, line;
  std::map<std::string, std::string> attrs;

  bool has(const std::string& key) const { return attrs.count(key) != 0; }
  const std::string& at(const std::string& key) const { return attrs.at(key); }
  /// "2,1" -> {2, 1}; a single value fills both axes; `fallback` when the key is absent.
  Pair pair(const std::string& key, Pair fallback) const {
    auto it = attrs.find(key);
    if (it == attrs.end()) return fallback;
    std::vector<int64_t> v;
    std::istringstream s(it->second);
    std::string part;
    while (std::getline(s, part, ',')) v.push_back(std::stoll(part));
    return {v.at(0), v.size() > 1 ? v[1] : v[0]};
  }
  /// File of this case: suffix "x", "w", "b", "i" or "y".
  std::string file(const std::string& suffix) const { return golden_dir() + name + "_" + suffix + ".npy"; }
};

// gtest prints a failing case's parameter with this: the whole manifest line.
inline void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.line; }

inline std::vector<GoldenCase> load_golden_manifest() {
  std::vector<GoldenCase> cases;
  std::ifstream in(golden_dir() + "manifest.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream words(line);
    GoldenCase c;
    c.line = line;
    words >> c.name;
    std::string kv;
    while (words >> kv) {
      const auto eq = kv.find('=');
      c.attrs[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace upconv::testing
