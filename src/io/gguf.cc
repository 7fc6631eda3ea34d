// GGUF header parsing and validation (docs/FORMATS.md "GGUF" lists every check).
#include "io/gguf.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"

namespace qinfer::io {

// Sequential reader over the mapped header. Every read checks the bytes left and names the
// item being read, so a truncated file says where it ended.
class GgufCursor {
 public:
  GgufCursor(const uint8_t* data, size_t size, const std::string& path)
      : data_(data), size_(size), path_(path) {}

  size_t pos() const { return pos_; }
  size_t left() const { return size_ - pos_; }

  void need(size_t n, const std::string& what) const {
    QINFER_CHECK(n <= left(), path_, ": truncated GGUF file: ", what, " needs ", n,
                 " bytes at offset ", pos_, " but only ", left(), " remain");
  }
  template <typename T>
  T read(const std::string& what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string(const std::string& what) {
    const uint64_t n = read<uint64_t>(what + " (length)");
    QINFER_CHECK(n <= left(), path_, ": ", what, ": string length ", n, " at offset ",
                 pos_ - 8, " runs past the end of the file (", left(), " bytes remain)");
    std::string s(reinterpret_cast<const char*>(data_ + pos_), size_t(n));
    pos_ += size_t(n);
    return s;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& path_;
};

namespace {

constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr int kMaxDims = 4;                  // GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 8;            // nested arrays deeper than this are rejected
constexpr int64_t kMaxDim = int64_t(1) << 40;

size_t scalar_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::kU8: case GgufValueType::kI8: case GgufValueType::kBool: return 1;
    case GgufValueType::kU16: case GgufValueType::kI16: return 2;
    case GgufValueType::kU32: case GgufValueType::kI32: case GgufValueType::kF32: return 4;
    case GgufValueType::kU64: case GgufValueType::kI64: case GgufValueType::kF64: return 8;
    case GgufValueType::kString: return 8;   // at least the length
    case GgufValueType::kArray: return 12;   // at least element type + count
  }
  return 1;
}

bool valid_value_type(uint32_t t) { return t <= uint32_t(GgufValueType::kF64); }

GgufValue read_value(GgufCursor& c, GgufValueType type, const std::string& what,
                     const std::string& path, int depth) {
  GgufValue v;
  v.type = type;
  switch (type) {
    case GgufValueType::kU8: v.u = c.read<uint8_t>(what); break;
    case GgufValueType::kI8: v.i = c.read<int8_t>(what); break;
    case GgufValueType::kU16: v.u = c.read<uint16_t>(what); break;
    case GgufValueType::kI16: v.i = c.read<int16_t>(what); break;
    case GgufValueType::kU32: v.u = c.read<uint32_t>(what); break;
    case GgufValueType::kI32: v.i = c.read<int32_t>(what); break;
    case GgufValueType::kU64: v.u = c.read<uint64_t>(what); break;
    case GgufValueType::kI64: v.i = c.read<int64_t>(what); break;
    case GgufValueType::kF32: v.f = c.read<float>(what); break;
    case GgufValueType::kF64: v.f = c.read<double>(what); break;
    case GgufValueType::kBool: {
      const uint8_t b = c.read<uint8_t>(what);
      QINFER_CHECK(b <= 1, path, ": ", what, ": bool value ", int(b), " is neither 0 nor 1");
      v.u = b;
      break;
    }
    case GgufValueType::kString: v.s = c.read_string(what); break;
    case GgufValueType::kArray: {
      QINFER_CHECK(depth < kMaxArrayDepth, path, ": ", what, ": arrays nested deeper than ",
                   kMaxArrayDepth, " levels");
      const uint32_t et = c.read<uint32_t>(what + " (array element type)");
      QINFER_CHECK(valid_value_type(et), path, ": ", what, ": unknown array element type ", et);
      v.elem_type = GgufValueType(et);
      const uint64_t n = c.read<uint64_t>(what + " (array length)");
      // Every element takes at least scalar_size bytes: a count the file cannot hold is
      // rejected before anything is allocated.
      QINFER_CHECK(n <= c.left() / scalar_size(v.elem_type), path, ": ", what, ": array of ", n,
                   " ", gguf_value_type_name(v.elem_type), " elements cannot fit in the ",
                   c.left(), " bytes left in the file");
      v.items.reserve(size_t(n));
      for (uint64_t k = 0; k < n; ++k)
        v.items.push_back(read_value(c, v.elem_type, str_cat(what, "[", k, "]"), path, depth + 1));
      break;
    }
  }
  return v;
}

}  // namespace

const char* gguf_value_type_name(GgufValueType t) {
  static const char* names[] = {"u8",  "i8",  "u16",    "i16",   "u32", "i32", "f32",
                                "bool", "string", "array", "u64", "i64", "f64"};
  const auto i = uint32_t(t);
  return i < sizeof(names) / sizeof(names[0]) ? names[i] : "unknown";
}

const GgmlTypeTraits* ggml_type_traits(uint32_t type) {
  // Block sizes and bytes per block from ggml-common.h's block_* structs (QK_K = 256).
  static const std::map<uint32_t, GgmlTypeTraits> traits = {
      {0, {"F32", 1, 4, true}},      {1, {"F16", 1, 2, true}},
      {2, {"Q4_0", 32, 18, true}},   {3, {"Q4_1", 32, 20, true}},
      {6, {"Q5_0", 32, 22, true}},   {7, {"Q5_1", 32, 24, true}},
      {8, {"Q8_0", 32, 34, true}},   {9, {"Q8_1", 32, 36, false}},
      {10, {"Q2_K", 256, 84, false}}, {11, {"Q3_K", 256, 110, false}},
      {12, {"Q4_K", 256, 144, true}}, {13, {"Q5_K", 256, 176, true}},
      {14, {"Q6_K", 256, 210, true}}, {15, {"Q8_K", 256, 292, false}},
      {16, {"IQ2_XXS", 256, 66, false}}, {17, {"IQ2_XS", 256, 74, false}},
      {18, {"IQ3_XXS", 256, 98, false}}, {19, {"IQ1_S", 256, 50, false}},
      {20, {"IQ4_NL", 32, 18, false}}, {21, {"IQ3_S", 256, 110, false}},
      {22, {"IQ2_S", 256, 82, false}}, {23, {"IQ4_XS", 256, 136, false}},
      {24, {"I8", 1, 1, false}},     {25, {"I16", 1, 2, false}},
      {26, {"I32", 1, 4, false}},    {27, {"I64", 1, 8, false}},
      {28, {"F64", 1, 8, false}},    {29, {"IQ1_M", 256, 56, false}},
      {30, {"BF16", 1, 2, true}},    {34, {"TQ1_0", 256, 54, false}},
      {35, {"TQ2_0", 256, 66, false}},
  };
  auto it = traits.find(type);
  return it == traits.end() ? nullptr : &it->second;
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufValueType::kU8: case GgufValueType::kI8: case GgufValueType::kU16:
    case GgufValueType::kI16: case GgufValueType::kU32: case GgufValueType::kI32:
    case GgufValueType::kU64: case GgufValueType::kI64:
      return true;
    default:
      return false;
  }
}

