// `upconv bench` end to end on the tiny layers of bench/testdata/tiny_shapes.json: the JSON the
// issue specifies (name, backend, threads, median_ms, gflops, gbps per layer), the table, the
// Vulkan dispatch repeats, and bad flags or shapes files failing with one line that names them.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bench/json_reader.hpp"
#include "cli/cli_runner.hpp"
#include "upconv/upconv.hpp"

namespace upconv::test {
namespace {

const std::string kTinyShapes = UPCONV_BENCH_TESTDATA "/tiny_shapes.json";

bench::JsonValue read_json(const std::string& path) {
  std::ifstream f(path);
  std::stringstream text;
  text << f.rdbuf();
  auto parsed = bench::parse_json(text.str(), path);
  EXPECT_TRUE(parsed.ok()) << parsed.status().to_string();
  return parsed.ok() ? *parsed : bench::JsonValue{};
}

double number_of(const bench::JsonValue& object, const char* key) {
  const bench::JsonValue* v = object.find(key);
  EXPECT_TRUE(v && v->is_number()) << key;
  return v && v->is_number() ? v->number() : std::nan("");
}

std::string string_of(const bench::JsonValue& object, const char* key) {
  const bench::JsonValue* v = object.find(key);
  EXPECT_TRUE(v && v->is_string()) << key;
  return v && v->is_string() ? v->string() : "";
}

TEST(CliBench, CpuWritesEveryLayerWithTheIssuesFields) {
  ScratchDir dir;
  const std::string json = dir.path("b.json");
  const CliResult r = run_cli({"bench", "--backend", "cpu", "--threads", "1", "--repetitions", "2", "--shapes",
                               kTinyShapes, "--json", json},
                              dir.dir());
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  const bench::JsonValue root = read_json(json);
  const bench::JsonValue* results = root.find("results");
  ASSERT_TRUE(results && results->is_array());
  std::set<std::string> names;
  for (const bench::JsonValue& row : results->array()) {
    const std::string name = string_of(row, "name");
    names.insert(name);
    SCOPED_TRACE(name);
    EXPECT_EQ(string_of(row, "backend"), "cpu");
    EXPECT_EQ(number_of(row, "threads"), 1.0);
    EXPECT_GT(number_of(row, "median_ms"), 0.0);
    EXPECT_GE(number_of(row, "gflops"), 0.0);
    EXPECT_GT(number_of(row, "gbps"), 0.0);
    EXPECT_LE(number_of(row, "max_rel_error"), 1e-4);
    EXPECT_EQ(row.find("error"), nullptr);
    EXPECT_NE(r.out.find(name), std::string::npos) << "the table lacks the layer";
  }
  EXPECT_EQ(names, (std::set<std::string>{"tiny_deconv", "tiny_dilated", "tiny_shuffle", "tiny_unshuffle"}));
  // Convolutions count FLOPs, permutations none.
  for (const bench::JsonValue& row : results->array()) {
    const bool conv = string_of(row, "op").rfind("conv", 0) == 0;
    EXPECT_EQ(number_of(row, "gflops") > 0, conv) << string_of(row, "name");
  }
  const bench::JsonValue* machine = root.find("machine");
  ASSERT_TRUE(machine);
  EXPECT_EQ(machine->find("dispatch_repeats"), nullptr) << "a CPU run has no dispatches";
}

// Dispatch repeats: the flag's count is what the JSON and the header report, and results stay
// verified; without the flag a CPU-type device (lavapipe) takes 1, a GPU 20.
TEST(CliBench, VulkanDispatchRepeats) {
  if (!Context::create({.backend = BackendKind::vulkan}).ok()) GTEST_SKIP() << "no Vulkan device";
  ScratchDir dir;
  for (const char* asked : {"3", ""}) {
    SCOPED_TRACE(std::string("--dispatch-repeats '") + asked + "'");
    const std::string json = dir.path("v.json");
    std::vector<std::string> args = {"bench", "--backend", "vulkan", "--repetitions", "2", "--shapes", kTinyShapes,
                                     "--json", json};
    if (*asked) args.insert(args.end(), {"--dispatch-repeats", asked});
    const CliResult r = run_cli(args, dir.dir());
    ASSERT_EQ(r.exit_code, 0) << r.describe();
    const bench::JsonValue root = read_json(json);
    const bench::JsonValue* machine = root.find("machine");
    ASSERT_TRUE(machine);
    const bool cpu_type = string_of(*machine, "backend").find(", cpu") != std::string::npos;
    const double expected = *asked ? 3.0 : cpu_type ? 1.0 : 20.0;
    EXPECT_EQ(number_of(*machine, "dispatch_repeats"), expected);
    EXPECT_NE(r.out.find(std::to_string(int(expected)) + " dispatch(es) per timed run"), std::string::npos) << r.out;
    const bench::JsonValue* results = root.find("results");
    ASSERT_TRUE(results && results->is_array());
    EXPECT_EQ(results->array().size(), 4u);
    for (const bench::JsonValue& row : results->array()) EXPECT_EQ(string_of(row, "timing"), "device");
  }
}

// Bad flags and shapes files: a non-zero exit below 128 (no crash) and one stderr line that names
// the flag or file and the value.
TEST(CliBench, BadInputFailsWithOneLineNamingIt) {
  ScratchDir dir;
  const std::string bad_json = dir.write_bytes("bad.json", "{\"shapes\": [ {\"name\": \"x\", \"op\": ");
  const std::string unknown_op = dir.write_bytes(
      "op.json", "{\"shapes\": [{\"name\": \"x\", \"op\": \"deconv3d\", \"n\": 1, \"c_in\": 1, \"hw\": [2, 2]}]}");
  struct Case {
    std::vector<std::string> args;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {{"--threads", "0"}, "--threads"},
      {{"--repetitions", "ten"}, "--repetitions"},
      {{"--dispatch-repeats", "0"}, "--dispatch-repeats"},
      {{"--dispatch-repeats", "1001"}, "1001"},
      {{"--precision", "fp64"}, "fp64"},
      {{"--backend", "cuda"}, "cuda"},
      {{"--frobnicate", "1"}, "frobnicate"},
      {{"--shapes", dir.path("missing.json")}, "missing.json"},
      {{"--shapes", bad_json}, "bad.json"},
      {{"--shapes", unknown_op}, "deconv3d"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"bench", "--backend", "cpu", "--shapes", kTinyShapes};
    if (c.args[0] == "--backend" || c.args[0] == "--shapes") args = {"bench"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    std::string cmd = "upconv";
    for (const auto& a : args) cmd += " " + a;
    SCOPED_TRACE(cmd);
    const CliResult r = run_cli(args, dir.dir());
    EXPECT_NE(r.exit_code, 0) << r.describe();
    EXPECT_LT(r.exit_code, 128) << "crashed: " << r.describe();
    const auto lines = r.err_lines();
    ASSERT_EQ(lines.size(), 1u) << r.describe();
    EXPECT_EQ(lines[0].rfind("upconv bench: ", 0), 0u) << lines[0];
    EXPECT_NE(lines[0].find(c.needle), std::string::npos) << "stderr '" << lines[0] << "' lacks '" << c.needle << "'";
  }
}

}  // namespace
}  // namespace upconv::test
