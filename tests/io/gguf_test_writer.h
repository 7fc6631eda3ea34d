// A minimal GGUF v3 writer for tests: builds files byte by byte following the spec
// (docs/FORMATS.md "GGUF"), independently of the reader, so tests can also corrupt them.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace qinfer::testing {

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t version = 3, uint32_t alignment = 32)
      : version_(version), alignment_(alignment) {}

  void kv_u32(const std::string& k, uint32_t v) { key(k, 4); pod(kv_, v); ++n_kv_; }
  void kv_i32(const std::string& k, int32_t v) { key(k, 5); pod(kv_, v); ++n_kv_; }
  void kv_f32(const std::string& k, float v) { key(k, 6); pod(kv_, v); ++n_kv_; }
  void kv_bool(const std::string& k, bool v) { key(k, 7); pod(kv_, uint8_t(v)); ++n_kv_; }
  void kv_str(const std::string& k, const std::string& v) { key(k, 8); str(kv_, v); ++n_kv_; }
  void kv_str_array(const std::string& k, const std::vector<std::string>& v) {
    key(k, 9);
    pod(kv_, uint32_t(8));
    pod(kv_, uint64_t(v.size()));
    for (const auto& s : v) str(kv_, s);
    ++n_kv_;
  }
  void kv_f32_array(const std::string& k, const std::vector<float>& v) {
    key(k, 9);
    pod(kv_, uint32_t(6));
    pod(kv_, uint64_t(v.size()));
    for (float x : v) pod(kv_, x);
    ++n_kv_;
  }
  void kv_i32_array(const std::string& k, const std::vector<int32_t>& v) {
    key(k, 9);
    pod(kv_, uint32_t(5));
    pod(kv_, uint64_t(v.size()));
    for (int32_t x : v) pod(kv_, x);
    ++n_kv_;
  }
  // Raw bytes of a value (after its type), for malformed-file tests.
  void kv_raw(const std::string& k, uint32_t type, const std::vector<uint8_t>& bytes) {
    key(k, type);
    kv_.insert(kv_.end(), bytes.begin(), bytes.end());
    ++n_kv_;
  }

  // ne in ggml order (ne[0] innermost). `data` is the tensor's raw bytes.
  void tensor(const std::string& name, std::vector<int64_t> ne, uint32_t type,
              const std::vector<uint8_t>& data) {
    while (data_.size() % alignment_) data_.push_back(0);
    str(ti_, name);
    pod(ti_, uint32_t(ne.size()));
    for (int64_t d : ne) pod(ti_, d);
    pod(ti_, type);
    pod(ti_, uint64_t(data_.size()));
    data_.insert(data_.end(), data.begin(), data.end());
    ++n_tensors_;
  }
  void tensor_f32(const std::string& name, std::vector<int64_t> ne, const std::vector<float>& v) {
    std::vector<uint8_t> b(v.size() * 4);
    std::memcpy(b.data(), v.data(), b.size());
    tensor(name, std::move(ne), 0, b);
  }

  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> out;
    pod(out, uint32_t(0x46554747));
    pod(out, version_);
    pod(out, n_tensors_);
    pod(out, n_kv_);
    out.insert(out.end(), kv_.begin(), kv_.end());
    out.insert(out.end(), ti_.begin(), ti_.end());
    while (out.size() % alignment_) out.push_back(0);
    out.insert(out.end(), data_.begin(), data_.end());
    return out;
  }

  static void write_file(const std::string& path, const std::vector<uint8_t>& b) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  }

 private:
  template <typename T>
  static void pod(std::vector<uint8_t>& out, T v) {
    uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out.insert(out.end(), b, b + sizeof(T));
  }
  static void str(std::vector<uint8_t>& out, const std::string& s) {
    pod(out, uint64_t(s.size()));
    out.insert(out.end(), s.begin(), s.end());
  }
  void key(const std::string& k, uint32_t type) {
    str(kv_, k);
    pod(kv_, type);
  }

  uint32_t version_, alignment_;
  uint64_t n_kv_ = 0, n_tensors_ = 0;
  std::vector<uint8_t> kv_, ti_, data_;
};

}  // namespace qinfer::testing
