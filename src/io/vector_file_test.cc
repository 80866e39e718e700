#include "io/vector_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <thread>

#include "io/npy.h"
#include "io/vector_writer.h"
#include "test_util.h"

#if IVFTRAIN_HAVE_HDF5
#include "io/hdf5_util.h"
#endif

namespace ivftrain {
namespace {

using Code = Status::Code;

// Rows whose values every format represents exactly: small integers in the byte formats'
// range (0..100 fits uint8 and int8), plus fractions and negatives for the float formats.
std::vector<float> sample_rows(int64_t n, int64_t dim, bool bytes_only, bool non_negative) {
  std::vector<float> v(static_cast<size_t>(n * dim));
  for (int64_t i = 0; i < n * dim; ++i) {
    const float base = static_cast<float>((i * 37) % 101);
    v[i] = bytes_only ? (non_negative ? base : base - 50) : (base - 50) * 0.375f;
  }
  return v;
}

std::vector<float> pick(const std::vector<float>& all, int64_t dim,
                        const std::vector<int64_t>& rows) {
  std::vector<float> out;
  for (int64_t r : rows) out.insert(out.end(), all.begin() + r * dim, all.begin() + (r + 1) * dim);
  return out;
}

void expect_error(const Status& st, Code code, const std::string& needle) {
  ASSERT_FALSE(st.ok()) << "expected an error mentioning " << needle;
  EXPECT_EQ(st.code(), code) << st.message();
  EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
}

template <typename T>
void expect_open_error(const Result<T>& r, Code code, const std::string& needle) {
  expect_error(r.ok() ? Status::OK() : r.status(), code, needle);
}

std::string le32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }
std::string floats(std::initializer_list<float> v) {
  return std::string(reinterpret_cast<const char*>(std::data(v)), v.size() * sizeof(float));
}

struct FormatCase {
  FileFormat format;
  ElementType type;
  bool bytes_only, non_negative;
};

TEST(VectorFile, EveryWrittenFormatRoundTrips) {
  testing::TempDir dir;
  const int64_t n = 11, dim = 5;
  const FormatCase cases[] = {
      {FileFormat::kNpy, ElementType::kFloat32, false, false},
      {FileFormat::kFvecs, ElementType::kFloat32, false, false},
      {FileFormat::kBvecs, ElementType::kUInt8, true, true},
      {FileFormat::kFbin, ElementType::kFloat32, false, false},
      {FileFormat::kU8bin, ElementType::kUInt8, true, true},
      {FileFormat::kI8bin, ElementType::kInt8, true, false},
      {FileFormat::kHdf5, ElementType::kFloat32, false, false},
  };
  for (const FormatCase& c : cases) {
    const std::string path = dir.file(std::string("v") + file_extension(c.format));
    SCOPED_TRACE(path);
    const std::vector<float> data = sample_rows(n, dim, c.bytes_only, c.non_negative);
    ASSERT_TRUE(write_vector_file(path, c.format, n, dim, data.data()).ok());
    auto f = open_vector_file(path, "train");
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_EQ((*f)->num_rows(), n);
    EXPECT_EQ((*f)->dim(), dim);
    EXPECT_EQ((*f)->element_type(), c.type);
    EXPECT_EQ((*f)->path(), c.format == FileFormat::kHdf5 ? path + ":train" : path);

    std::vector<float> all(static_cast<size_t>(n * dim));
    ASSERT_TRUE((*f)->read_range(0, n, all.data()).ok());
    EXPECT_EQ(all, data);

    const std::vector<int64_t> rows = {0, 3, 4, 5, 10};
    std::vector<float> some(rows.size() * dim, -1.0f);
    ASSERT_TRUE((*f)->read_rows(rows, some.data()).ok());
    EXPECT_EQ(some, pick(data, dim, rows));

    std::vector<float> mid(3 * dim);
    ASSERT_TRUE((*f)->read_range(7, 3, mid.data()).ok());
    EXPECT_EQ(mid, pick(data, dim, {7, 8, 9}));

    expect_error((*f)->read_rows(std::vector<int64_t>{2, 11}, some.data()), Code::kInvalidArgument,
                 path);
    expect_error((*f)->read_rows(std::vector<int64_t>{4, 4}, some.data()), Code::kInvalidArgument,
                 path);
    expect_error((*f)->read_rows(std::vector<int64_t>{-1}, some.data()), Code::kInvalidArgument,
                 path);
    expect_error((*f)->read_range(9, 3, some.data()), Code::kInvalidArgument, path);
  }
}

TEST(VectorFile, ByteFormatsRoundAndClamp) {
  testing::TempDir dir;
  const float data[6] = {-3.7f, 300.0f, 7.6f, 1.2f, NAN, 254.6f};
  ASSERT_TRUE(write_vector_file(dir.file("a.u8bin"), FileFormat::kU8bin, 1, 6, data).ok());
  ASSERT_TRUE(write_vector_file(dir.file("a.i8bin"), FileFormat::kI8bin, 1, 6, data).ok());
  std::vector<float> out(6);
  auto u8 = open_vector_file(dir.file("a.u8bin"), "train");
  ASSERT_TRUE(u8.ok() && (*u8)->read_range(0, 1, out.data()).ok());
  EXPECT_EQ(out, (std::vector<float>{0, 255, 8, 1, 0, 255}));
  auto i8 = open_vector_file(dir.file("a.i8bin"), "train");
  ASSERT_TRUE(i8.ok() && (*i8)->read_range(0, 1, out.data()).ok());
  EXPECT_EQ(out, (std::vector<float>{-4, 127, 8, 1, -128, 127}));
}

TEST(VectorFile, NpyElementTypesConvertExactly) {
  testing::TempDir dir;
  // Half-precision bit patterns with known values: 1, -2, 0.5, 65504 (largest), 2^-24
  // (smallest subnormal), -0.
  const uint16_t f2[6] = {0x3C00, 0xC000, 0x3800, 0x7BFF, 0x0001, 0x8000};
  const double f8[6] = {0.1, -1e10, 3.5, 1e-3, 0, -7};
  const uint8_t u1[6] = {0, 1, 127, 128, 200, 255};
  const int8_t i1[6] = {-128, -1, 0, 1, 100, 127};
  struct Case {
    const char* name;
    std::string descr;
    const void* data;
    size_t size;
    ElementType type;
    std::vector<float> expected;
  };
  const Case cases[] = {
      {"f2.npy",
       "<f2",
       f2,
       2,
       ElementType::kFloat16,
       {1.0f, -2.0f, 0.5f, 65504.0f, std::ldexp(1.0f, -24), -0.0f}},
      {"f8.npy",
       "<f8",
       f8,
       8,
       ElementType::kFloat64,
       {static_cast<float>(0.1), -1e10f, 3.5f, static_cast<float>(1e-3), 0.0f, -7.0f}},
      {"u1.npy", "|u1", u1, 1, ElementType::kUInt8, {0, 1, 127, 128, 200, 255}},
      {"u1le.npy", "<u1", u1, 1, ElementType::kUInt8, {0, 1, 127, 128, 200, 255}},
      {"i1.npy", "|i1", i1, 1, ElementType::kInt8, {-128, -1, 0, 1, 100, 127}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    testing::write_bytes(dir.file(c.name), npy_bytes({3, 2}, c.descr, c.data, c.size));
    auto f = open_vector_file(dir.file(c.name), "train");
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_EQ((*f)->element_type(), c.type);
    std::vector<float> out(6);
    ASSERT_TRUE((*f)->read_range(0, 3, out.data()).ok());
    for (size_t i = 0; i < 6; ++i) {
      EXPECT_EQ(out[i], c.expected[i]) << i;
      EXPECT_EQ(std::signbit(out[i]), std::signbit(c.expected[i])) << i;
    }
    std::vector<float> two(4);
    ASSERT_TRUE((*f)->read_rows(std::vector<int64_t>{0, 2}, two.data()).ok());
    EXPECT_EQ(two,
              (std::vector<float>{c.expected[0], c.expected[1], c.expected[4], c.expected[5]}));
  }
}

TEST(VectorFile, MalformedNpy) {
  testing::TempDir dir;
  const float data[40] = {};
  const std::string good = npy_bytes_f32({10, 4}, data);

  const std::string one_d = dir.file("x.npy");
  testing::write_bytes(one_d, npy_bytes_f32({10}, data));
  auto r = open_vector_file(one_d, "train");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), one_d + ": expected a 2-D array (rows, dim), found shape (10,)");

