// safetensors: round trips, the Python-written fixture, Python reading our files, every
// validation error, and atomic saves.
#include <doctest/doctest.h>

#include "test_util.h"

#include <cstdio>
#include <cstdlib>
#include <ember.h>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "io/io.h"
#include "nn/module.h"

using namespace ember;
namespace fs = std::filesystem;

namespace {

using test::contains;
using test::error_of;
using test::values;

// A fresh empty directory for one test.
fs::path scratch_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("ember_test_safetensors_" + name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// A file image: the 8-byte length, the header text, then data.
std::string image(const std::string& header, const std::string& data = "") {
  std::string out;
  const uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out + header + data;
}

std::string parse_error(const std::string& bytes) {
  return error_of([&] { deserialize_safetensors(bytes, "bad.safetensors"); });
}

const Tensor& find(const nn::StateDict& d, const std::string& name) {
  for (const auto& [n, t] : d)
    if (n == name) return t;
  FAIL("no tensor " << name);
  static Tensor none;
  return none;
}

bool python_has_safetensors() {
  return std::system("python3 -c 'import safetensors.numpy, numpy' >/dev/null 2>&1") == 0;
}

struct TwoParams : nn::Module {
  Tensor w, b;
  TwoParams() {
    w = register_parameter("w", randn({3, 2}));
    b = register_parameter("b", randn({2}));
  }
};

}  // namespace

TEST_CASE("safetensors: round trip of every dtype, 0-d and empty tensors, and metadata") {
  fs::path dir = scratch_dir("roundtrip");
  const std::string path = (dir / "all.safetensors").string();
  Tensor strided = arange(12, kFloat32).reshape({3, 4}).t();  // non-contiguous input
  nn::StateDict in = {
      {"f32", tensor({1.5f, -2.0f, 3.25f})},
      {"f64", tensor(std::vector<double>{0.1, 0.2, 1e300, -1e-300}).reshape({2, 2})},
      {"i64", tensor(std::vector<int64_t>{-(int64_t{1} << 62), 0, 42})},
      {"bool", tensor(std::vector<bool>{true, false, true, true})},
      {"scalar", full({}, 7.0, kFloat64)},
      {"empty", zeros({0, 5})},
      {"empty_i64", zeros({2, 0}, kInt64)},
      {"strided", strided},
  };
  save(in, path, {{"format", "pt"}, {"note", "ünïcode ok"}});
  SafetensorsFile out = load_with_metadata(path);
  REQUIRE(out.tensors.size() == in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    CAPTURE(in[i].first);
    CHECK(out.tensors[i].first == in[i].first);  // saved order is kept
    const Tensor& t = out.tensors[i].second;
    CHECK(t.dtype() == in[i].second.dtype());
    CHECK(t.sizes() == in[i].second.sizes());
    CHECK(values(t) == values(in[i].second));
  }
  CHECK(find(out.tensors, "scalar").dim() == 0);
  CHECK(out.metadata.at("format") == "pt");
  CHECK(out.metadata.at("note") == "ünïcode ok");
  CHECK(load(path).size() == in.size());
  // The data region starts 8-byte aligned, as Python's writer makes it.
  std::ifstream f(path, std::ios::binary);
  uint64_t n = 0;
  f.read(reinterpret_cast<char*>(&n), 8);
  CHECK(n % 8 == 0);
  fs::remove_all(dir);
}

TEST_CASE("safetensors: modules save and load by name, strictly or not") {
  fs::path dir = scratch_dir("module");
  const std::string path = (dir / "m.safetensors").string();
  manual_seed(3);
  TwoParams a;
  save(a, path);
  TwoParams b;
  CHECK(values(b.w) != values(a.w));
  load(b, path);
  CHECK(values(b.w) == values(a.w));
  CHECK(values(b.b) == values(a.b));
  save(nn::StateDict{{"w", zeros({3, 2})}}, path);  // overwrites in place
  CHECK(contains(error_of([&] { load(b, path); }), "missing key \"b\""));
  load(b, path, /*strict=*/false);
  CHECK(values(b.w) == std::vector<double>(6, 0.0));
  CHECK(values(b.b) == values(a.b));
  fs::remove_all(dir);
}

TEST_CASE("safetensors: reads a file written by Python's safetensors") {
  const std::string path = std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/python_written.safetensors";
  SafetensorsFile f = load_with_metadata(path);
  CHECK(f.metadata.at("format") == "np");
  CHECK(f.metadata.at("author") == "ember tests");
  REQUIRE(f.tensors.size() == 6);
  const Tensor& w = find(f.tensors, "weight");
  CHECK(w.dtype() == kFloat32);
  CHECK(w.sizes() == Shape{2, 3});
  CHECK(values(w) == std::vector<double>{-1.0, -0.5, 0.0, 0.5, 1.0, 1.5});
  CHECK(find(f.tensors, "double").dtype() == kFloat64);
  CHECK(values(find(f.tensors, "double")) == std::vector<double>{0.1, -2.5, 3.0e10});
  CHECK(find(f.tensors, "ids").dtype() == kInt64);
  Tensor ids = find(f.tensors, "ids");
  CHECK(ids.data_ptr<int64_t>()[3] == (int64_t{1} << 40));
  CHECK(ids.data_ptr<int64_t>()[0] == -3);
  CHECK(find(f.tensors, "mask").dtype() == kBool);
  CHECK(values(find(f.tensors, "mask")) == std::vector<double>{1, 0, 0, 1});
  CHECK(find(f.tensors, "scalar").dim() == 0);
  CHECK(find(f.tensors, "scalar").item<float>() == 3.25f);
  CHECK(find(f.tensors, "empty").sizes() == Shape{0, 4});
}

TEST_CASE("safetensors: Python's safetensors reads ember's files") {
  if (!python_has_safetensors()) {
    MESSAGE("skipped: python safetensors not installed");
    return;
  }
  fs::path dir = scratch_dir("python");
  const std::string path = (dir / "from_ember.safetensors").string();
  save(nn::StateDict{{"a", tensor(std::vector<float>{1, 2, 3, 4.5}).reshape({2, 2})},
                     {"d", tensor({0.25, -8.0})},
                     {"i", tensor(std::vector<int64_t>{5, -6})},
                     {"m", tensor(std::vector<bool>{false, true})},
                     {"s", full({}, 2.0)},
                     {"e", zeros({0})}},
       path, {{"k", "v"}});
  const std::string script = (dir / "check.py").string();
  std::ofstream(script) << "import sys, numpy as np\n"
                           "from safetensors import safe_open\n"
                           "from safetensors.numpy import load_file\n"
                           "t = load_file(sys.argv[1])\n"
                           "assert t['a'].dtype == np.float32 and t['a'].tolist() == [[1, 2], [3, 4.5]], t['a']\n"
                           "assert t['d'].dtype == np.float64 and t['d'].tolist() == [0.25, -8.0]\n"
                           "assert t['i'].dtype == np.int64 and t['i'].tolist() == [5, -6]\n"
                           "assert t['m'].dtype == np.bool_ and t['m'].tolist() == [False, True]\n"
                           "assert t['s'].shape == () and float(t['s']) == 2.0\n"
                           "assert t['e'].shape == (0,)\n"
                           "with safe_open(sys.argv[1], 'np') as f:\n"
                           "    assert f.metadata() == {'k': 'v'}, f.metadata()\n";
  const int rc = std::system(("python3 " + script + " " + path).c_str());
  CHECK_MESSAGE(rc == 0, "python could not read ember's file (exit status " << rc << ")");
  fs::remove_all(dir);
}

TEST_CASE("safetensors: every malformed file is rejected with a clear error") {
  const std::string f32x2 = std::string(8, '\0');
  // (Built with a stream: GCC 12 gives a false -Wrestrict on "literal" + std::string&&.)
  auto entry = [](const std::string& name, const std::string& dtype, const std::string& shape, int b, int e) {
    std::ostringstream os;
    os << '"' << name << "\":{\"dtype\":\"" << dtype << "\",\"shape\":" << shape << ",\"data_offsets\":[" << b << ","
       << e << "]}";
    return os.str();
  };
  // A header object holding the given entries.
  auto obj = [](const std::string& a, const std::string& b = "") {
    std::string out = "{";
    out += a;
    if (!b.empty()) {
      out += ",";
      out += b;
    }
    out += "}";
    return out;
  };
  // A valid image first, to be sure the failures below come from the one thing changed.
  CHECK(parse_error(image(obj(entry("x", "F32", "[2]", 0, 8)), f32x2)).empty());

  CHECK(contains(parse_error("abc"), "too small"));
  CHECK(contains(parse_error(""), "too small"));
  CHECK(contains(parse_error(image("{}").substr(0, 9)), "exceeds"));  // length says 2, 1 byte left
  std::string huge = image("{}");
  huge[7] = '\x7f';  // header length near 2^63
  CHECK(contains(parse_error(huge), "exceeds"));
  CHECK(contains(parse_error(image("{\"x\": [1, 2")), "not valid JSON"));
  CHECK(contains(parse_error(image("[1, 2, 3]")), "not a JSON object"));
  CHECK(contains(parse_error(image(obj(entry("x", "F16", "[2]", 0, 4)), std::string(4, '\0'))),
                 "unknown or unsupported dtype 'F16'"));
  CHECK(contains(parse_error(image(obj(entry("x", "F32", "[-2]", 0, 8)), f32x2)), "negative size"));
  CHECK(contains(parse_error(image(obj(entry("x", "F32", "[3]", 0, 8)), f32x2)), "needs 12 bytes"));
  CHECK(contains(parse_error(image(obj(entry("x", "F32", "[2]", 0, 16)), f32x2)), "out of range"));
  CHECK(contains(parse_error(image(obj(entry("x", "F32", "[0]", 8, 4)), f32x2)), "begin > end"));
  CHECK(contains(parse_error(image(obj(entry("x", "F32", "[2]", 0, 8), entry("y", "F32", "[1]", 4, 8)),
                                   f32x2)),
                 "overlaps"));
  CHECK(contains(parse_error(image(obj(entry("x", "F32", "[1]", 4, 8)), f32x2)), "gap"));
  CHECK(contains(parse_error(image(obj(entry("x", "F32", "[1]", 0, 4)), f32x2)), "cover 4 bytes"));
  CHECK(contains(parse_error(image("{\"x\":{\"dtype\":\"F32\",\"shape\":[2]}}", f32x2)), "data_offsets"));
  CHECK(contains(parse_error(image("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,-8]}}", f32x2)),
                 "non-negative integer"));
  CHECK(contains(parse_error(image("{\"x\":[0]}")), "not a JSON object"));
  CHECK(contains(parse_error(image("{\"__metadata__\":{\"k\":1}}")), "not a string"));
  CHECK(contains(parse_error(image(obj(entry("x", "F32", "[4294967296,4294967296,4294967296]", 0, 8)), f32x2)),
                 "overflowing"));

  // Files: the error names the file; a truncated file is caught.
  fs::path dir = scratch_dir("errors");
  const std::string path = (dir / "trunc.safetensors").string();
  save(nn::StateDict{{"x", ones({4})}, {"y", ones({2}, kInt64)}}, path);
  const auto size = fs::file_size(path);
  fs::resize_file(path, size - 3);
  std::string msg = error_of([&] { load(path); });
  CHECK(contains(msg, path));
  CHECK(contains(msg, "out of range"));
  fs::resize_file(path, 20);  // cut inside the header
  CHECK(contains(error_of([&] { load(path); }), "exceeds"));
  CHECK(contains(error_of([&] { load((dir / "missing.safetensors").string()); }), "cannot open"));
  fs::remove_all(dir);
}

TEST_CASE("safetensors: a failed save leaves no file behind") {
  fs::path dir = scratch_dir("atomic");
  // Into a directory that does not exist.
  const std::string missing = (dir / "no_such_dir" / "x.safetensors").string();
  std::string msg = error_of([&] { save(nn::StateDict{{"x", ones({2})}}, missing); });
  CHECK(contains(msg, missing));
  CHECK(fs::is_empty(dir));
  // Onto a path that is a directory: the write succeeds, the rename fails, the temp file goes.
  fs::create_directories(dir / "occupied");
  fs::create_directories(dir / "occupied" / "inner");
  CHECK_FALSE(error_of([&] { save(nn::StateDict{{"x", ones({2})}}, (dir / "occupied").string()); }).empty());
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  CHECK(entries == 1);  // only "occupied"
  // Bad input is refused before anything is written.
  const std::string path = (dir / "dup.safetensors").string();
  CHECK(contains(error_of([&] { save(nn::StateDict{{"x", ones({1})}, {"x", ones({1})}}, path); }), "twice"));
  CHECK(contains(error_of([&] { save(nn::StateDict{{"__metadata__", ones({1})}}, path); }), "invalid tensor name"));
  CHECK_FALSE(fs::exists(path));
  // A good save replaces an old file completely.
  save(nn::StateDict{{"x", ones({100})}}, path);
  save(nn::StateDict{{"y", zeros({1})}}, path);
  auto back = load(path);
  REQUIRE(back.size() == 1);
  CHECK(back[0].first == "y");
  entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  CHECK(entries == 2);
  fs::remove_all(dir);
}

TEST_CASE("safetensors: corrupted files fail cleanly, never crash") {
  const std::string good = serialize_safetensors(
      nn::StateDict{{"a", ones({3, 2})}, {"b", tensor(std::vector<int64_t>{1, 2})}, {"c", full({}, true, kBool)}},
      {{"k", "v"}});
  std::mt19937_64 rng(1);
  int rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bytes = good;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % bytes.size();
      switch (rng() % 3) {
        case 0: bytes[at] = static_cast<char>(rng() & 0xff); break;  // flip a byte
        case 1: bytes.resize(at); break;                              // truncate
        default: bytes.insert(at, 1, static_cast<char>('0' + rng() % 10)); break;
      }
      if (bytes.empty()) break;
    }
    try {
      deserialize_safetensors(bytes, "fuzz");
    } catch (const Error&) {
      ++rejected;
    }
  }
  CHECK(rejected > 2000);
}
