#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace qinfer::io {

namespace fs = std::filesystem;

Tensor TensorSource::get_checked(const std::string& name, const Shape& expected) const {
  Tensor t = get(name);
  QINFER_CHECK(t.shape() == expected, file_of(name), ": tensor '", name, "' has shape ",
               shape_str(t.shape()), ", expected ", shape_str(expected));
  return t;
}

MappedFile::MappedFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  QINFER_CHECK(fd >= 0, path, ": cannot open: ", std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    QINFER_FAIL(path, ": cannot stat: ", std::strerror(errno));
  }
  size_ = size_t(st.st_size);
  if (size_ > 0) {
    void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      QINFER_FAIL(path, ": mmap failed: ", std::strerror(errno));
    }
    data_ = static_cast<uint8_t*>(p);
  }
  ::close(fd);
}

MappedFile::~MappedFile() {
  if (data_) ::munmap(data_, size_);
}

SafetensorsFile::SafetensorsFile(const std::string& path)
    : file_(std::make_shared<MappedFile>(path)) {
  const size_t size = file_->size();
  QINFER_CHECK(size >= 8, path, ": truncated safetensors file (", size,
               " bytes, no header length)");
  uint64_t header_len = 0;
  std::memcpy(&header_len, file_->data(), 8);  // little-endian on every target we build for
  QINFER_CHECK(header_len <= size - 8, path, ": header length ", header_len,
               " runs past the end of the file (", size, " bytes)");
  data_start_ = 8 + size_t(header_len);
  const size_t data_size = size - data_start_;
  Json header;
  try {
    header = Json::parse(file_->data() + 8, file_->data() + 8 + header_len);
  } catch (const nlohmann::json::exception& e) {
    QINFER_FAIL(path, ": bad safetensors header JSON: ", e.what());
  }
  QINFER_CHECK(header.is_object(), path, ": safetensors header is not a JSON object");
  std::vector<std::pair<size_t, size_t>> ranges;
  std::vector<std::string> range_names;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const Json& v = it.value();
    if (name == "__metadata__") {
      QINFER_CHECK(v.is_object(), path, ": __metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        QINFER_CHECK(m.value().is_string(), path, ": __metadata__ value '", m.key(),
                     "' is not a string");
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    auto where = [&] { return str_cat(path, ": tensor '", name, "'"); };
    QINFER_CHECK(v.is_object() && v.contains("dtype") && v.contains("shape") &&
                     v.contains("data_offsets"),
                 where(), ": entry needs dtype, shape and data_offsets");
    QINFER_CHECK(v["dtype"].is_string(), where(), ": dtype is not a string");
    SafetensorsEntry e;
    const std::string dt = v["dtype"].get<std::string>();
    QINFER_CHECK(dtype_from_name(dt, &e.dtype), where(), ": unsupported dtype '", dt, "'");
    QINFER_CHECK(v["shape"].is_array(), where(), ": shape is not an array");
    for (const Json& d : v["shape"]) {
      QINFER_CHECK(d.is_number_unsigned(), where(), ": shape has a non-integer or negative entry");
      QINFER_CHECK(d.get<uint64_t>() < (uint64_t(1) << 40), where(), ": dimension too large");
      e.shape.push_back(d.get<int64_t>());
    }
    const Json& off = v["data_offsets"];
    QINFER_CHECK(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() &&
                     off[1].is_number_unsigned(),
                 where(), ": data_offsets must be two non-negative integers");
    e.begin = off[0].get<size_t>();
    e.end = off[1].get<size_t>();
    QINFER_CHECK(e.begin <= e.end, where(), ": data_offsets [", e.begin, ", ", e.end,
                 "] are reversed");
    QINFER_CHECK(e.end <= data_size, where(), ": data_offsets end ", e.end,
                 " is past the end of the data section (", data_size,
                 " bytes): truncated file?");
    // Overflow-safe product of the shape.
    unsigned __int128 bytes = dtype_size(e.dtype);
    for (int64_t d : e.shape) bytes *= uint64_t(d);
    QINFER_CHECK(bytes == e.end - e.begin, where(), ": ", dt, " ", shape_str(e.shape),
                 " needs ", uint64_t(bytes), " bytes but data_offsets span ", e.end - e.begin);
    ranges.emplace_back(e.begin, e.end);
    range_names.push_back(name);
    entries_.emplace(name, std::move(e));
  }
  std::vector<size_t> order(ranges.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ranges[a] < ranges[b]; });
  for (size_t k = 1; k < order.size(); ++k) {
    const auto& prev = ranges[order[k - 1]];
    const auto& cur = ranges[order[k]];
    QINFER_CHECK(cur.first >= prev.second || cur.first == cur.second ||
                     prev.first == prev.second,
                 path, ": tensors '", range_names[order[k - 1]], "' and '",
                 range_names[order[k]], "' overlap");
  }
}

