// How much memory this process may use, so that a large allocation can be refused with a
// sentence before it is attempted (instead of std::bad_alloc, or the kernel's OOM killer).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "ivftrain/status.h"

namespace ivftrain {

// The most memory this process can hope to hold, in bytes: the smallest of the physical memory,
// the address-space and data-segment limits (ulimit -v, -d) and the cgroup's memory.max, or
// nullopt when none is known. A bound, not a promise: other processes share it.
std::optional<int64_t> memory_limit_bytes();

// Refuses to allocate `bytes` (for `what`, e.g. "the sample of task 3 (2,000,000 rows x 768
// dims)") when that alone exceeds memory_limit_bytes(): a kFailedPrecondition naming both sizes,
// before anything is allocated. Negative bytes (an overflowed estimate) are refused too.
Status check_memory_for(int64_t bytes, const std::string& what);

// For tests: makes memory_limit_bytes() return `bytes` (> 0) from now on; 0 restores the system's.
void set_memory_limit_for_testing(int64_t bytes);

}  // namespace ivftrain
