// The CUDA backend's process-wide state: device selection, one stream, a caching device
// allocator registered with core/tensor.h, the host<->device copy function, cuBLASLt.
#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>
#include <vector>

#include "core/env.h"
#include "ops/cuda/cuda_common.h"
#include "ops/cuda/cuda_ops.h"

namespace qinfer::ops::cuda {

void fail_cuda(cudaError_t e, const char* what, const char* file, int line) {
  QINFER_FAIL("CUDA error ", cudaGetErrorName(e), " (", cudaGetErrorString(e), ") in ", what,
              " at ", file, ":", line);
}

void fail_cublas(cublasStatus_t s, const char* what, const char* file, int line) {
  QINFER_FAIL("cuBLAS error ", int(s), " in ", what, " at ", file, ":", line);
}

namespace {

// Rounds small blocks to 512 bytes and large ones to 2 MiB so that freed blocks are reused
// for the many same-sized activations of a forward pass.
size_t round_size(size_t bytes) {
  if (bytes == 0) bytes = 1;
  constexpr size_t kSmall = 512, kLarge = size_t(2) << 20;
  return bytes < (size_t(1) << 20) ? (bytes + kSmall - 1) / kSmall * kSmall
                                   : (bytes + kLarge - 1) / kLarge * kLarge;
}

// Caching allocator: freed blocks go to a free list keyed by rounded size. All device work
// runs on one stream, so a block freed by the host may be handed out again at once: any
// kernel that still reads it was queued before the new owner's kernels.
class CachingAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes) override {
    size_t n = round_size(bytes);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = free_.find(n);
    if (it != free_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      return p;
    }
    void* p = nullptr;
    cudaError_t e = cudaMalloc(&p, n);
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      release_cached_locked();
      e = cudaMalloc(&p, n);
    }
    if (e != cudaSuccess) {
      (void)cudaGetLastError();
      size_t free_b = 0, total_b = 0;
      (void)cudaMemGetInfo(&free_b, &total_b);
      QINFER_FAIL("out of GPU memory: needed ", n, " bytes (", double(n) / (1 << 20),
                  " MiB) more, ", free_b, " bytes (", double(free_b) / (1 << 20),
                  " MiB) free of ", total_b, " (", double(total_b) / (1 << 20),
                  " MiB); in use by qinfer: ", in_use_, " bytes");
    }
    in_use_ += n;
    return p;
  }

  void deallocate(void* p, size_t bytes) override {
    if (p == nullptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    free_[round_size(bytes)].push_back(p);
  }

 private:
  void release_cached_locked() {
    (void)cudaDeviceSynchronize();
    for (auto& [n, ps] : free_) {
      for (void* p : ps) {
        (void)cudaFree(p);
        in_use_ -= n;
      }
    }
    free_.clear();
  }

  std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;
  size_t in_use_ = 0;
};

void copy_fn(void* dst, Device dst_dev, const void* src, Device src_dev, size_t n) {
  cudaMemcpyKind kind = cudaMemcpyDefault;
  cudaStream_t s = stream();
  QINFER_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, kind, s));
  // Host memory may be read or freed as soon as we return; device-to-device copies stay
  // ordered on the stream like any op.
  if (dst_dev == Device::kCpu || src_dev == Device::kCpu) {
    QINFER_CUDA_CHECK(cudaStreamSynchronize(s));
  }
}

struct State {
  cudaStream_t stream = nullptr;
  cublasLtHandle_t lt = nullptr;
  void* workspace = nullptr;
  int sm_count = 0;
  int cc = 0;
  size_t smem_per_sm = 0, smem_reserved = 0;
  CachingAllocator* allocator = nullptr;
};

// Deliberately never destroyed: tensors with static lifetime may free device memory
// after main returns, and the driver reclaims everything at exit.
State* g_state = nullptr;
std::once_flag g_once;
bool g_available = false;

void init_state() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
    (void)cudaGetLastError();
    return;
  }
  auto* st = new State();
  QINFER_CUDA_CHECK(cudaSetDevice(0));
  cudaDeviceProp prop{};
  QINFER_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  st->sm_count = prop.multiProcessorCount;
  st->cc = prop.major * 10 + prop.minor;
  st->smem_per_sm = prop.sharedMemPerMultiprocessor;
  st->smem_reserved = prop.reservedSharedMemPerBlock;
  QINFER_CUDA_CHECK(cudaStreamCreateWithFlags(&st->stream, cudaStreamNonBlocking));
  QINFER_CUBLAS_CHECK(cublasLtCreate(&st->lt));
  st->allocator = new CachingAllocator();
  set_allocator(Device::kCuda, st->allocator);
  set_copy_fn(copy_fn);
  st->workspace = st->allocator->allocate(kGemmWorkspaceBytes);
  g_state = st;
  g_available = true;
}

