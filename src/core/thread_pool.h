// A fixed pool of worker threads for data-parallel loops (GEMV rows, attention heads).
// parallel_for splits [0, n) into contiguous chunks, one per thread, and blocks until all
// chunks finish; the calling thread works on the first chunk.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace qinfer {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }
  // fn(begin, end, thread_index) over contiguous chunks of [0, n); chunks are multiples of
  // `grain` except the last.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn,
                    int64_t grain = 1);

  // The process-wide pool: QINFER_THREADS, else the number of hardware threads.
  static ThreadPool& global();

 private:
  void worker(int index);

  int n_threads_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_start_;
  std::condition_variable cv_done_;
  const std::function<void(int64_t, int64_t, int)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int64_t job_chunk_ = 0;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
  std::mutex call_mu_;  // one parallel_for at a time
};

inline void parallel_for(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn,
                         int64_t grain = 1) {
  ThreadPool::global().parallel_for(n, fn, grain);
}

}  // namespace qinfer
