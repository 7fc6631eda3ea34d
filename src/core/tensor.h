// Tensor: a typed, shaped view of memory on one device, row-major and contiguous.
// A Tensor either owns its buffer (Tensor::empty) or views memory another object keeps
// alive (an mmap'd checkpoint, a KV-cache pool); `keepalive` holds that owner.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"

namespace qinfer {

enum class Device : uint8_t { kCpu, kCuda };
std::string_view device_name(Device d);

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);
int64_t shape_numel(const Shape& s);

// Device memory comes from an allocator registered per device; the CUDA backend registers
// its own at start-up so that this layer never includes CUDA headers.
class Allocator {
 public:
  virtual ~Allocator() = default;
  virtual void* allocate(size_t bytes) = 0;
  virtual void deallocate(void* p, size_t bytes) = 0;
};
void set_allocator(Device d, Allocator* a);
Allocator* get_allocator(Device d);  // throws if none is registered for d

class Tensor {
 public:
  Tensor() = default;

  static Tensor empty(DType dtype, Shape shape, Device device = Device::kCpu);
  static Tensor zeros(DType dtype, Shape shape);  // CPU only
  static Tensor view(void* data, DType dtype, Shape shape, Device device = Device::kCpu,
                     std::shared_ptr<const void> keepalive = nullptr);

  bool defined() const { return data_ != nullptr || !shape_.empty(); }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  const Shape& shape() const { return shape_; }
  int64_t ndim() const { return int64_t(shape_.size()); }
  int64_t dim(int64_t i) const { return shape_[i < 0 ? shape_.size() + i : i]; }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype_); }

  void* data() { return data_; }
  const void* data() const { return data_; }
  template <typename T>
  T* data_as() { return static_cast<T*>(data_); }
  template <typename T>
  const T* data_as() const { return static_cast<const T*>(data_); }

  // Same memory, new shape with the same element count.
  Tensor reshape(Shape shape) const;
  // Rows [begin, end) of the first dimension, sharing memory.
  Tensor slice_rows(int64_t begin, int64_t end) const;
  // A CPU tensor of dtype F32 holding this tensor's values (copy; converts).
  Tensor to_f32() const;
  // A deep copy on `device` (same dtype).
  Tensor to(Device device) const;

 private:
  void* data_ = nullptr;
  DType dtype_ = DType::kF32;
  Device device_ = Device::kCpu;
  Shape shape_;
  std::shared_ptr<const void> keepalive_;
};

// Copies between devices; the CUDA backend registers the implementation.
using CopyFn = void (*)(void* dst, Device dst_dev, const void* src, Device src_dev, size_t n);
void set_copy_fn(CopyFn fn);
void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t n);

}  // namespace qinfer