Json GgufValue::to_json() const {
  switch (type) {
    case GgufValueType::kU8: case GgufValueType::kU16: case GgufValueType::kU32:
    case GgufValueType::kU64:
      return Json(u);
    case GgufValueType::kI8: case GgufValueType::kI16: case GgufValueType::kI32:
    case GgufValueType::kI64:
      return Json(i);
    case GgufValueType::kF32: case GgufValueType::kF64: return Json(f);
    case GgufValueType::kBool: return Json(u != 0);
    case GgufValueType::kString: return Json(s);
    case GgufValueType::kArray: {
      Json a = Json::array();
      for (const GgufValue& x : items) a.push_back(x.to_json());
      return a;
    }
  }
  return Json();
}

int64_t GgufTensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

GgufFile::GgufFile(const std::string& path) : file_(std::make_shared<MappedFile>(path)) {
  GgufCursor c(file_->data(), file_->size(), path);
  QINFER_CHECK(file_->size() >= 4, path, ": not a GGUF file (", file_->size(),
               " bytes, no magic)");
  const uint32_t magic = c.read<uint32_t>("magic");
  QINFER_CHECK(magic == kGgufMagic, path, ": not a GGUF file (bad magic: the first 4 bytes are ",
               "not \"GGUF\")");
  version_ = c.read<uint32_t>("version");
  QINFER_CHECK(version_ != 1, path, ": GGUF version 1 is not supported (re-convert the model "
               "with a current llama.cpp)");
  QINFER_CHECK((version_ & 0xffff) != 0 || version_ == 0, path,
               ": big-endian GGUF files are not supported (version field ", version_, ")");
  QINFER_CHECK(version_ == 2 || version_ == 3, path, ": unknown GGUF version ", version_,
               " (qinfer reads versions 2 and 3)");
  const uint64_t n_tensors = c.read<uint64_t>("tensor count");
  const uint64_t n_kv = c.read<uint64_t>("metadata count");
  // Minimal sizes: a key/value needs 8 + 4 + 1 bytes, a tensor info 8 + 4 + 4 + 8.
  QINFER_CHECK(n_kv <= c.left() / 13, path, ": metadata count ", n_kv,
               " cannot fit in a file of ", file_->size(), " bytes");
  QINFER_CHECK(n_tensors <= c.left() / 24, path, ": tensor count ", n_tensors,
               " cannot fit in a file of ", file_->size(), " bytes");
  read_metadata(c, n_kv);
  read_tensor_infos(c, n_tensors);
  data_offset_ = (c.pos() + alignment_ - 1) / alignment_ * alignment_;
  check_data_ranges();
}