  const std::string three_d = dir.file("three.npy");
  testing::write_bytes(three_d, npy_bytes_f32({2, 5, 4}, data));
  expect_open_error(open_vector_file(three_d, "train"), Code::kInvalidArgument, three_d);

  const std::string truncated = dir.file("truncated.npy");
  testing::write_bytes(truncated, good.substr(0, good.size() - 4));
  expect_open_error(open_vector_file(truncated, "train"), Code::kCorruption, "truncated");
  expect_open_error(open_vector_file(truncated, "train"), Code::kCorruption, truncated);

  const std::string header_only = dir.file("header_only.npy");
  testing::write_bytes(header_only, good.substr(0, 50));
  expect_open_error(open_vector_file(header_only, "train"), Code::kCorruption, header_only);

  const std::string trailing = dir.file("trailing.npy");
  testing::write_bytes(trailing, good + "xx");
  expect_open_error(open_vector_file(trailing, "train"), Code::kCorruption, trailing);

  const std::string magic = dir.file("magic.npy");
  testing::write_bytes(magic, "PK" + good.substr(2));
  expect_open_error(open_vector_file(magic, "train"), Code::kCorruption, magic);

  for (const char* descr : {"<i8", ">f4", "<c8", "<i4"}) {
    const std::string path = dir.file(std::string("dtype") + descr[1] + descr[2] + ".npy");
    testing::write_bytes(path, npy_bytes({2, 2}, descr, data, 8));
    expect_open_error(open_vector_file(path, "train"), Code::kInvalidArgument, path);
    expect_open_error(open_vector_file(path, "train"), Code::kInvalidArgument, descr);
  }

