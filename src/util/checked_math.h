// Products of user numbers (rows x dim, partitions x sample rate, ...), checked: every size
// computed from flags or file headers goes through here, so that an absurd value is refused with
// a sentence instead of wrapping around into a small or negative size.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>

namespace ivftrain {

// The product of non-negative factors, or nullopt when it does not fit int64_t.
inline std::optional<int64_t> checked_mul(std::initializer_list<int64_t> factors) {
  int64_t product = 1;
  for (int64_t f : factors) {
    if (f < 0 || __builtin_mul_overflow(product, f, &product)) return std::nullopt;
  }
  return product;
}

// The product, or INT64_MAX when it does not fit (for estimates compared against a limit).
inline int64_t saturating_mul(std::initializer_list<int64_t> factors) {
  return checked_mul(factors).value_or(std::numeric_limits<int64_t>::max());
}

// The sum, or INT64_MAX when it does not fit (for estimates compared against a limit).
inline int64_t saturating_add(int64_t a, int64_t b) {
  int64_t r = 0;
  return __builtin_add_overflow(a, b, &r) ? std::numeric_limits<int64_t>::max() : r;
}

}  // namespace ivftrain
