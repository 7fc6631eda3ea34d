// A kernel timeline for any CUDA process, nsys being absent on the device machine: a CUPTI
// injection library. The CUDA driver loads it when CUDA_INJECTION64_PATH names it and calls
// InitializeInjection(); it records every kernel's GPU start and end (CUPTI's concurrent-kernel
// activity, which covers the kernel nodes of CUDA graphs), and every memory copy and memset
// (named "memcpy HtoD 512 B" and the like, grid 0), and writes them as CSV at exit:
//
//   CUDA_INJECTION64_PATH=$PWD/libcupti_trace.so QINFER_CUPTI_OUT=trace.csv qinfer bench ...
//
// Columns: start_ns,end_ns,graph_id,graph_node,grid_x,block_x,name (demangled). Environment:
// QINFER_CUPTI_SKIP (records to drop first, default 0) and QINFER_CUPTI_MAX (records to keep
// after them, default 2,000,000). tools/cupti_timeline.py turns the CSV into per-kernel tables.
// QINFER_CUPTI_API=path also records the host's CUDA runtime API calls (their host start and
// end, on the same clock) into a second CSV: start_ns,end_ns,thread,name (tools/step_gaps.py).
// Built by tools/cupti_trace/build.sh against the PyPI package nvidia-cuda-cupti.
#include <cupti.h>
#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <iterator>
#include <vector>

namespace {

constexpr size_t kBufferBytes = size_t(8) << 20;

struct Record {
  uint64_t start, end, graph_node;
  uint32_t graph_id;
  int32_t grid_x, block_x;
  std::string name;
};

std::mutex g_mu;
std::vector<Record> g_records;
struct ApiRecord {
  uint64_t start, end;
  uint32_t thread, cbid;
};
std::vector<ApiRecord> g_api;
uint64_t g_seen = 0, g_skip = 0, g_max = 2000000;

// CUpti_ActivityMemcpyKind's names, by value.
constexpr const char* kCopyKinds[] = {"?",    "HtoD", "DtoH", "HtoA", "AtoH", "AtoA",
                                      "AtoD", "DtoA", "DtoD", "HtoH", "PtoP"};

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

std::string demangle(const char* name) {
  if (name == nullptr) return "?";
  int status = 0;
  char* d = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string out = status == 0 && d != nullptr ? d : name;
  std::free(d);
  return out;
}

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(8, kBufferBytes));
  *size = kBufferBytes;
  *max_records = 0;
}

void CUPTIAPI buffer_completed(CUcontext, uint32_t, uint8_t* buffer, size_t, size_t valid) {
  CUpti_Activity* rec = nullptr;
  std::lock_guard<std::mutex> lock(g_mu);
  while (cuptiActivityGetNextRecord(buffer, valid, &rec) == CUPTI_SUCCESS) {
    const CUpti_ActivityKind kind = rec->kind;
    if (kind == CUPTI_ACTIVITY_KIND_RUNTIME) {
      const auto* a = reinterpret_cast<const CUpti_ActivityAPI*>(rec);
      g_api.push_back(ApiRecord{a->start, a->end, a->threadId, a->cbid});
      continue;
    }
    if (kind != CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL && kind != CUPTI_ACTIVITY_KIND_KERNEL &&
        kind != CUPTI_ACTIVITY_KIND_MEMCPY && kind != CUPTI_ACTIVITY_KIND_MEMSET)
      continue;
    const uint64_t i = g_seen++;
    if (i < g_skip || i - g_skip >= g_max) continue;
    if (kind == CUPTI_ACTIVITY_KIND_MEMCPY) {
      const auto* m = reinterpret_cast<const CUpti_ActivityMemcpy6*>(rec);
      const char* dir = m->copyKind < std::size(kCopyKinds) ? kCopyKinds[m->copyKind] : "?";
      g_records.push_back(Record{m->start, m->end, m->graphNodeId, m->graphId, 0, 0,
                                 "memcpy " + std::string(dir) + " " + std::to_string(m->bytes) +
                                     " B"});
    } else if (kind == CUPTI_ACTIVITY_KIND_MEMSET) {
      const auto* m = reinterpret_cast<const CUpti_ActivityMemset4*>(rec);
      g_records.push_back(Record{m->start, m->end, m->graphNodeId, m->graphId, 0, 0,
                                 "memset " + std::to_string(m->bytes) + " B"});
    } else {
      const auto* k = reinterpret_cast<const CUpti_ActivityKernel10*>(rec);
      g_records.push_back(Record{k->start, k->end, k->graphNodeId, k->graphId, k->gridX,
                                 k->blockX, demangle(k->name)});
    }
  }
  std::free(buffer);
}

