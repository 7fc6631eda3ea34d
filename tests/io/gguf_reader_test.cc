// GGUF reader: metadata of every type, tensor infos, alignment, and every malformed-file check
// (each must raise an Error naming the file and the item, never crash or over-allocate).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "core/error.h"
#include "gguf_test_writer.h"
#include "io/gguf.h"

namespace qinfer::io {
namespace {

using testing::GgufWriter;

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("qinfer_gguf_" + std::to_string(::getpid()) + "_" + name + ".gguf"))
      .string();
}

std::string write(const std::string& name, const std::vector<uint8_t>& b) {
  const std::string p = temp_path(name);
  GgufWriter::write_file(p, b);
  return p;
}

// The error message for opening these bytes ("" when it opens).
std::string open_error(const std::vector<uint8_t>& b, const std::string& name = "bad") {
  const std::string p = write(name, b);
  try {
    GgufFile f(p);
  } catch (const Error& e) {
    std::remove(p.c_str());
    return e.what();
  }
  std::remove(p.c_str());
  return "";
}

GgufWriter small_file() {
  GgufWriter w;
  w.kv_str("general.architecture", "llama");
  w.kv_u32("llama.block_count", 1);
  w.kv_str_array("tokenizer.ggml.tokens", {"a", "b"});
  w.tensor_f32("output_norm.weight", {4}, {1, 2, 3, 4});
  return w;
}

TEST(GgufReader, ReadsEveryValueType) {
  GgufWriter w;
  w.kv_u32("u32", 7);
  w.kv_i32("i32", -7);
  w.kv_f32("f32", 1.5f);
  w.kv_bool("bool", true);
  w.kv_str("str", "héllo");
  w.kv_raw("u8", 0, {200});
  w.kv_raw("i8", 1, {0xFF});
  w.kv_raw("u16", 2, {0x34, 0x12});
  w.kv_raw("i16", 3, {0xFE, 0xFF});
  w.kv_raw("u64", 10, {1, 0, 0, 0, 0, 0, 0, 1});
  w.kv_raw("i64", 11, {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF});
  double d = -2.25;
  std::vector<uint8_t> db(8);
  std::memcpy(db.data(), &d, 8);
  w.kv_raw("f64", 12, db);
  // [[1, 2], [3]] as an array of arrays of u8.
  w.kv_raw("nested", 9, {9, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,  // 2 arrays
                         0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 2,
                         0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 3});
  w.kv_f32_array("scores", {0.5f, -1.0f});
  w.tensor_f32("t", {2, 3}, {0, 1, 2, 3, 4, 5});
  const std::string p = write("types", w.bytes());
  GgufFile f(p);
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(*f.get_int("u32"), 7);
  EXPECT_EQ(*f.get_int("i32"), -7);
  EXPECT_EQ(*f.get_float("f32"), 1.5);
  EXPECT_EQ(*f.get_bool("bool"), true);
  EXPECT_EQ(*f.get_string("str"), "héllo");
  EXPECT_EQ(*f.get_int("u8"), 200);
  EXPECT_EQ(*f.get_int("i8"), -1);
  EXPECT_EQ(*f.get_int("u16"), 0x1234);
  EXPECT_EQ(*f.get_int("i16"), -2);
  EXPECT_EQ(*f.get_int("u64"), int64_t((uint64_t(1) << 56) + 1));
  EXPECT_EQ(*f.get_int("i64"), -1);
  EXPECT_EQ(*f.get_float("f64"), -2.25);
  EXPECT_EQ(f.find("nested")->to_json().dump(), "[[1,2],[3]]");
  EXPECT_EQ(f.get_number_array("scores"), (std::vector<double>{0.5, -1.0}));
  EXPECT_THROW(f.get_string("u32"), Error);
  ASSERT_EQ(f.tensors().size(), 1u);
  const GgufTensorInfo& t = f.tensors()[0];
  EXPECT_EQ(t.shape(), (Shape{3, 2}));
  EXPECT_EQ(f.data_offset() % 32, 0u);
  Tensor x = f.dequantize_f32(t);
  EXPECT_EQ(x.data_as<float>()[5], 5.0f);
  std::remove(p.c_str());
}

TEST(GgufReader, HonorsGeneralAlignment) {
  GgufWriter w(3, 64);
  w.kv_u32("general.alignment", 64);
  w.tensor_f32("a", {3}, {1, 2, 3});
  w.tensor_f32("b", {2}, {4, 5});
  const std::string p = write("align", w.bytes());
  GgufFile f(p);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  EXPECT_EQ(f.find_tensor("b")->offset, 64u);
  EXPECT_EQ(f.dequantize_f32(*f.find_tensor("b")).data_as<float>()[1], 5.0f);
  std::remove(p.c_str());
}

TEST(GgufReader, EveryTruncationIsAnError) {
  const std::vector<uint8_t> good = small_file().bytes();
  ASSERT_EQ(open_error(good), "");
  for (size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> b(good.begin(), good.begin() + long(n));
    const std::string e = open_error(b);
    EXPECT_NE(e, "") << "prefix of " << n << " bytes opened";
    EXPECT_NE(e.find("qinfer_gguf_"), std::string::npos) << "message lacks the file: " << e;
  }
}