Tensor SafetensorsFile::get(const std::string& name) const {
  auto it = entries_.find(name);
  QINFER_CHECK(it != entries_.end(), file_->path(), ": missing tensor '", name, "'");
  const SafetensorsEntry& e = it->second;
  // The view keeps the mapping alive; the data is read-only (mapped PROT_READ).
  void* p = const_cast<uint8_t*>(file_->data() + data_start_ + e.begin);
  return Tensor::view(p, e.dtype, e.shape, Device::kCpu, file_);
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> r;
  for (const auto& [k, v] : entries_) r.push_back(k);
  return r;
}

SafetensorsCheckpoint::SafetensorsCheckpoint(const std::string& dir) {
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  const fs::path single = fs::path(dir) / "model.safetensors";
  if (fs::exists(index)) {
    Json j = read_json_file(index.string());
    QINFER_CHECK(j.contains("weight_map") && j["weight_map"].is_object(), index.string(),
                 ": no weight_map object");
    std::map<std::string, size_t> file_index;
    for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
      QINFER_CHECK(it.value().is_string(), index.string(), ": weight_map['", it.key(),
                   "'] is not a file name");
      const std::string shard = it.value().get<std::string>();
      QINFER_CHECK(shard.find('/') == std::string::npos, index.string(), ": shard name '",
                   shard, "' must be a file in the same directory");
      auto f = file_index.find(shard);
      if (f == file_index.end()) {
        files_.push_back(std::make_unique<SafetensorsFile>((fs::path(dir) / shard).string()));
        f = file_index.emplace(shard, files_.size() - 1).first;
      }
      QINFER_CHECK(files_[f->second]->has(it.key()), index.string(), ": tensor '", it.key(),
                   "' is mapped to ", shard, " but that file does not contain it");
      where_[it.key()] = f->second;
    }
  } else if (fs::exists(single)) {
    files_.push_back(std::make_unique<SafetensorsFile>(single.string()));
    for (const auto& n : files_[0]->names()) where_[n] = 0;
  } else {
    QINFER_FAIL(dir, ": no model.safetensors or model.safetensors.index.json");
  }
}

Tensor SafetensorsCheckpoint::get(const std::string& name) const {
  auto it = where_.find(name);
  QINFER_CHECK(it != where_.end(), "checkpoint: missing tensor '", name, "'");
  return files_[it->second]->get(name);
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> r;
  for (const auto& [k, v] : where_) r.push_back(k);
  return r;
}

std::string SafetensorsCheckpoint::file_of(const std::string& name) const {
  auto it = where_.find(name);
  return it == where_.end() ? "checkpoint" : files_[it->second]->file_of(name);
}

std::string safetensors_header(const std::vector<SafetensorsLayout>& layout,
                               const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) {
    Json m = Json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    header["__metadata__"] = m;
  }
  size_t offset = 0;
  for (const SafetensorsLayout& e : layout) {
    header[e.name] = Json{{"dtype", std::string(dtype_name(e.dtype))},
                          {"shape", e.shape},
                          {"data_offsets", {offset, offset + e.nbytes()}}};
    offset += e.nbytes();
  }
  std::string h = header.dump();
  while ((8 + h.size()) % 8 != 0) h.push_back(' ');
  const uint64_t n = h.size();
  return std::string(reinterpret_cast<const char*>(&n), 8) + h;
}

void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<SafetensorsLayout> layout;
  for (const auto& [name, t] : tensors) {
    QINFER_CHECK(t.device() == Device::kCpu, "write_safetensors: tensor '", name,
                 "' is not on the CPU");
    layout.push_back({name, t.dtype(), t.shape()});
  }
  const std::string h = safetensors_header(layout, metadata);
  std::ofstream out(path, std::ios::binary);
  QINFER_CHECK(out.good(), path, ": cannot write");
  out.write(h.data(), std::streamsize(h.size()));
  for (const auto& [name, t] : tensors)
    out.write(static_cast<const char*>(t.data()), std::streamsize(t.nbytes()));
  QINFER_CHECK(out.good(), path, ": write failed (disk full?)");
}

void write_safetensors_sharded(const std::string& dir,
                               const std::vector<std::pair<std::string, Tensor>>& tensors,
                               size_t max_shard_bytes,
                               const std::map<std::string, std::string>& metadata) {
  std::vector<std::vector<std::pair<std::string, Tensor>>> shards(1);
  size_t cur = 0, total = 0;
  for (const auto& nt : tensors) {
    if (cur > 0 && cur + nt.second.nbytes() > max_shard_bytes) {
      shards.emplace_back();
      cur = 0;
    }
    shards.back().push_back(nt);
    cur += nt.second.nbytes();
    total += nt.second.nbytes();
  }
  if (shards.size() == 1) {
    write_safetensors((fs::path(dir) / "model.safetensors").string(), tensors, metadata);
    return;
  }
  Json weight_map = Json::object();
  char name[64];
  for (size_t i = 0; i < shards.size(); ++i) {
    std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
    write_safetensors((fs::path(dir) / name).string(), shards[i], metadata);
    for (const auto& [n, t] : shards[i]) weight_map[n] = name;
  }
  Json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
  write_json_file((fs::path(dir) / "model.safetensors.index.json").string(), index);
}

}  // namespace qinfer::io
