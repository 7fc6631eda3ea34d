// The safetensors reader on malformed files (each rejected with an Error that names the file
// and, where there is one, the tensor) and on well-formed ones written by write_safetensors.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "io/safetensors.h"

namespace qinfer::io {
namespace {

namespace fs = std::filesystem;

std::string temp_path(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("qinfer_st_test_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return (d / name).string();
}

// A file: 8-byte little-endian header length, the header, then `data_bytes` bytes.
std::string write_raw(const std::string& name, const std::string& header, size_t data_bytes,
                      int64_t header_len_override = -1) {
  const std::string p = temp_path(name);
  std::ofstream f(p, std::ios::binary);
  uint64_t n = header_len_override >= 0 ? uint64_t(header_len_override) : header.size();
  f.write(reinterpret_cast<const char*>(&n), 8);
  f << header << std::string(data_bytes, '\0');
  return p;
}

// Expects an Error whose message contains every one of `parts`.
void expect_error(const std::string& path, std::initializer_list<std::string> parts) {
  try {
    SafetensorsFile f(path);
    FAIL() << "no error for " << path;
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << msg;
  }
}

TEST(Safetensors, RejectsFileShorterThanHeaderLength) {
  const std::string p = temp_path("short.safetensors");
  std::ofstream(p, std::ios::binary) << "abc";
  expect_error(p, {p, "truncated"});
}

TEST(Safetensors, RejectsHeaderLengthPastEnd) {
  expect_error(write_raw("hlen.safetensors", "{}", 0, 1000), {"hlen.safetensors", "header length"});
}

TEST(Safetensors, RejectsBadHeaderJson) {
  expect_error(write_raw("badjson.safetensors", "{\"a\": [1, 2", 0),
               {"badjson.safetensors", "JSON"});
  expect_error(write_raw("notobj.safetensors", "[1, 2]", 0),
               {"notobj.safetensors", "not a JSON object"});
}

TEST(Safetensors, RejectsUnknownDtype) {
  expect_error(write_raw("dtype.safetensors",
                         R"({"w": {"dtype": "Q7", "shape": [2], "data_offsets": [0, 2]}})", 2),
               {"dtype.safetensors", "'w'", "Q7"});
}

TEST(Safetensors, RejectsOffsetsPastEndOfData) {
  expect_error(write_raw("past.safetensors",
                         R"({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8),
               {"past.safetensors", "'w'"});
}

TEST(Safetensors, RejectsTruncatedData) {
  // A valid file cut short: the last tensor's bytes are missing.
  const std::string p = temp_path("trunc.safetensors");
  Tensor t = Tensor::zeros(DType::kF32, {64});
  write_safetensors(p, {{"a", t}, {"b", t}});
  fs::resize_file(p, fs::file_size(p) - 100);
  expect_error(p, {"trunc.safetensors", "'b'"});
}

TEST(Safetensors, RejectsOverlappingTensors) {
  expect_error(write_raw("overlap.safetensors",
                         R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
                             "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}})",
                         24),
               {"overlap.safetensors", "overlap"});
}

TEST(Safetensors, RejectsShapeSizeMismatch) {
  expect_error(
      write_raw("size.safetensors",
                R"({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 12]}})", 12),
      {"size.safetensors", "'w'"});
  expect_error(write_raw("neg.safetensors",
                         R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4),
               {"neg.safetensors", "'w'"});
  expect_error(write_raw("order.safetensors",
                         R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}})", 8),
               {"order.safetensors", "'w'"});
}

TEST(Safetensors, RoundTripsValuesDtypesAndMetadata) {
  const std::string p = temp_path("ok.safetensors");
  Tensor a = Tensor::empty(DType::kBF16, {2, 3});
  for (int i = 0; i < 6; ++i) a.data_as<uint16_t>()[i] = f32_to_bf16(float(i) - 2.5f);
  Tensor b = Tensor::empty(DType::kI32, {5});
  for (int i = 0; i < 5; ++i) b.data_as<int32_t>()[i] = i * i - 7;
  write_safetensors(p, {{"a", a}, {"b", b}}, {{"format", "pt"}});
  // The header is padded to a multiple of 8 (as the reference writer does).
  std::ifstream f(p, std::ios::binary);
  uint64_t n = 0;
  f.read(reinterpret_cast<char*>(&n), 8);
  EXPECT_EQ(n % 8, 0u);
  SafetensorsFile r(p);
  EXPECT_EQ(r.metadata().at("format"), "pt");
  Tensor ra = r.get("a"), rb = r.get("b");
  EXPECT_EQ(ra.dtype(), DType::kBF16);
  EXPECT_EQ(ra.shape(), (Shape{2, 3}));
  EXPECT_EQ(std::memcmp(ra.data(), a.data(), a.nbytes()), 0);
  EXPECT_EQ(std::memcmp(rb.data(), b.data(), b.nbytes()), 0);
  EXPECT_THROW(r.get("c"), Error);
  EXPECT_THROW(r.get_checked("a", {3, 2}), Error);
}

TEST(Safetensors, ShardedCheckpointFindsTensorsAndRejectsMissingOnes) {
  const fs::path d = fs::path(temp_path("sharded"));
  fs::create_directories(d);
  std::vector<std::pair<std::string, Tensor>> ts;
  for (int i = 0; i < 4; ++i)
    ts.emplace_back("t" + std::to_string(i), Tensor::zeros(DType::kF32, {256}));
  write_safetensors_sharded(d.string(), ts, 2048);
  SafetensorsCheckpoint ck(d.string());
  EXPECT_EQ(ck.names().size(), 4u);
  EXPECT_NE(ck.file_of("t0"), ck.file_of("t3"));
  EXPECT_EQ(ck.get("t3").numel(), 256);
  // An index naming a tensor its shard lacks.
  std::ofstream(d / "model.safetensors.index.json")
      << R"({"metadata": {}, "weight_map": {"t0": "model-00001-of-00002.safetensors",
            "ghost": "model-00001-of-00002.safetensors"}})";
  try {
    SafetensorsCheckpoint bad(d.string());
    FAIL() << "no error for a tensor missing from its shard";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ghost"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace qinfer::io
