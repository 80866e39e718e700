#include "io/npy.h"

#include <fmt/format.h>

#include <charconv>
#include <cstring>
#include <string_view>

#include "io/formats.h"
#include "util/files.h"
#include "util/status_macros.h"

namespace ivftrain {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

// The header is a Python dict literal; this accepts exactly the subset NumPy writes (and
// reasonable hand-written variants): string keys, a string descr, True/False, a tuple of
// non-negative ints.
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : s_(text) {}

  // Parses the whole dict into `h`; on failure returns why.
  std::string parse(NpyHeader* h) {
    bool have_descr = false, have_order = false, have_shape = false;
    skip_space();
    if (!consume('{')) return "expected '{'";
    for (;;) {
      skip_space();
      if (consume('}')) break;
      std::string key;
      if (!parse_string(&key)) return "expected a quoted key";
      skip_space();
      if (!consume(':')) return fmt::format("expected ':' after '{}'", key);
      skip_space();
      if (key == "descr" && !have_descr) {
        if (!parse_string(&h->descr)) return "'descr' is not a simple type string";
        have_descr = true;
      } else if (key == "fortran_order" && !have_order) {
        if (!parse_bool(&h->fortran_order)) return "'fortran_order' is not True or False";
        have_order = true;
      } else if (key == "shape" && !have_shape) {
        if (!parse_shape(&h->shape)) return "'shape' is not a tuple of non-negative integers";
        have_shape = true;
      } else {
        return fmt::format("unexpected or repeated key '{}'", key);
      }
      skip_space();
      if (consume(',')) continue;
      skip_space();
      if (consume('}')) break;
      return "expected ',' or '}'";
    }
    skip_space();
    if (i_ != s_.size()) return "unexpected text after the dict";
    if (!have_descr) return "no 'descr'";
    if (!have_order) return "no 'fortran_order'";
    if (!have_shape) return "no 'shape'";
    return "";
  }

 private:
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t')) ++i_;
  }
  bool consume(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool consume_word(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }
  bool parse_string(std::string* out) {
    if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) return false;
    const char quote = s_[i_++];
    const size_t end = s_.find(quote, i_);
    if (end == std::string_view::npos) return false;
    const std::string_view body = s_.substr(i_, end - i_);
    if (body.find('\\') != std::string_view::npos) return false;  // no escapes in type strings
    *out = std::string(body);
    i_ = end + 1;
    return true;
  }
  bool parse_bool(bool* out) {
    if (consume_word("True")) return *out = true, true;
    if (consume_word("False")) return *out = false, true;
    return false;
  }
  bool parse_int(int64_t* out) {
    const char* begin = s_.data() + i_;
    const char* end = s_.data() + s_.size();
    if (begin == end || *begin < '0' || *begin > '9') return false;
    auto [p, ec] = std::from_chars(begin, end, *out);
    if (ec != std::errc()) return false;
    i_ += static_cast<size_t>(p - begin);
    return true;
  }
  // "()", "(n,)", "(n, m)", "(n, m,)". "(n)" is an int in Python, not a tuple: refused.
  bool parse_shape(std::vector<int64_t>* shape) {
    shape->clear();
    if (!consume('(')) return false;
    skip_space();
    if (consume(')')) return true;
    for (;;) {
      int64_t v;
      if (!parse_int(&v)) return false;
      shape->push_back(v);
      skip_space();
      if (consume(',')) {
        skip_space();
        if (consume(')')) return true;
        continue;
      }
      return shape->size() > 1 && consume(')');
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

uint32_t read_le(const char* p, size_t n) {
  uint32_t v = 0;
  for (size_t k = 0; k < n; ++k) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[k])) << (8 * k);
  return v;
}

}  // namespace

std::string npy_shape_text(const std::vector<int64_t>& shape) {
  if (shape.size() == 1) return fmt::format("({},)", shape[0]);
  return fmt::format("({})", fmt::join(shape, ", "));
}

