// parse_fragment_list: "0,3,7-9" -> {0, 3, 7, 8, 9}.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <string_view>

#include "ivftrain/dataset.h"

namespace ivftrain {
namespace {

// A whole token of decimal digits, no sign.
bool parse_id(std::string_view s, int64_t* out) {
  if (s.empty() || s[0] < '0' || s[0] > '9') return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<std::vector<int64_t>> parse_fragment_list(const std::string& text) {
  // Fragment ids are listed by people; a range this long is a typo, not a request.
  constexpr int64_t kMaxIds = int64_t{1} << 24;
  std::vector<int64_t> ids;
  std::string_view rest(text);
  for (;;) {
    const size_t comma = rest.find(',');
    const std::string_view token = trim(rest.substr(0, comma));
    const auto bad = [&](const char* why) {
      return Status::InvalidArgument(
          fmt::format("fragment list \"{}\": '{}' {}", text, token, why));
    };
    const size_t dash = token.find('-');
    int64_t lo = 0, hi = 0;
    if (token.empty()) {
      return bad("is an empty entry (expected an id or a range FIRST-LAST)");
    } else if (dash == std::string_view::npos) {
      if (!parse_id(token, &lo)) return bad("is not a fragment id (a non-negative integer)");
      hi = lo;
    } else if (!parse_id(trim(token.substr(0, dash)), &lo) ||
               !parse_id(trim(token.substr(dash + 1)), &hi)) {
      return bad("is not a fragment id or a range FIRST-LAST");
    } else if (lo > hi) {
      return bad("is a decreasing range");
    }
    if (hi - lo >= kMaxIds - static_cast<int64_t>(ids.size())) return bad("lists too many ids");
    for (int64_t id = lo; id <= hi; ++id) ids.push_back(id);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

}  // namespace ivftrain