  std::string fortran = good;
  const size_t pos = fortran.find("False");
  fortran.replace(pos, 5, "True ");
  const std::string fortran_path = dir.file("fortran.npy");
  testing::write_bytes(fortran_path, fortran);
  expect_open_error(open_vector_file(fortran_path, "train"), Code::kInvalidArgument, "Fortran");
  expect_open_error(open_vector_file(fortran_path, "train"), Code::kInvalidArgument, fortran_path);

  const std::string no_rows = dir.file("no_rows.npy");
  testing::write_bytes(no_rows, npy_bytes_f32({0, 4}, data));
  expect_open_error(open_vector_file(no_rows, "train"), Code::kInvalidArgument, no_rows);
  const std::string no_dim = dir.file("no_dim.npy");
  testing::write_bytes(no_dim, npy_bytes_f32({4, 0}, data));
  expect_open_error(open_vector_file(no_dim, "train"), Code::kInvalidArgument, no_dim);
}

TEST(VectorFile, MalformedVecs) {
  testing::TempDir dir;
  // Row 1 claims dimension 9 where row 0 has 4; the total (80 bytes) is still 4 rows of 20.
  const std::string mixed = dir.file("mixed.fvecs");
  testing::write_bytes(mixed, le32(4) + floats({1, 2, 3, 4}) + le32(9) +
                                  floats({1, 2, 3, 4, 5, 6, 7, 8, 9}) + le32(4) +
                                  floats({5, 6, 7, 8}));
  auto f = open_vector_file(mixed, "train");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->num_rows(), 4);
  std::vector<float> out(16);
  ASSERT_TRUE((*f)->read_rows(std::vector<int64_t>{0}, out.data()).ok());
  EXPECT_EQ(std::vector<float>(out.begin(), out.begin() + 4), (std::vector<float>{1, 2, 3, 4}));
  const Status st = (*f)->read_rows(std::vector<int64_t>{0, 1}, out.data());
  expect_error(st, Code::kCorruption, mixed + ": row 1 has dimension 9, expected 4");
  expect_error((*f)->read_range(0, 4, out.data()), Code::kCorruption, "row 1");

  const std::string odd = dir.file("odd.fvecs");
  testing::write_bytes(odd, le32(4) + floats({1, 2, 3, 4}) + le32(2) + floats({1, 2}));
  expect_open_error(open_vector_file(odd, "train"), Code::kCorruption, odd);

  const std::string truncated = dir.file("truncated.bvecs");
  testing::write_bytes(truncated, le32(3) + "abc" + le32(3) + "ab");
  expect_open_error(open_vector_file(truncated, "train"), Code::kCorruption, truncated);

  const std::string mixed_b = dir.file("mixed.bvecs");
  testing::write_bytes(mixed_b, le32(4) + "abcd" + le32(4) + "abcd" + le32(2) +
                                    "abcd");  // 24 bytes = 3 records of 8
  f = open_vector_file(mixed_b, "train");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  expect_error((*f)->read_rows(std::vector<int64_t>{2}, out.data()), Code::kCorruption,
               mixed_b + ": row 2 has dimension");

  const std::string empty = dir.file("empty.fvecs");
  testing::write_bytes(empty, "");
  expect_open_error(open_vector_file(empty, "train"), Code::kCorruption, empty);

  const std::string zero_dim = dir.file("zero_dim.fvecs");
  testing::write_bytes(zero_dim, le32(0) + le32(0));
  expect_open_error(open_vector_file(zero_dim, "train"), Code::kCorruption, zero_dim);

  const std::string tiny = dir.file("tiny.fvecs");
  testing::write_bytes(tiny, "ab");
  expect_open_error(open_vector_file(tiny, "train"), Code::kCorruption, tiny);
}