std::string npy_bytes(const std::vector<int64_t>& shape, const std::string& descr, const void* data,
                      size_t element_size) {
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                   descr, npy_shape_text(shape));
  // NumPy aligns the data to 64 bytes: magic (6) + version (2) + length (2) + header + '\n'.
  const size_t unpadded = kMagicLen + 4 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  int64_t count = 1;
  for (const int64_t d : shape) count *= d;
  const size_t data_bytes = static_cast<size_t>(count) * element_size;

  std::string out;
  out.reserve(kMagicLen + 4 + header.size() + data_bytes);
  out.append(kMagic, kMagicLen);
  out.push_back('\x01');
  out.push_back('\x00');
  out.push_back(static_cast<char>(header.size() & 0xFF));
  out.push_back(static_cast<char>((header.size() >> 8) & 0xFF));
  out += header;
  out.append(static_cast<const char*>(data), data_bytes);
  return out;
}

Result<NpyHeader> parse_npy_header(const char* bytes, size_t size, const std::string& name) {
  if (size < kMagicLen + 4) {
    return Status::Corruption(
        fmt::format("{}: too short to be a .npy file ({} bytes)", name, size));
  }
  if (std::memcmp(bytes, kMagic, kMagicLen) != 0) {
    return Status::Corruption(fmt::format("{}: not a .npy file (bad magic)", name));
  }
  const int major = static_cast<uint8_t>(bytes[6]), minor = static_cast<uint8_t>(bytes[7]);
  if (major < 1 || major > 3 || minor != 0) {
    return Status::Corruption(
        fmt::format("{}: unsupported .npy version {}.{}", name, major, minor));
  }
  // Version 1 has a 2-byte header length; versions 2 and 3 a 4-byte one.
  const size_t len_bytes = major == 1 ? 2 : 4;
  const size_t start = kMagicLen + 2 + len_bytes;
  if (size < start) {
    return Status::Corruption(
        fmt::format("{}: too short to be a .npy file ({} bytes)", name, size));
  }
  const size_t header_len = read_le(bytes + kMagicLen + 2, len_bytes);
  if (header_len > size - start) {
    return Status::Corruption(
        fmt::format("{}: .npy header of {} bytes runs past the end of the file ({} bytes)", name,
                    header_len, size));
  }
  NpyHeader h;
  const std::string_view text(bytes + start, header_len);
  const std::string why = HeaderParser(text).parse(&h);
  if (!why.empty()) {
    const std::string_view shown = text.substr(0, 200);
    return Status::Corruption(fmt::format("{}: malformed .npy header ({}): {}", name, why,
                                          shown.substr(0, shown.find_last_not_of(" \n") + 1)));
  }
  h.data_offset = start + header_len;
  return h;
}

Result<std::vector<float>> read_npy_f32(const std::string& path, std::vector<int64_t>* shape) {
  IVF_ASSIGN_OR_RETURN(const std::string bytes, read_file(path));
  IVF_ASSIGN_OR_RETURN(const NpyHeader h, parse_npy_header(bytes.data(), bytes.size(), path));
  if (h.descr != "<f4" || h.fortran_order) {
    return Status::InvalidArgument(
        fmt::format("{}: expected a C-order float32 array ('<f4'), found '{}'{}", path, h.descr,
                    h.fortran_order ? " in Fortran order" : ""));
  }
  const std::optional<int64_t> count = [&]() -> std::optional<int64_t> {
    int64_t n = 1;
    for (const int64_t d : h.shape) {
      auto p = checked_product(n, d, 1);
      if (!p) return std::nullopt;
      n = *p;
    }
    return checked_product(n, sizeof(float));
  }();
  const size_t available = bytes.size() - h.data_offset;
  if (!count || static_cast<uint64_t>(*count) != available) {
    return Status::Corruption(fmt::format(
        "{}: shape {} needs {} bytes of data but the file holds {}", path, npy_shape_text(h.shape),
        count ? fmt::format("{}", *count) : "too many", available));
  }
  std::vector<float> out(static_cast<size_t>(*count) / sizeof(float));
  if (!out.empty())
    std::memcpy(out.data(), bytes.data() + h.data_offset, static_cast<size_t>(*count));
  if (shape) *shape = h.shape;
  return out;
}

}  // namespace ivftrain
