// safetensors (https://github.com/huggingface/safetensors): 8-byte little-endian header
// length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__},
// then the data section; offsets are relative to the data section. Files are mmap'd and
// every header entry is validated before use (docs/FORMATS.md).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/json.h"
#include "io/tensor_source.h"

namespace qinfer::io {

struct SafetensorsEntry {
  DType dtype;
  Shape shape;
  size_t begin;  // byte offset in the data section
  size_t end;
};

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// One .safetensors file.
class SafetensorsFile : public TensorSource {
 public:
  explicit SafetensorsFile(const std::string& path);

  bool has(const std::string& name) const override { return entries_.count(name) != 0; }
  Tensor get(const std::string& name) const override;
  std::vector<std::string> names() const override;
  std::string file_of(const std::string&) const override { return file_->path(); }

  const std::map<std::string, SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::shared_ptr<MappedFile> file_;
  size_t data_start_ = 0;
  std::map<std::string, SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

// A checkpoint directory: model.safetensors, or model.safetensors.index.json + shards.
class SafetensorsCheckpoint : public TensorSource {
 public:
  explicit SafetensorsCheckpoint(const std::string& dir);

  bool has(const std::string& name) const override { return where_.count(name) != 0; }
  Tensor get(const std::string& name) const override;
  std::vector<std::string> names() const override;
  std::string file_of(const std::string& name) const override;

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;  // tensor name -> index into files_
};

// One tensor's place in a safetensors file being written; the data of the tensors follows the
// header in layout order.
struct SafetensorsLayout {
  std::string name;
  DType dtype;
  Shape shape;
  size_t nbytes() const { return size_t(shape_numel(shape)) * dtype_size(dtype); }
};

// A file's first bytes: the 8-byte little-endian header length, then the JSON header padded
// with spaces to a multiple of 8, as the reference implementation writes it.
std::string safetensors_header(const std::vector<SafetensorsLayout>& layout,
                               const std::map<std::string, std::string>& metadata);

// Writes one safetensors file. Tensors are written in the given order, 8-byte aligned
// header as the reference implementation pads it with spaces.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Writes a checkpoint's tensors, sharding above `max_shard_bytes` into
// model-0000K-of-0000N.safetensors + model.safetensors.index.json as transformers does.
void write_safetensors_sharded(const std::string& dir,
                               const std::vector<std::pair<std::string, Tensor>>& tensors,
                               size_t max_shard_bytes,
                               const std::map<std::string, std::string>& metadata = {});

}  // namespace qinfer::io
