// Thread counts and the one block-parallel loop. ivftrain parallelises with OpenMP and calls
// OpenBLAS single-threaded from inside its own parallel regions, so the two never oversubscribe
// the cores.
//
// Determinism: work is cut into blocks whose boundaries depend only on the size and the block
// size, never on the thread count; each block is computed by one thread, and what the blocks
// return is added in block order. Any thread count therefore gives the same bits.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "util/status_macros.h"

namespace ivftrain {

// `requested` if positive, otherwise the number of cores OpenMP reports.
int resolve_threads(int requested);

// While any SingleThreadedBlas is alive, in any thread, OpenBLAS runs single-threaded; when the
// last one goes, OpenBLAS's thread count is what it was before the first (see threads.cc for
// why). Hold one around every SGEMM call.
class SingleThreadedBlas {
 public:
  SingleThreadedBlas();
  ~SingleThreadedBlas();
  SingleThreadedBlas(const SingleThreadedBlas&) = delete;
  SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;
};

// Blocks of `block_size` items covering [0, n); the last may be shorter.
inline int64_t num_blocks(int64_t n, int64_t block_size) {
  return (n + block_size - 1) / block_size;
}

// How much work a parallel loop holds, so that small jobs run on fewer threads than asked for
// (threads are not worth waking for less than `min_per_thread` each). It never changes results.
// The default leaves the number of blocks alone to limit the threads.
struct Work {
  int64_t total = std::numeric_limits<int64_t>::max();
  int64_t min_per_thread = 1;
};

// The one thread clamp: the request (0: all cores), no more than one thread per job nor per
// `min_per_thread` of work, and at least 1.
inline int clamp_threads(int num_threads, int64_t jobs, Work work = {}) {
  const int64_t useful = std::min(jobs, work.total / std::max<int64_t>(1, work.min_per_thread));
  return static_cast<int>(
      std::clamp<int64_t>(useful, 1, std::max(1, resolve_threads(num_threads))));
}

// Runs body(state, b, begin, end) for every block b = [begin, end) of `block_size` items of
// [0, n), in parallel on clamp_threads(num_threads, blocks, work) threads, each thread with a
// state of its own from make_state() (scratch reused across its blocks). Returns the sum of what
// the bodies return (a double; a void body counts 0), added in block order.
template <typename MakeState, typename Body>
double parallel_blocks(int64_t n, int64_t block_size, int num_threads, Work work,
                       MakeState&& make_state, Body&& body) {
  IVF_DCHECK(block_size > 0, "a block holds at least one item");
  const int64_t blocks = num_blocks(n, block_size);
  if (blocks <= 0) return 0;
  const int threads = clamp_threads(num_threads, blocks, work);
  using State = decltype(make_state());
  constexpr bool kSums =
      !std::is_void_v<std::invoke_result_t<Body&, State&, int64_t, int64_t, int64_t>>;
  std::vector<double> sums(kSums ? static_cast<size_t>(blocks) : 0, 0.0);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    State state = make_state();
#pragma omp for schedule(dynamic)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t begin = b * block_size;
      const int64_t end = std::min(n, begin + block_size);
      if constexpr (kSums) {
        sums[static_cast<size_t>(b)] = body(state, b, begin, end);
      } else {
        body(state, b, begin, end);
      }
    }
  }
  double total = 0;
  for (double s : sums) total += s;
  return total;
}

// The same without per-thread state: body(b, begin, end).
template <typename Body>
double parallel_blocks(int64_t n, int64_t block_size, int num_threads, Work work, Body&& body) {
  struct NoState {};
  return parallel_blocks(
      n, block_size, num_threads, work, [] { return NoState{}; },
      [&body](NoState&, int64_t b, int64_t begin, int64_t end) { return body(b, begin, end); });
}

}  // namespace ivftrain