TEST(VectorFile, MalformedBin) {
  testing::TempDir dir;
  const std::string body = le32(3) + le32(2) + floats({1, 2, 3, 4, 5, 6});
  const std::string good = dir.file("good.fbin");
  testing::write_bytes(good, body);
  ASSERT_TRUE(open_vector_file(good, "train").ok());

  const std::string truncated = dir.file("truncated.fbin");
  testing::write_bytes(truncated, body.substr(0, body.size() - 1));
  expect_open_error(open_vector_file(truncated, "train"), Code::kCorruption, "truncated");
  expect_open_error(open_vector_file(truncated, "train"), Code::kCorruption, truncated);

  const std::string huge = dir.file("huge.u8bin");  // declares far more than the file holds
  testing::write_bytes(huge, le32(0xFFFFFFFFu) + le32(0x7FFFFFFF) + "abcd");
  expect_open_error(open_vector_file(huge, "train"), Code::kCorruption, huge);

  const std::string trailing = dir.file("trailing.fbin");
  testing::write_bytes(trailing, body + "z");
  expect_open_error(open_vector_file(trailing, "train"), Code::kCorruption, trailing);

  const std::string negative = dir.file("negative.i8bin");
  testing::write_bytes(negative, le32(1) + le32(0xFFFFFFFEu) + "ab");
  expect_open_error(open_vector_file(negative, "train"), Code::kCorruption, negative);

  const std::string short_header = dir.file("short.i8bin");
  testing::write_bytes(short_header, le32(1) + "a");
  expect_open_error(open_vector_file(short_header, "train"), Code::kCorruption, short_header);

  const std::string no_rows = dir.file("no_rows.fbin");
  testing::write_bytes(no_rows, le32(0) + le32(8));
  expect_open_error(open_vector_file(no_rows, "train"), Code::kInvalidArgument, no_rows);

  const std::string no_dim = dir.file("no_dim.u8bin");
  testing::write_bytes(no_dim, le32(5) + le32(0));
  expect_open_error(open_vector_file(no_dim, "train"), Code::kInvalidArgument, no_dim);
}

TEST(VectorFile, MissingAndUnsupportedPaths) {
  testing::TempDir dir;
  for (const char* name : {"none.npy", "none.fvecs", "none.bvecs", "none.fbin", "none.u8bin",
                           "none.i8bin", "none.hdf5", "none.h5", "none.h5:base"}) {
    expect_open_error(open_vector_file(dir.file(name), "train"), Code::kNotFound,
                      dir.file(name).substr(0, dir.file(name).find(':')));
  }
  testing::write_bytes(dir.file("a.txt"), "1 2 3\n");
  expect_open_error(open_vector_file(dir.file("a.txt"), "train"), Code::kInvalidArgument,
                    dir.file("a.txt"));
  expect_open_error(open_vector_file(dir.path(), "train"), Code::kInvalidArgument, dir.path());
  ::mkdir(dir.file("d.npy").c_str(), 0755);
  expect_open_error(open_vector_file(dir.file("d.npy"), "train"), Code::kInvalidArgument,
                    dir.file("d.npy"));
}