TEST(GgufReader, BadMagicAndVersions) {
  std::vector<uint8_t> b = small_file().bytes();
  b[0] = 'X';
  EXPECT_NE(open_error(b).find("bad magic"), std::string::npos);
  for (uint32_t v : {1u, 4u, 0x03000000u}) {
    std::vector<uint8_t> c = small_file().bytes();
    std::memcpy(c.data() + 4, &v, 4);
    const std::string e = open_error(c);
    EXPECT_NE(e.find(v == 1 ? "version 1" : v == 4 ? "unknown GGUF version" : "big-endian"),
              std::string::npos)
        << e;
  }
  GgufWriter v2(2);
  v2.kv_u32("x", 1);
  EXPECT_EQ(open_error(v2.bytes()), "");
}

TEST(GgufReader, HugeCountsAreRejectedBeforeAllocating) {
  std::vector<uint8_t> b = small_file().bytes();
  const uint64_t huge = uint64_t(1) << 60;
  std::vector<uint8_t> c = b;
  std::memcpy(c.data() + 16, &huge, 8);  // kv count
  EXPECT_NE(open_error(c).find("metadata count"), std::string::npos);
  c = b;
  std::memcpy(c.data() + 8, &huge, 8);  // tensor count
  EXPECT_NE(open_error(c).find("tensor count"), std::string::npos);
  GgufWriter w;
  std::vector<uint8_t> arr = {0, 0, 0, 0};  // u8 elements
  for (int i = 0; i < 8; ++i) arr.push_back(i == 7 ? 0x40 : 0);
  w.kv_raw("big.array", 9, arr);
  EXPECT_NE(open_error(w.bytes()).find("'big.array': array of"), std::string::npos);
  GgufWriter s;
  s.kv_raw("big.string", 8, {0, 0, 0, 0, 0, 0, 0, 0x70});
  EXPECT_NE(open_error(s.bytes()).find("string length"), std::string::npos);
  GgufWriter d;  // arrays nested 100 deep
  std::vector<uint8_t> deep;
  for (int i = 0; i < 100; ++i) deep.insert(deep.end(), {9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0});
  d.kv_raw("deep", 9, deep);
  EXPECT_NE(open_error(d.bytes()).find("nested deeper"), std::string::npos);
}

TEST(GgufReader, BadTensorInfos) {
  auto err_with = [](auto build) {
    GgufWriter w;
    build(w);
    return open_error(w.bytes());
  };
  EXPECT_NE(err_with([](GgufWriter& w) { w.tensor("t", {4}, 99, std::vector<uint8_t>(16)); })
                .find("tensor 't' has unknown ggml type 99"),
            std::string::npos);
  EXPECT_NE(err_with([](GgufWriter& w) {
              w.tensor_f32("t", {2}, {1, 2});
              w.tensor_f32("t", {2}, {1, 2});
            }).find("duplicate tensor name 't'"),
            std::string::npos);
  EXPECT_NE(err_with([](GgufWriter& w) {
              w.kv_u32("k", 1);
              w.kv_u32("k", 2);
            }).find("duplicate metadata key 'k'"),
            std::string::npos);
  EXPECT_NE(err_with([](GgufWriter& w) { w.tensor("q", {31}, 8, std::vector<uint8_t>(34)); })
                .find("not a multiple of the block size 32"),
            std::string::npos);
  EXPECT_NE(err_with([](GgufWriter& w) { w.tensor("t", {1, 1, 1, 1, 1}, 0, {0, 0, 0, 0}); })
                .find("5 dimensions"),
            std::string::npos);
  EXPECT_NE(err_with([](GgufWriter& w) { w.tensor("t", {0}, 0, {}); }).find("dimension 0 = 0"),
            std::string::npos);
  EXPECT_NE(err_with([](GgufWriter& w) { w.kv_u32("general.alignment", 24); })
                .find("not a power of two"),
            std::string::npos);
  // Data past the end: declare 8 floats, store 2.
  EXPECT_NE(err_with([](GgufWriter& w) { w.tensor("t", {8}, 0, std::vector<uint8_t>(8)); })
                .find("runs past the end of the data section"),
            std::string::npos);
}

TEST(GgufReader, MisalignedAndOverlappingOffsets) {
  GgufWriter w;
  w.tensor_f32("a", {8}, {0, 1, 2, 3, 4, 5, 6, 7});
  w.tensor_f32("b", {8}, {0, 1, 2, 3, 4, 5, 6, 7});
  const std::vector<uint8_t> good = w.bytes();
  ASSERT_EQ(open_error(good), "");
  // Tensor b's info ends with its u64 offset (32); find it from the end of b's info.
  // Layout: header 24 bytes, then infos: name(8+1) n_dims(4) ne(8) type(4) offset(8) each.
  const size_t info = 24, b_offset_at = info + 33 + 25;
  uint64_t off;
  std::memcpy(&off, good.data() + b_offset_at, 8);
  ASSERT_EQ(off, 32u);
  std::vector<uint8_t> c = good;
  off = 4;
  std::memcpy(c.data() + b_offset_at, &off, 8);
  EXPECT_NE(open_error(c).find("tensor 'b' has offset 4, not a multiple of the alignment 32"),
            std::string::npos);
  c = good;
  off = 0;
  std::memcpy(c.data() + b_offset_at, &off, 8);
  EXPECT_NE(open_error(c).find("overlap"), std::string::npos);
}

TEST(GgufReader, UnreadableTypeNamedOnDequantize) {
  GgufWriter w;
  w.tensor("q2", {256}, 10, std::vector<uint8_t>(84));
  const std::string p = write("q2k", w.bytes());
  GgufFile f(p);
  try {
    f.dequantize_f32(f.tensors()[0]);
    FAIL() << "Q2_K dequantized";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'q2' has type Q2_K"), std::string::npos);
  }
  std::remove(p.c_str());
}

}  // namespace
}  // namespace qinfer::io
