// internal::printable, declared in ivftrain/status.h.
#include <fmt/format.h>

#include <string>

#include "ivftrain/status.h"

namespace ivftrain::internal {
namespace {

// The length of the well-formed UTF-8 sequence starting at s[i] (2 to 4), or 0.
size_t utf8_length(const std::string& s, size_t i, uint32_t* code_point) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b = byte(i);
  size_t n = 0;
  uint32_t cp = 0;
  if (b >= 0xC2 && b <= 0xDF) {
    n = 2, cp = b & 0x1F;
  } else if (b >= 0xE0 && b <= 0xEF) {
    n = 3, cp = b & 0x0F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    n = 4, cp = b & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  *code_point = cp;
  return n;
}

}  // namespace

std::string printable(std::string text) {
  bool plain = true;
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b >= 0x7F) {
      plain = false;
      break;
    }
  }
  if (plain) return text;  // the usual case: nothing to copy
  std::string out;
  out.reserve(text.size() + 16);
  for (size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b >= 0x20 && b < 0x7F) {
      out.push_back(text[i++]);
    } else if (b == '\n' || b == '\r' || b == '\t') {
      out += b == '\n' ? "\\n" : b == '\r' ? "\\r" : "\\t";
      ++i;
    } else if (uint32_t cp = 0; b >= 0x80) {
      const size_t n = utf8_length(text, i, &cp);
      if (n == 0) {
        out += fmt::format("\\x{:02x}", b);
        ++i;
      } else if (cp <= 0x9F) {  // C1 controls: CSI (U+009B) starts an escape sequence too
        out += fmt::format("\\u{:04x}", cp);
        i += n;
      } else {
        out.append(text, i, n);
        i += n;
      }
    } else {
      out += fmt::format("\\x{:02x}", b);
      ++i;
    }
  }
  return out;
}

}  // namespace ivftrain::internal