void GgufFile::read_metadata(GgufCursor& c, uint64_t n_kv) {
  const std::string& path = file_->path();
  for (uint64_t k = 0; k < n_kv; ++k) {
    const std::string key = c.read_string(str_cat("metadata key #", k));
    const std::string what = str_cat("metadata '", key, "'");
    const uint32_t t = c.read<uint32_t>(what + " (type)");
    QINFER_CHECK(valid_value_type(t), path, ": ", what, " has unknown value type ", t);
    GgufValue v = read_value(c, GgufValueType(t), what, path, 0);
    QINFER_CHECK(kv_.emplace(key, std::move(v)).second, path, ": duplicate metadata key '", key,
                 "'");
  }
  if (const GgufValue* a = find("general.alignment")) {
    QINFER_CHECK(a->type == GgufValueType::kU32, path, ": general.alignment must be u32, not ",
                 gguf_value_type_name(a->type));
    QINFER_CHECK(a->u != 0 && (a->u & (a->u - 1)) == 0, path, ": general.alignment ", a->u,
                 " is not a power of two");
    alignment_ = size_t(a->u);
  }
}

void GgufFile::read_tensor_infos(GgufCursor& c, uint64_t n_tensors) {
  const std::string& path = file_->path();
  tensors_.reserve(size_t(n_tensors));
  for (uint64_t k = 0; k < n_tensors; ++k) {
    GgufTensorInfo t;
    t.name = c.read_string(str_cat("tensor info #", k, " name"));
    const std::string what = str_cat("tensor '", t.name, "'");
    const uint32_t n_dims = c.read<uint32_t>(what + " n_dims");
    QINFER_CHECK(n_dims >= 1 && n_dims <= kMaxDims, path, ": ", what, " has ", n_dims,
                 " dimensions (1 to ", kMaxDims, " allowed)");
    for (uint32_t d = 0; d < n_dims; ++d) {
      const int64_t n = c.read<int64_t>(what + " dimension");
      QINFER_CHECK(n >= 1 && n <= kMaxDim, path, ": ", what, " has dimension ", d, " = ", n);
      t.ne.push_back(n);
    }
    t.type = c.read<uint32_t>(what + " type");
    t.offset = c.read<uint64_t>(what + " offset");
    const GgmlTypeTraits* tr = ggml_type_traits(t.type);
    QINFER_CHECK(tr != nullptr, path, ": ", what, " has unknown ggml type ", t.type);
    QINFER_CHECK(t.ne[0] % tr->block_size == 0, path, ": ", what, " (", tr->name,
                 ") has a row of ", t.ne[0], " elements, not a multiple of the block size ",
                 tr->block_size);
    unsigned __int128 bytes = uint64_t(t.ne[0] / tr->block_size) * tr->block_bytes;
    for (size_t d = 1; d < t.ne.size(); ++d) bytes *= uint64_t(t.ne[d]);
    QINFER_CHECK(bytes <= file_->size(), path, ": ", what, " ", shape_str(t.shape()), " of ",
                 tr->name, " needs more bytes than the whole file holds (", file_->size(), ")");
    t.nbytes = size_t(bytes);
    QINFER_CHECK(t.offset % alignment_ == 0, path, ": ", what, " has offset ", t.offset,
                 ", not a multiple of the alignment ", alignment_);
    QINFER_CHECK(tensor_index_.emplace(t.name, tensors_.size()).second, path,
                 ": duplicate tensor name '", t.name, "'");
    tensors_.push_back(std::move(t));
  }
}

