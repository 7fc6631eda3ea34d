// Streaming safetensors writer for quantizers: the header (names, dtypes, shapes, offsets) is
// known before any data is produced, so it is written first and each tensor's bytes follow as
// soon as they exist. Peak memory is one tensor, not one file (io::write_safetensors needs all
// of a file's tensors at once). The layout is io::write_safetensors': tensors in the given
// order, header padded with spaces to a multiple of 8.
#pragma once

#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/safetensors.h"

namespace qinfer::quant {

using PlannedTensor = io::SafetensorsLayout;

class SafetensorsStreamWriter {
 public:
  SafetensorsStreamWriter(const std::string& path, std::vector<PlannedTensor> plan,
                          const std::map<std::string, std::string>& metadata);
  // Tensors must come in plan order with the planned dtype and shape.
  void write(const std::string& name, const Tensor& t);
  // Checks that every planned tensor was written and flushes.
  void finish();

 private:
  std::string path_;
  std::vector<PlannedTensor> plan_;
  size_t next_ = 0;
  std::ofstream out_;
};

// Splits a plan into shards of at most max_shard_bytes (a tensor larger than that gets a shard
// of its own), in order, as transformers' sharding does.
std::vector<std::vector<PlannedTensor>> plan_shards(const std::vector<PlannedTensor>& plan,
                                                    size_t max_shard_bytes);
// "model.safetensors" for one shard, else "model-0000K-of-0000N.safetensors".
std::string shard_file_name(size_t index, size_t n_shards);

}  // namespace qinfer::quant