TEST(VectorFile, RecognisesFileNames) {
  for (const char* yes : {"a.npy", "/x/b.fvecs", "c.bvecs", "d.fbin", "e.u8bin", "f.i8bin",
                          "g.hdf5", "h.h5", "i.hdf5:train", "j.h5:group/test", "K.NPY"}) {
    EXPECT_TRUE(is_vector_file_name(yes)) << yes;
  }
  for (const char* no : {"a.txt", "npy", "a.npy.tmp", "a.json", "dir.npy/readme", "a.h5x", ""}) {
    EXPECT_FALSE(is_vector_file_name(no)) << no;
  }
}

#if IVFTRAIN_HAVE_HDF5
// Writes an HDF5 dataset of any shape and type through the C API.
void write_h5(const std::string& path, const std::string& name, std::vector<hsize_t> dims,
              hid_t type, const void* data, bool create = true) {
  Hdf5Lock lock;
  H5Handle file(create ? H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)
                       : H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT),
                H5Fclose);
  ASSERT_TRUE(file.valid());
  H5Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
  H5Handle set(H5Dcreate2(file.get(), name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT,
                          H5P_DEFAULT),
               H5Dclose);
  ASSERT_TRUE(set.valid());
  ASSERT_GE(H5Dwrite(set.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), 0);
}

TEST(VectorFile, Hdf5DatasetsOfOtherTypesAndNames) {
  testing::TempDir dir;
  const std::string path = dir.file("ann.hdf5");
  const int16_t ints[6] = {-300, 0, 5, 32767, -32768, 12};
  const double doubles[4] = {0.25, -1.5, 1e-3, 4};
  const float cube[8] = {};
  write_h5(path, "test", {3, 2}, H5T_NATIVE_INT16, ints);
  write_h5(path, "neighbors", {2, 2}, H5T_NATIVE_DOUBLE, doubles, false);
  write_h5(path, "cube", {2, 2, 2}, H5T_NATIVE_FLOAT, cube, false);
  write_h5(path, "ids", {8}, H5T_NATIVE_FLOAT, cube, false);

  auto f = open_vector_file(path + ":test", "train");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->num_rows(), 3);
  std::vector<float> out(6);
  ASSERT_TRUE((*f)->read_rows(std::vector<int64_t>{0, 2}, out.data()).ok());
  EXPECT_EQ(std::vector<float>(out.begin(), out.begin() + 4),
            (std::vector<float>{-300, 0, -32768, 12}));

  f = open_vector_file(path, "neighbors");  // the default name applies to a bare file
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->element_type(), ElementType::kFloat64);
  ASSERT_TRUE((*f)->read_range(0, 2, out.data()).ok());
  EXPECT_EQ(std::vector<float>(out.begin(), out.begin() + 4),
            (std::vector<float>{0.25f, -1.5f, static_cast<float>(1e-3), 4.0f}));

  auto missing = open_vector_file(path, "train");
  expect_open_error(missing, Code::kNotFound, path + " has no dataset 'train'");
  expect_open_error(open_vector_file(path + ":a/b", "train"), Code::kNotFound,
                    path + " has no dataset 'a/b'");
  expect_open_error(open_vector_file(path + ":cube", "train"), Code::kInvalidArgument, path);
  expect_open_error(open_vector_file(path + ":ids", "train"), Code::kInvalidArgument, path);
  expect_open_error(open_vector_file(path + ":", "train"), Code::kInvalidArgument, path);

  const std::string not_h5 = dir.file("fake.h5");
  testing::write_bytes(not_h5, "this is not HDF5 at all, just text that is long enough");
  expect_open_error(open_vector_file(not_h5, "train"), Code::kCorruption, not_h5);
}

