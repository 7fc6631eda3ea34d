#include "quant/safetensors_stream.h"

#include <cstdio>

#include "core/error.h"
#include "core/json.h"

namespace qinfer::quant {

SafetensorsStreamWriter::SafetensorsStreamWriter(const std::string& path,
                                                 std::vector<PlannedTensor> plan,
                                                 const std::map<std::string, std::string>& metadata)
    : path_(path), plan_(std::move(plan)) {
  const std::string h = io::safetensors_header(plan_, metadata);
  out_.open(path, std::ios::binary);
  QINFER_CHECK(out_.good(), path, ": cannot write");
  out_.write(h.data(), std::streamsize(h.size()));
}

void SafetensorsStreamWriter::write(const std::string& name, const Tensor& t) {
  QINFER_CHECK(next_ < plan_.size() && plan_[next_].name == name, path_, ": tensor '", name,
               "' written out of plan order");
  const PlannedTensor& p = plan_[next_];
  QINFER_CHECK(t.dtype() == p.dtype && t.shape() == p.shape, path_, ": tensor '", name, "' is ",
               dtype_name(t.dtype()), " ", shape_str(t.shape()), ", planned ", dtype_name(p.dtype),
               " ", shape_str(p.shape));
  out_.write(static_cast<const char*>(t.data()), std::streamsize(t.nbytes()));
  QINFER_CHECK(out_.good(), path_, ": write failed (disk full?)");
  ++next_;
}

void SafetensorsStreamWriter::finish() {
  QINFER_CHECK(next_ == plan_.size(), path_, ": only ", next_, " of ", plan_.size(),
               " tensors were written");
  out_.close();
  QINFER_CHECK(!out_.fail(), path_, ": write failed");
}

std::vector<std::vector<PlannedTensor>> plan_shards(const std::vector<PlannedTensor>& plan,
                                                    size_t max_shard_bytes) {
  std::vector<std::vector<PlannedTensor>> shards(1);
  size_t cur = 0;
  for (const PlannedTensor& p : plan) {
    if (cur > 0 && cur + p.nbytes() > max_shard_bytes) {
      shards.emplace_back();
      cur = 0;
    }
    shards.back().push_back(p);
    cur += p.nbytes();
  }
  return shards;
}

std::string shard_file_name(size_t index, size_t n_shards) {
  if (n_shards == 1) return "model.safetensors";
  char name[64];
  std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", index + 1, n_shards);
  return name;
}

}  // namespace qinfer::quant
