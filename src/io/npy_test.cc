#include "io/npy.h"

#include <gtest/gtest.h>

#include <cstring>

#include "test_util.h"
#include "util/files.h"

namespace ivftrain {
namespace {

// A .npy header of `dict` (version `major`), padded as NumPy pads it, with no data.
std::string raw_npy(const std::string& dict, int major = 1) {
  std::string header = dict;
  const size_t prefix = major == 1 ? 10 : 12;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY", 6);
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  const size_t n = header.size();
  out.push_back(static_cast<char>(n & 0xFF));
  out.push_back(static_cast<char>((n >> 8) & 0xFF));
  if (major != 1) out.append(2, '\0');
  return out + header;
}

TEST(NpyBytes, MatchesNumpysLayout) {
  const float data[6] = {0, 1, 2, 3, 4, 5};
  const std::string bytes = npy_bytes_f32({2, 3}, data);
  // np.save(np.arange(6, dtype='<f4').reshape(2, 3)): a 118-byte (0x76) v1.0 header, so the
  // data starts at byte 128, and this exact dict text.
  ASSERT_EQ(bytes.size(), 128u + sizeof data);
  EXPECT_EQ(bytes.substr(0, 10), std::string("\x93NUMPY\x01\x00\x76\x00", 10));
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  EXPECT_EQ(bytes.substr(10, dict.size()), dict);
  EXPECT_EQ(bytes[127], '\n');
  EXPECT_EQ(bytes.find_first_not_of(' ', 10 + dict.size()), 127u);
  EXPECT_EQ(std::memcmp(bytes.data() + 128, data, sizeof data), 0);
}

TEST(NpyBytes, DataAlwaysStartsAtAMultipleOf64) {
  const uint8_t zero[1] = {0};
  for (const auto& shape : std::vector<std::vector<int64_t>>{
           {}, {1}, {1, 1}, {123456789, 0}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}}) {
    const std::string bytes = npy_bytes(shape, "|u1", zero, shape.empty() ? 1 : 0);
    auto h = parse_npy_header(bytes.data(), bytes.size(), "x.npy");
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    EXPECT_EQ(h->data_offset % 64, 0u);
    EXPECT_EQ(bytes[h->data_offset - 1], '\n');
    EXPECT_EQ(h->shape, shape);
    EXPECT_EQ(h->descr, "|u1");
  }
}

TEST(ParseNpyHeader, ReadsRoundTripAndVariants) {
  const std::string one_d = npy_bytes({5}, "<f8", nullptr, 0);
  auto h = parse_npy_header(one_d.data(), one_d.size(), "a.npy");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->descr, "<f8");
  EXPECT_FALSE(h->fortran_order);
  EXPECT_EQ(h->shape, (std::vector<int64_t>{5}));

  // Double quotes, another key order, no trailing comma, Fortran order, version 2.
  const std::string v2 =
      raw_npy("{\"shape\": (7, 2), \"fortran_order\": True, \"descr\": \"<f2\"}", 2);
  h = parse_npy_header(v2.data(), v2.size(), "b.npy");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->descr, "<f2");
  EXPECT_TRUE(h->fortran_order);
  EXPECT_EQ(h->shape, (std::vector<int64_t>{7, 2}));
  EXPECT_EQ(h->data_offset, v2.size());

  const std::string v3 = raw_npy("{'descr': '|i1', 'fortran_order': False, 'shape': (3, 4,), }", 3);
  h = parse_npy_header(v3.data(), v3.size(), "c.npy");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->shape, (std::vector<int64_t>{3, 4}));
}

void expect_corrupt(const std::string& bytes, const std::string& why) {
  auto h = parse_npy_header(bytes.data(), bytes.size(), "bad.npy");
  ASSERT_FALSE(h.ok()) << why;
  EXPECT_EQ(h.status().code(), Status::Code::kCorruption) << why;
  EXPECT_NE(h.status().message().find("bad.npy"), std::string::npos) << h.status().message();
}

TEST(ParseNpyHeader, RefusesMalformedHeaders) {
  const std::string good = npy_bytes({2, 3}, "<f4", nullptr, 0);
  expect_corrupt("", "empty");
  expect_corrupt(good.substr(0, 9), "shorter than the fixed prefix");
  expect_corrupt("\x93NUMPZ" + good.substr(6), "bad magic");
  std::string v4 = good;
  v4[6] = 4;
  expect_corrupt(v4, "version 4");
  std::string minor = good;
  minor[7] = 1;
  expect_corrupt(minor, "version 1.1");
  expect_corrupt(good.substr(0, 100), "header length beyond the bytes");
  std::string long_header = good;
  long_header[9] = '\x7F';
  expect_corrupt(long_header, "declared header length beyond the file");

  const char* bad_dicts[] = {
      "{'descr': '<f4', 'fortran_order': False}",                           // no shape
      "{'fortran_order': False, 'shape': (2, 3), }",                        // no descr
      "{'descr': '<f4', 'shape': (2, 3), }",                                // no fortran_order
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}",  // unknown key
      "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",  // repeated
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2)}",                   // int, not tuple
      "{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3)}",               // negative
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3.5)}",              // not an int
      "{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}",                // a list
      "{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 3)}",                    // not a bool
      "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}",         // structured
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} junk",           // trailing text
      "{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3)}",                 // missing comma
      "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 3)}",
      "'descr': '<f4'",  // not a dict
  };
  for (const char* dict : bad_dicts) expect_corrupt(raw_npy(dict), dict);
}

TEST(ReadNpyF32, RoundTripsAndChecksTypeAndSize) {
  testing::TempDir dir;
  const std::vector<float> data = {1.5f, -2.25f, 3.0f, 1e-30f, 7.0f, -0.0f};
  ASSERT_TRUE(write_file_atomic(dir.file("a.npy"), npy_bytes_f32({3, 2}, data.data())).ok());
  std::vector<int64_t> shape;
  auto r = read_npy_f32(dir.file("a.npy"), &shape);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, data);
  EXPECT_EQ(shape, (std::vector<int64_t>{3, 2}));

  const double d[2] = {1, 2};
  testing::write_bytes(dir.file("d.npy"), npy_bytes({2}, "<f8", d, sizeof(double)));
  r = read_npy_f32(dir.file("d.npy"), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find(dir.file("d.npy")), std::string::npos);

  const std::string full = npy_bytes_f32({3, 2}, data.data());
  testing::write_bytes(dir.file("t.npy"), full.substr(0, full.size() - 1));
  r = read_npy_f32(dir.file("t.npy"), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find(dir.file("t.npy")), std::string::npos);

  r = read_npy_f32(dir.file("missing.npy"), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kNotFound);
}

}  // namespace
}  // namespace ivftrain