TEST(VectorFile, Hdf5ReadsGroupDatasetsAndManyRuns) {
  testing::TempDir dir;
  const int64_t n = 2000, dim = 3;
  const std::vector<float> data = sample_rows(n, dim, false, false);
  const std::string path = dir.file("g.h5");
  ASSERT_TRUE(write_vector_file(path, FileFormat::kHdf5, n, dim, data.data(), "base/vectors").ok());
  auto f = open_vector_file(path + ":base/vectors", "train");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  // Every third row, plus a run: more runs than one HDF5 selection batch holds.
  std::vector<int64_t> rows;
  for (int64_t r = 0; r < n; r += 3) rows.push_back(r);
  rows.insert(rows.end() - 1, {1990, 1991, 1992});
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  std::vector<float> out(rows.size() * dim);
  ASSERT_TRUE((*f)->read_rows(rows, out.data()).ok());
  EXPECT_EQ(out, pick(data, dim, rows));

  // Concurrent readers go through the one HDF5 lock and still get their own rows.
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::vector<float> mine(100 * dim);
      bool good = true;
      for (int k = 0; k < 20; ++k) {
        const int64_t first = (t * 400 + k * 37) % (n - 100);
        good = good && (*f)->read_range(first, 100, mine.data()).ok() &&
               std::equal(mine.begin(), mine.end(), data.begin() + first * dim);
      }
      ok[t] = good;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok, (std::vector<int>{1, 1, 1, 1}));
}

#else  // IVFTRAIN_HAVE_HDF5

// Built without HDF5 (IVFTRAIN_WITH_HDF5=OFF): HDF5 names are refused with a reason naming the
// file, on read and on write.
TEST(VectorFile, RefusesHdf5WhenBuiltWithoutIt) {
  testing::TempDir dir;
  for (const std::string& spec : {dir.file("a.hdf5"), dir.file("b.h5"), dir.file("c.h5:test")}) {
    expect_open_error(open_vector_file(spec, "train"), Code::kInvalidArgument,
                      "has no HDF5 support");
  }
  expect_open_error(open_vector_file(dir.file("b.h5"), "train"), Code::kInvalidArgument,
                    dir.file("b.h5"));
  const float v = 1;
  expect_error(write_vector_file(dir.file("w.hdf5"), FileFormat::kHdf5, 1, 1, &v),
               Code::kInvalidArgument, dir.file("w.hdf5") + ": this build of ivftrain has no HDF5");
  EXPECT_FALSE(std::filesystem::exists(dir.file("w.hdf5")));
}

#endif  // IVFTRAIN_HAVE_HDF5

TEST(VectorFileWriter, FormatsAndRefusals) {
  for (const char* name : {"npy", "fvecs", "bvecs", "fbin", "u8bin", "i8bin", "hdf5"}) {
    auto f = parse_file_format(name);
    ASSERT_TRUE(f.ok()) << name;
    EXPECT_EQ(std::string(file_extension(*f)), std::string(".") + name);
  }
  EXPECT_EQ(*parse_file_format("h5"), FileFormat::kHdf5);
  expect_open_error(parse_file_format("csv"), Code::kInvalidArgument, "csv");

  testing::TempDir dir;
  const float v = 1;
  expect_error(write_vector_file(dir.file("e.fvecs"), FileFormat::kFvecs, 0, 4, &v),
               Code::kInvalidArgument, dir.file("e.fvecs"));
  expect_error(write_vector_file(dir.file("e.hdf5"), FileFormat::kHdf5, 1, 0, &v),
               Code::kInvalidArgument, dir.file("e.hdf5"));
  // An existing file is replaced whole, and HDF5 leaves no temporary behind.
  ASSERT_TRUE(write_vector_file(dir.file("r.hdf5"), FileFormat::kHdf5, 1, 1, &v).ok());
  const float w[2] = {2, 3};
  ASSERT_TRUE(write_vector_file(dir.file("r.hdf5"), FileFormat::kHdf5, 2, 1, w).ok());
  auto f = open_vector_file(dir.file("r.hdf5"), "train");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->num_rows(), 2);
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    entries += !e.is_directory();
  EXPECT_EQ(entries, 1);
  expect_error(write_vector_file(dir.file("nodir/x.hdf5"), FileFormat::kHdf5, 1, 1, &v),
               Code::kIOError, dir.file("nodir/x.hdf5"));
}

}  // namespace
}  // namespace ivftrain
