// parse_sample_result over arbitrary bytes. A random input almost never carries a valid
// xxHash64, which would keep the fuzzer in front of the checksum; so when the first byte is odd
// it is dropped and the input's last 8 bytes are replaced by the checksum of the rest, letting
// the fuzzer reach the code after the checksum (shapes, order checks).
#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_util.h"
#include "ivftrain/plan_files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ivftrain;
  if (size == 0) return 0;
  const bool fix_checksum = data[0] & 1;
  std::string bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (fix_checksum && bytes.size() >= 8) {
    const uint64_t sum = XXH64(bytes.data(), bytes.size() - 8, 0);
    std::memcpy(bytes.data() + bytes.size() - 8, &sum, 8);
  }
  auto result = parse_sample_result(bytes, "fuzz.result");
  if (!result.ok()) {
    if (result.status().code() != Status::Code::kCorruption ||
        result.status().message().find("fuzz.result") == std::string::npos) {
      fuzz::invariant_failed("a refused result is not kCorruption naming the file");
    }
    return 0;
  }
  const SampleResult& r = *result;
  const size_t n = r.rows.size();
  if (r.fragment_ids.size() != n || r.vectors.size() != n * static_cast<size_t>(r.dim) ||
      r.sq_bounds.lower.size() != r.sq_bounds.upper.size()) {
    fuzz::invariant_failed("an accepted result has inconsistent array sizes");
  }
  // Serialising an accepted result gives a file of the same size that parses back to itself
  // (not necessarily the same bytes: a plan id is read up to its first NUL).
  const std::string again = serialize_sample_result(r);
  if (again.size() != bytes.size()) fuzz::invariant_failed("a round trip changed the size");
  auto reparsed = parse_sample_result(again, "fuzz-again.result");
  if (!reparsed.ok() || serialize_sample_result(*reparsed) != again) {
    fuzz::invariant_failed("serialize_sample_result output does not parse back to itself");
  }
  return 0;
}
