#include "core/tensor.h"

#include <array>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "core/error.h"

namespace qinfer {

std::string_view device_name(Device d) { return d == Device::kCpu ? "cpu" : "cuda"; }

std::string shape_str(const Shape& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
  return r + "]";
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

namespace {

class CpuAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes) override {
    // 64-byte alignment: AVX-512 loads, cache lines.
    size_t rounded = (bytes + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
    QINFER_CHECK(p != nullptr, "out of host memory allocating ", bytes, " bytes");
    return p;
  }
  void deallocate(void* p, size_t) override { std::free(p); }
};

CpuAllocator g_cpu_allocator;
std::array<Allocator*, 2> g_allocators = {&g_cpu_allocator, nullptr};
CopyFn g_copy_fn = nullptr;

}  // namespace

void set_allocator(Device d, Allocator* a) { g_allocators[size_t(d)] = a; }

Allocator* get_allocator(Device d) {
  Allocator* a = g_allocators[size_t(d)];
  QINFER_CHECK(a != nullptr, "no allocator for device ", device_name(d),
               " (this build has no backend for it)");
  return a;
}

void set_copy_fn(CopyFn fn) { g_copy_fn = fn; }

void copy_bytes(void* dst, Device dst_dev, const void* src, Device src_dev, size_t n) {
  if (n == 0) return;
  if (dst_dev == Device::kCpu && src_dev == Device::kCpu) {
    std::memcpy(dst, src, n);
    return;
  }
  QINFER_CHECK(g_copy_fn != nullptr, "copy between ", device_name(src_dev), " and ",
               device_name(dst_dev), ": no CUDA backend in this build");
  g_copy_fn(dst, dst_dev, src, src_dev, n);
}

Tensor Tensor::empty(DType dtype, Shape shape, Device device) {
  for (int64_t d : shape) QINFER_CHECK(d >= 0, "negative dimension in shape ", shape_str(shape));
  Tensor t;
  t.dtype_ = dtype;
  t.device_ = device;
  t.shape_ = std::move(shape);
  size_t bytes = t.nbytes();
  Allocator* alloc = get_allocator(device);
  void* p = alloc->allocate(bytes);
  t.data_ = p;
  t.keepalive_ = std::shared_ptr<const void>(p, [alloc, bytes](const void* q) {
    alloc->deallocate(const_cast<void*>(q), bytes);
  });
  return t;
}

Tensor Tensor::zeros(DType dtype, Shape shape) {
  Tensor t = empty(dtype, std::move(shape));
  std::memset(t.data_, 0, t.nbytes());
  return t;
}

Tensor Tensor::view(void* data, DType dtype, Shape shape, Device device,
                    std::shared_ptr<const void> keepalive) {
  Tensor t;
  t.data_ = data;
  t.dtype_ = dtype;
  t.device_ = device;
  t.shape_ = std::move(shape);
  t.keepalive_ = std::move(keepalive);
  return t;
}

Tensor Tensor::reshape(Shape shape) const {
  QINFER_CHECK(shape_numel(shape) == numel(), "reshape ", shape_str(shape_), " -> ",
               shape_str(shape), ": element counts differ");
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::slice_rows(int64_t begin, int64_t end) const {
  QINFER_CHECK(ndim() >= 1 && begin >= 0 && begin <= end && end <= shape_[0],
               "slice_rows [", begin, ", ", end, ") out of range for shape ", shape_str(shape_));
  Tensor t = *this;
  size_t row_bytes = shape_[0] == 0 ? 0 : nbytes() / size_t(shape_[0]);
  t.data_ = static_cast<char*>(data_) + size_t(begin) * row_bytes;
  t.shape_[0] = end - begin;
  return t;
}

Tensor Tensor::to_f32() const {
  Tensor src = device_ == Device::kCpu ? *this : to(Device::kCpu);
  Tensor r = empty(DType::kF32, shape_);
  float* out = r.data_as<float>();
  const size_t n = size_t(numel());
  for (size_t i = 0; i < n; ++i) out[i] = load_as_f32(src.data_, dtype_, i);
  return r;
}

Tensor Tensor::to(Device device) const {
  Tensor r = empty(dtype_, shape_, device);
  copy_bytes(r.data_, device, data_, device_, nbytes());
  return r;
}

}  // namespace qinfer
