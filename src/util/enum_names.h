// Parsing an enum from the name its to_string() gives, with one error sentence for all enums.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "ivftrain/status.h"

namespace ivftrain {

// Returns the value among `values` whose to_string() is `s`, or an error such as
// "unknown distance type 'manhattan' (expected one of: l2, cosine, dot)".
template <typename E, size_t N>
Result<E> parse_enum(std::string_view s, const E (&values)[N], std::string_view what) {
  std::string options;
  for (E v : values) {
    if (to_string(v) == s) return v;
    options += (options.empty() ? "" : ", ") + std::string(to_string(v));
  }
  return Status::InvalidArgument(
      fmt::format("unknown {} '{}' (expected one of: {})", what, s, options));
}

}  // namespace ivftrain