void write_out() {
  cuptiActivityFlushAll(1);
  const char* path = std::getenv("QINFER_CUPTI_OUT");
  FILE* f = std::fopen(path != nullptr ? path : "cupti_trace.csv", "w");
  if (f == nullptr) {
    std::fprintf(stderr, "cupti_trace: cannot write %s\n", path != nullptr ? path : "cupti_trace.csv");
    return;
  }
  std::lock_guard<std::mutex> lock(g_mu);
  std::fprintf(f, "start_ns,end_ns,graph_id,graph_node,grid_x,block_x,name\n");
  for (const Record& r : g_records) {
    std::string name = r.name;
    for (char& c : name)
      if (c == '"') c = '\'';
    std::fprintf(f, "%llu,%llu,%u,%llu,%d,%d,\"%s\"\n", (unsigned long long)r.start,
                 (unsigned long long)r.end, r.graph_id, (unsigned long long)r.graph_node, r.grid_x,
                 r.block_x, name.c_str());
  }
  std::fclose(f);
  std::fprintf(stderr, "cupti_trace: %zu of %llu kernel and copy records\n", g_records.size(),
               (unsigned long long)g_seen);
  const char* api_path = std::getenv("QINFER_CUPTI_API");
  if (api_path == nullptr || *api_path == '\0') return;
  FILE* a = std::fopen(api_path, "w");
  if (a == nullptr) {
    std::fprintf(stderr, "cupti_trace: cannot write %s\n", api_path);
    return;
  }
  std::fprintf(a, "start_ns,end_ns,thread,name\n");
  for (const ApiRecord& r : g_api) {
    const char* name = nullptr;
    if (cuptiGetCallbackName(CUPTI_CB_DOMAIN_RUNTIME_API, r.cbid, &name) != CUPTI_SUCCESS ||
        name == nullptr)
      name = "?";
    std::fprintf(a, "%llu,%llu,%u,%s\n", (unsigned long long)r.start,
                 (unsigned long long)r.end, r.thread, name);
  }
  std::fclose(a);
  std::fprintf(stderr, "cupti_trace: %zu runtime API records\n", g_api.size());
}

}  // namespace

extern "C" int InitializeInjection() {
  g_skip = env_u64("QINFER_CUPTI_SKIP", 0);
  g_max = env_u64("QINFER_CUPTI_MAX", g_max);
  if (cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed) != CUPTI_SUCCESS ||
      cuptiActivityEnable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) != CUPTI_SUCCESS ||
      cuptiActivityEnable(CUPTI_ACTIVITY_KIND_MEMCPY) != CUPTI_SUCCESS ||
      cuptiActivityEnable(CUPTI_ACTIVITY_KIND_MEMSET) != CUPTI_SUCCESS) {
    std::fprintf(stderr, "cupti_trace: CUPTI activity tracing could not be enabled\n");
    return 0;
  }
  const char* api = std::getenv("QINFER_CUPTI_API");
  if (api != nullptr && *api != '\0' &&
      cuptiActivityEnable(CUPTI_ACTIVITY_KIND_RUNTIME) != CUPTI_SUCCESS)
    std::fprintf(stderr, "cupti_trace: runtime API records could not be enabled\n");
  std::atexit(write_out);
  return 1;
}