void GgufFile::check_data_ranges() const {
  const std::string& path = file_->path();
  const size_t data_size = file_->size() >= data_offset_ ? file_->size() - data_offset_ : 0;
  for (const GgufTensorInfo& t : tensors_) {
    QINFER_CHECK(t.offset <= data_size && t.nbytes <= data_size - t.offset, path, ": tensor '",
                 t.name, "' data [", t.offset, ", ", t.offset + t.nbytes,
                 ") runs past the end of the data section (", data_size,
                 " bytes): truncated file?");
  }
  std::vector<const GgufTensorInfo*> order;
  for (const GgufTensorInfo& t : tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(),
            [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return a->offset < b->offset; });
  for (size_t k = 1; k < order.size(); ++k)
    QINFER_CHECK(order[k - 1]->offset + order[k - 1]->nbytes <= order[k]->offset, path,
                 ": tensors '", order[k - 1]->name, "' and '", order[k]->name, "' overlap");
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

std::optional<int64_t> GgufFile::get_int(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  QINFER_CHECK(v->is_integer(), path(), ": metadata '", key, "' must be an integer, not ",
               gguf_value_type_name(v->type));
  if (v->type == GgufValueType::kU64)
    QINFER_CHECK(v->u <= uint64_t(INT64_MAX), path(), ": metadata '", key, "' is too large");
  const bool is_unsigned = v->type == GgufValueType::kU8 || v->type == GgufValueType::kU16 ||
                           v->type == GgufValueType::kU32 || v->type == GgufValueType::kU64;
  return is_unsigned ? int64_t(v->u) : v->i;
}

std::optional<double> GgufFile::get_float(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->is_integer()) return double(*get_int(key));
  QINFER_CHECK(v->is_float(), path(), ": metadata '", key, "' must be a number, not ",
               gguf_value_type_name(v->type));
  return v->f;
}

std::optional<bool> GgufFile::get_bool(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  QINFER_CHECK(v->type == GgufValueType::kBool, path(), ": metadata '", key,
               "' must be a bool, not ", gguf_value_type_name(v->type));
  return v->u != 0;
}

std::optional<std::string> GgufFile::get_string(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  QINFER_CHECK(v->type == GgufValueType::kString, path(), ": metadata '", key,
               "' must be a string, not ", gguf_value_type_name(v->type));
  return v->s;
}

std::vector<std::string> GgufFile::get_string_array(const std::string& key) const {
  std::vector<std::string> r;
  const GgufValue* v = find(key);
  if (!v) return r;
  QINFER_CHECK(v->type == GgufValueType::kArray && v->elem_type == GgufValueType::kString,
               path(), ": metadata '", key, "' must be an array of strings");
  r.reserve(v->items.size());
  for (const GgufValue& x : v->items) r.push_back(x.s);
  return r;
}

std::vector<double> GgufFile::get_number_array(const std::string& key) const {
  std::vector<double> r;
  const GgufValue* v = find(key);
  if (!v) return r;
  QINFER_CHECK(v->type == GgufValueType::kArray, path(), ": metadata '", key,
               "' must be an array");
  for (const GgufValue& x : v->items) {
    QINFER_CHECK(x.is_integer() || x.is_float(), path(), ": metadata '", key,
                 "' must be an array of numbers");
    const bool is_signed = x.type == GgufValueType::kI8 || x.type == GgufValueType::kI16 ||
                           x.type == GgufValueType::kI32 || x.type == GgufValueType::kI64;
    r.push_back(x.is_float() ? x.f : is_signed ? double(x.i) : double(x.u));
  }
  return r;
}

std::vector<int64_t> GgufFile::get_int_array(const std::string& key) const {
  std::vector<int64_t> r;
  const GgufValue* v = find(key);
  if (!v) return r;
  QINFER_CHECK(v->type == GgufValueType::kArray, path(), ": metadata '", key,
               "' must be an array");
  for (const GgufValue& x : v->items) {
    QINFER_CHECK(x.is_integer(), path(), ": metadata '", key, "' must be an array of integers");
    const bool is_signed = x.type == GgufValueType::kI8 || x.type == GgufValueType::kI16 ||
                           x.type == GgufValueType::kI32 || x.type == GgufValueType::kI64;
    r.push_back(is_signed ? x.i : int64_t(x.u));
  }
  return r;
}

Tensor GgufFile::dequantize_f32(const GgufTensorInfo& t) const {
  const GgmlTypeTraits* tr = ggml_type_traits(t.type);
  QINFER_CHECK(tr && tr->readable, path(), ": tensor '", t.name, "' has type ",
               tr ? tr->name : "unknown", ", which qinfer cannot dequantize (supported: F32, "
               "F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K)");
  Tensor out = Tensor::empty(DType::kF32, t.shape());
  const int64_t row = t.ne[0];
  const int64_t n_rows = t.numel() / row;
  const size_t row_bytes = size_t(row / tr->block_size) * tr->block_bytes;
  const uint8_t* src = tensor_data(t);
  float* dst = out.data_as<float>();
  for (int64_t r = 0; r < n_rows; ++r)
    ggml_dequantize_row(GgmlType(t.type), src + size_t(r) * row_bytes, dst + r * row, row);
  return out;
}

}  // namespace qinfer::io