State& state() {
  ensure_init();
  QINFER_CHECK(g_state != nullptr, "CUDA backend: no CUDA device is available");
  return *g_state;
}

}  // namespace

void ensure_init() { std::call_once(g_once, init_state); }

bool available() {
  ensure_init();
  return g_available;
}

void synchronize() { QINFER_CUDA_CHECK(cudaStreamSynchronize(state().stream)); }

cudaStream_t stream() { return state().stream; }
cublasLtHandle_t cublaslt() { return state().lt; }
void* gemm_workspace() { return state().workspace; }
int sm_count() { return state().sm_count; }
int compute_capability() { return state().cc; }
bool sm90a_available() {
#if defined(QINFER_HAVE_SM90A)
  return compute_capability() >= 90;
#else
  return false;
#endif
}
size_t smem_per_sm() { return state().smem_per_sm; }
size_t smem_reserved_per_block() { return state().smem_reserved; }
bool pdl_enabled() {
  static const bool on = env_switch("QINFER_CUDA_PDL", 1) != 0 && compute_capability() >= 90;
  return on;
}

void* device_alloc(size_t bytes) { return state().allocator->allocate(bytes); }
void device_free(void* p, size_t bytes) { state().allocator->deallocate(p, bytes); }

ScratchBuffer::~ScratchBuffer() {
  if (p_ != nullptr) device_free(p_, bytes_);
  for (auto [p, n] : retired_) device_free(p, n);
}

// A buffer that grows keeps its old block alive: a captured CUDA graph may still point at it.
// Growth is geometric, so the retired blocks add up to less than the live one.
void* ScratchBuffer::get(size_t bytes) {
  if (bytes > bytes_) {
    if (p_ != nullptr) retired_.emplace_back(p_, bytes_);
    const size_t n = std::max(bytes, bytes_ * 2);
    p_ = device_alloc(n);
    bytes_ = n;
  }
  return p_;
}

ProbeRing probe_ring() {
  static const ProbeRing ring = [] {
    ProbeRing r;
    if (env_switch("QINFER_CUDA_PROBE", 0) == 0) return r;
    QINFER_CHECK(kProbesBuilt, "QINFER_CUDA_PROBE=1: this build has no kernel probes "
                 "(configure with -DQINFER_CUDA_PROBES=ON)");
    r.records = 1 << 18;
    r.data = static_cast<uint64_t*>(device_alloc(r.records * kProbeWords * sizeof(uint64_t)));
    r.count = static_cast<unsigned long long*>(device_alloc(sizeof(unsigned long long)));
    QINFER_CUDA_CHECK(cudaMemset(r.data, 0, r.records * kProbeWords * sizeof(uint64_t)));
    QINFER_CUDA_CHECK(cudaMemset(r.count, 0, sizeof(unsigned long long)));
    return r;
  }();
  return ring;
}

uint32_t probe_launch() {
  static uint32_t next = 0;
  return ++next;
}

void probe_dump(const char* path) {
  const ProbeRing r = probe_ring();
  if (r.data == nullptr) return;
  synchronize();
  std::vector<uint64_t> host(r.records * kProbeWords);
  unsigned long long count = 0;
  QINFER_CUDA_CHECK(cudaMemcpy(host.data(), r.data, host.size() * sizeof(uint64_t),
                               cudaMemcpyDeviceToHost));
  QINFER_CUDA_CHECK(cudaMemcpy(&count, r.count, sizeof(count), cudaMemcpyDeviceToHost));
  std::FILE* f = std::fopen(path, "wb");
  QINFER_CHECK(f != nullptr, "probe_dump: cannot write ", path);
  const size_t n = size_t(std::min<unsigned long long>(count, r.records));
  std::fwrite(host.data(), sizeof(uint64_t), n * kProbeWords, f);
  std::fclose(f);
}

void check_cuda_tensor(const Tensor& t, const char* op, const char* arg) {
  QINFER_CHECK(t.device() == Device::kCuda, op, ": ", arg, " is on ",
               device_name(t.device()), ", expected cuda");
}

}  // namespace qinfer::ops::cuda
