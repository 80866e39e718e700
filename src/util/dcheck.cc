#include <cstdio>
#include <cstdlib>

#include "util/status_macros.h"

namespace ivftrain::internal {

void dcheck_failed(const char* condition, const char* why, const char* file, int line) {
  // An invariant broke: this is a bug in ivftrain, not bad input, so there is no Status to
  // return. Say where, then stop before the broken state is written anywhere.
  std::fprintf(stderr, "ivftrain: internal check failed at %s:%d: %s (%s)\n", file, line, condition,
               why);
  std::abort();
}

}  // namespace ivftrain::internal
