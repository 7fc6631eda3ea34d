// GGUF (llama.cpp's single-file model format, versions 2 and 3; docs/FORMATS.md "GGUF"):
// a little-endian header, typed metadata key/values, tensor infos, then the aligned data
// section. GgufFile parses and validates the whole header up front, bounding every count and
// length by the bytes left in the file, so a corrupt or hostile file raises an Error naming the
// file and the item and never triggers a giant allocation.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/tensor.h"
#include "io/model_config.h"
#include "io/safetensors.h"

namespace qinfer::io {

// ggml_type values as stored in tensor infos (ggml.h). Only the ones qinfer reads are named.
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kBF16 = 30,
};

struct GgmlTypeTraits {
  const char* name;     // "Q4_K"
  int64_t block_size;   // elements per block
  size_t block_bytes;   // bytes per block
  bool readable;        // qinfer has a dequantizer for it
};

// Traits of any ggml type id llama.cpp defines (also the ones we cannot read, so errors can
// name them); nullptr for an id ggml does not know.
const GgmlTypeTraits* ggml_type_traits(uint32_t type);

// Metadata value types (gguf.h: enum gguf_type).
enum class GgufValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
const char* gguf_value_type_name(GgufValueType t);

struct GgufValue {
  GgufValueType type = GgufValueType::kU8;
  // Scalars: integers in i (signed types) or u (unsigned types and bool), floats in f.
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0.0;
  std::string s;
  // Arrays: the element type and the elements (which may themselves be arrays).
  GgufValueType elem_type = GgufValueType::kU8;
  std::vector<GgufValue> items;

  bool is_integer() const;
  bool is_float() const { return type == GgufValueType::kF32 || type == GgufValueType::kF64; }
  // As JSON (for `qinfer info`-style dumps and tests).
  Json to_json() const;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> ne;  // ggml order: ne[0] is the innermost (contiguous) dimension
  uint32_t type = 0;
  uint64_t offset = 0;      // relative to the data section
  size_t nbytes = 0;
  // Row-major shape as torch/safetensors write it: ne reversed.
  Shape shape() const { return Shape(ne.rbegin(), ne.rend()); }
  int64_t numel() const;
};

class GgufCursor;  // gguf.cc: bounds-checked sequential reads of the header

class GgufFile {
 public:
  explicit GgufFile(const std::string& path);

  const std::string& path() const { return file_->path(); }
  uint32_t version() const { return version_; }
  size_t alignment() const { return alignment_; }
  size_t data_offset() const { return data_offset_; }

  const std::map<std::string, GgufValue>& metadata() const { return kv_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(const std::string& name) const;
  const uint8_t* tensor_data(const GgufTensorInfo& t) const {
    return file_->data() + data_offset_ + t.offset;
  }
  const std::shared_ptr<MappedFile>& mapping() const { return file_; }

  // Typed metadata lookups; the error names the file and the key.
  const GgufValue* find(const std::string& key) const;
  bool has(const std::string& key) const { return find(key) != nullptr; }
  std::optional<int64_t> get_int(const std::string& key) const;
  std::optional<double> get_float(const std::string& key) const;
  std::optional<bool> get_bool(const std::string& key) const;
  std::optional<std::string> get_string(const std::string& key) const;
  // Arrays: an error if present with the wrong element type, empty when absent.
  std::vector<std::string> get_string_array(const std::string& key) const;
  std::vector<double> get_number_array(const std::string& key) const;
  std::vector<int64_t> get_int_array(const std::string& key) const;

  // The tensor as F32 (dequantized; bit-exact with ggml's dequantize_row_*), shape = shape().
  Tensor dequantize_f32(const GgufTensorInfo& t) const;

 private:
  void read_metadata(GgufCursor& c, uint64_t n_kv);
  void read_tensor_infos(GgufCursor& c, uint64_t n_tensors);
  void check_data_ranges() const;

  std::shared_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  size_t alignment_ = 32;
  size_t data_offset_ = 0;
  std::map<std::string, GgufValue> kv_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

// Dequantizes n elements (a multiple of the type's block size) of `type` from `src` into dst.
// Each format follows ggml's reference dequantize_row_* (ggml-quants.c) operation for
// operation, so results are bit-identical to llama.cpp's scalar path.
void ggml_dequantize_row(GgmlType type, const uint8_t* src, float* dst, int64_t n);

// The llama-architecture GGUF as a Hugging Face-shaped checkpoint (names, config, tokenizer).
// Exposed for tests; open_gguf_checkpoint (io/checkpoint.h) is the entry point.
ModelConfig gguf_model_config(const GgufFile& f);
GenerationConfig gguf_generation_config(const GgufFile& f);
// tokenizer.json and tokenizer_config.json as transformers would write them for the embedded
// tokenizer (tokenizer.ggml.model "gpt2" byte-level BPE, or "llama" SentencePiece BPE).
void gguf_tokenizer_to_hf(const GgufFile& f, Json* tokenizer_json, Json* tokenizer_config);
// The Hugging Face name of a GGUF tensor ("blk.3.attn_q.weight" ->
// "model.layers.3.self_attn.q_proj.weight"); empty for tensors HF has no counterpart of
// (rope_freqs.weight); throws for names it does not know.
std::string gguf_to_hf_tensor_name(const std::string& gguf_name, const std::string& file);

}  // namespace qinfer::io
