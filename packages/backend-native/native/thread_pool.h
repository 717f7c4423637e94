// A small fixed pool of worker threads for the kernels.
//
// Determinism does not come from the pool but from how the kernels use it: work
// is cut into chunks whose boundaries depend only on the tensor shapes, every
// chunk writes its own outputs (or its own partial sums, reduced afterwards in
// chunk order), so a result never depends on which thread ran which chunk or on
// how many threads there are.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace convnets {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(chunk, thread) once for every chunk in [0, chunks); the calling
  // thread takes part as thread 0. Returns when all chunks are done.
  void run(int64_t chunks, const std::function<void(int64_t, int)>& fn);

 private:
  void work(int thread);
  void drain(int thread);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(int64_t, int)>* job_ = nullptr;
  int64_t chunks_ = 0;
  std::atomic<int64_t> next_{0};
  int busy_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

// The process-wide pool, created on first use with CONVNETS_NATIVE_THREADS
// threads (default: the hardware concurrency).
ThreadPool& pool();

}  // namespace convnets
