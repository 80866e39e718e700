// Internal helpers for propagating Status and Result.
#pragma once

#include "ivftrain/status.h"

#define IVF_CONCAT_INNER(a, b) a##b
#define IVF_CONCAT(a, b) IVF_CONCAT_INNER(a, b)

#define IVF_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::ivftrain::Status ivf_status_ = (expr);   \
    if (!ivf_status_.ok()) return ivf_status_; \
  } while (0)

#define IVF_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()

// IVF_ASSIGN_OR_RETURN(auto x, f()) declares x from a Result, or returns its Status.
#define IVF_ASSIGN_OR_RETURN(lhs, expr) \
  IVF_ASSIGN_OR_RETURN_IMPL(IVF_CONCAT(ivf_result_, __LINE__), lhs, expr)

// IVF_DCHECK(cond, "why"): an internal invariant the code relies on. Checked in debug and
// sanitizer builds (NDEBUG unset), where a failure prints the condition, the file and line and
// the reason, then aborts; compiled out of release builds. Not for user input: bad input is a
// Status.
#ifdef NDEBUG
#define IVF_DCHECK(cond, why) \
  do {                        \
    (void)sizeof(!(cond));    \
  } while (0)
#else
#define IVF_DCHECK(cond, why)                                                         \
  do {                                                                                \
    if (!(cond)) ::ivftrain::internal::dcheck_failed(#cond, why, __FILE__, __LINE__); \
  } while (0)
#endif

namespace ivftrain::internal {
[[noreturn]] void dcheck_failed(const char* condition, const char* why, const char* file, int line);
}  // namespace ivftrain::internal
