#include "ivftrain/dataset.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "io/vector_writer.h"
#include "test_util.h"

namespace ivftrain {
namespace {

using Code = Status::Code;

// Row i of every file here holds values 1000 * tag + 10 * i + j, so a row read from the wrong
// file or at the wrong offset cannot match.
std::vector<float> rows_of(int tag, int64_t n, int64_t dim) {
  std::vector<float> v(static_cast<size_t>(n * dim));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < dim; ++j) v[i * dim + j] = static_cast<float>(1000 * tag + 10 * i + j);
  }
  return v;
}

std::vector<float> row_range(int tag, int64_t first, int64_t count, int64_t dim) {
  const std::vector<float> all = rows_of(tag, first + count, dim);
  return std::vector<float>(all.begin() + first * dim, all.end());
}

void write(const std::string& path, FileFormat format, int tag, int64_t n, int64_t dim,
           const std::string& hdf5_name = "train") {
  const std::vector<float> v = rows_of(tag, n, dim);
  ASSERT_TRUE(write_vector_file(path, format, n, dim, v.data(), hdf5_name).ok()) << path;
}

void expect_error(const Status& st, Code code, const std::string& needle) {
  ASSERT_FALSE(st.ok()) << "expected an error mentioning " << needle;
  EXPECT_EQ(st.code(), code) << st.message();
  EXPECT_NE(st.message().find(needle), std::string::npos) << st.message();
}

template <typename T>
void expect_error(const Result<T>& r, Code code, const std::string& needle) {
  expect_error(r.ok() ? Status::OK() : r.status(), code, needle);
}

TEST(Dataset, SingleFileSplitsIntoFragments) {
  testing::TempDir dir;
  const std::string path = dir.file("a.fbin");
  write(path, FileFormat::kFbin, 1, 10, 3);
  DatasetOptions options;
  options.rows_per_fragment = 4;
  auto ds = Dataset::open(path, options);
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(ds->path(), path);
  EXPECT_EQ(ds->dim(), 3);
  EXPECT_EQ(ds->num_rows(), 10);
  ASSERT_EQ(ds->fragments().size(), 3u);
  const int64_t expected_rows[3] = {4, 4, 2};
  for (int64_t i = 0; i < 3; ++i) {
    const FragmentInfo& f = ds->fragments()[i];
    EXPECT_EQ(f.id, i);
    EXPECT_EQ(f.num_rows, expected_rows[i]);
    EXPECT_EQ(f.first_row, 4 * i);
    EXPECT_EQ(f.path, path);
  }
  std::vector<float> out(6);
  ASSERT_TRUE(ds->read_rows(1, std::vector<int64_t>{0, 3}, out.data()).ok());
  std::vector<float> expected = row_range(1, 4, 1, 3);
  const std::vector<float> seventh = row_range(1, 7, 1, 3);
  expected.insert(expected.end(), seventh.begin(), seventh.end());
  EXPECT_EQ(out, expected);
  ASSERT_TRUE(ds->read_range(2, 0, 2, out.data()).ok());
  EXPECT_EQ(out, row_range(1, 8, 2, 3));

  ASSERT_NE(ds->find_fragment(2), nullptr);
  EXPECT_EQ(ds->find_fragment(2)->first_row, 8);
  EXPECT_EQ(ds->find_fragment(3), nullptr);
  EXPECT_EQ(ds->find_fragment(-1), nullptr);

  // Fragment-relative validation names the fragment.
  expect_error(ds->read_rows(2, std::vector<int64_t>{2}, out.data()), Code::kInvalidArgument,
               "fragment 2");
  expect_error(ds->read_rows(0, std::vector<int64_t>{3, 1}, out.data()), Code::kInvalidArgument,
               "fragment 0");
  expect_error(ds->read_rows(0, std::vector<int64_t>{-1}, out.data()), Code::kInvalidArgument,
               "fragment 0");
  expect_error(ds->read_rows(9, std::vector<int64_t>{0}, out.data()), Code::kInvalidArgument,
               "fragment 9");
  expect_error(ds->read_range(2, 1, 2, out.data()), Code::kInvalidArgument, "fragment 2");
  expect_error(ds->read_range(7, 0, 1, out.data()), Code::kInvalidArgument, "fragment 7");
}

TEST(Dataset, OpenRefusesBadPathsAndOptions) {
  testing::TempDir dir;
  expect_error(Dataset::open(dir.file("nothing.fvecs")), Code::kNotFound,
               dir.file("nothing.fvecs"));
  expect_error(Dataset::open(dir.file("nothing")), Code::kNotFound, dir.file("nothing"));
  expect_error(Dataset::open(dir.file("nothing.json")), Code::kNotFound, dir.file("nothing.json"));
  testing::write_bytes(dir.file("notes.txt"), "hello");
  expect_error(Dataset::open(dir.file("notes.txt")), Code::kInvalidArgument, dir.file("notes.txt"));
  write(dir.file("a.npy"), FileFormat::kNpy, 1, 3, 2);
  DatasetOptions zero;
  zero.rows_per_fragment = 0;
  expect_error(Dataset::open(dir.file("a.npy"), zero), Code::kInvalidArgument, "rows_per_fragment");
}

TEST(Dataset, DirectoryHasOneFragmentPerFileInNameOrder) {
  testing::TempDir dir;
  write(dir.file("b.fvecs"), FileFormat::kFvecs, 2, 3, 4);
  write(dir.file("a.npy"), FileFormat::kNpy, 1, 5, 4);
  write(dir.file("c.h5"), FileFormat::kHdf5, 3, 2, 4);
  write(dir.file(".hidden.npy"), FileFormat::kNpy, 9, 2, 7);  // ignored, like the rest below
  testing::write_bytes(dir.file("README.txt"), "not vectors");
  testing::write_bytes(dir.file("manifest.json"), "{}");
  ::mkdir(dir.file("sub.npy").c_str(), 0755);

  auto ds = Dataset::open(dir.path());
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(ds->dim(), 4);
  EXPECT_EQ(ds->num_rows(), 10);
  ASSERT_EQ(ds->fragments().size(), 3u);
  EXPECT_EQ(ds->fragments()[0].path, dir.file("a.npy"));
  EXPECT_EQ(ds->fragments()[1].path, dir.file("b.fvecs"));
  EXPECT_EQ(ds->fragments()[2].path, dir.file("c.h5") + ":train");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ds->fragments()[i].id, i);

  std::vector<float> out(8);
  ASSERT_TRUE(ds->read_rows(1, std::vector<int64_t>{2}, out.data()).ok());
  EXPECT_EQ(std::vector<float>(out.begin(), out.begin() + 4), row_range(2, 2, 1, 4));
  ASSERT_TRUE(ds->read_range(2, 0, 2, out.data()).ok());
  EXPECT_EQ(out, row_range(3, 0, 2, 4));
}

TEST(Dataset, DirectoryErrors) {
  testing::TempDir dir;
  testing::write_bytes(dir.file("notes.txt"), "x");
  expect_error(Dataset::open(dir.path()), Code::kInvalidArgument, dir.path());

  write(dir.file("a.fbin"), FileFormat::kFbin, 1, 3, 8);
  write(dir.file("b.u8bin"), FileFormat::kU8bin, 0, 3, 16);
  auto mixed = Dataset::open(dir.path());
  expect_error(mixed, Code::kFailedPrecondition, "a.fbin");
  expect_error(mixed, Code::kFailedPrecondition, "b.u8bin");
  expect_error(mixed, Code::kFailedPrecondition, "dimension 16");
  expect_error(mixed, Code::kFailedPrecondition, "dimension 8");

  testing::TempDir bad;
  write(bad.file("a.fbin"), FileFormat::kFbin, 1, 3, 8);
  testing::write_bytes(bad.file("b.fbin"), "short");
  expect_error(Dataset::open(bad.path()), Code::kCorruption, bad.file("b.fbin"));
}

TEST(Dataset, ManifestListsFragmentsExplicitly) {
  testing::TempDir dir;
  ::mkdir(dir.file("data").c_str(), 0755);
  write(dir.file("data/a.fbin"), FileFormat::kFbin, 1, 10, 2);
  write(dir.file("data/b.hdf5"), FileFormat::kHdf5, 2, 6, 2, "vectors");
  write(dir.file("c.npy"), FileFormat::kNpy, 3, 4, 2);
  testing::write_bytes(dir.file("m.json"), R"({"fragments": [
      {"id": 7, "path": "data/a.fbin", "first_row": 6, "num_rows": 4},
      {"id": 2, "path": "data/a.fbin", "first_row": 0, "num_rows": 6},
      {"id": 5, "path": "data/b.hdf5:vectors", "first_row": 1, "num_rows": 3},
      {"id": 9, "path": "c.npy", "num_rows": 3},
      {"id": 11, "path": "c.npy", "first_row": 3}
  ]})");
  auto ds = Dataset::open(dir.file("m.json"));
  ASSERT_TRUE(ds.ok()) << ds.status().ToString();
  EXPECT_EQ(ds->dim(), 2);
  EXPECT_EQ(ds->num_rows(), 4 + 6 + 3 + 3 + 1);
  std::vector<int64_t> ids;
  for (const auto& f : ds->fragments()) ids.push_back(f.id);
  EXPECT_EQ(ids, (std::vector<int64_t>{2, 5, 7, 9, 11}));
  const FragmentInfo* seven = ds->find_fragment(7);
  ASSERT_NE(seven, nullptr);
  EXPECT_EQ(seven->path, dir.file("data/a.fbin"));
  EXPECT_EQ(seven->first_row, 6);
  EXPECT_EQ(seven->num_rows, 4);
  EXPECT_EQ(ds->find_fragment(9)->first_row, 0);
  EXPECT_EQ(ds->find_fragment(11)->num_rows, 1);  // the rest of the file
  EXPECT_EQ(ds->find_fragment(5)->path, dir.file("data/b.hdf5") + ":vectors");

  std::vector<float> out(4);
  ASSERT_TRUE(ds->read_rows(7, std::vector<int64_t>{0, 3}, out.data()).ok());
  std::vector<float> expected = row_range(1, 6, 1, 2);
  const std::vector<float> ninth = row_range(1, 9, 1, 2);
  expected.insert(expected.end(), ninth.begin(), ninth.end());
  EXPECT_EQ(out, expected);
  ASSERT_TRUE(ds->read_range(5, 1, 2, out.data()).ok());
  EXPECT_EQ(out, row_range(2, 2, 2, 2));
  ASSERT_TRUE(ds->read_range(11, 0, 1, out.data()).ok());
  EXPECT_EQ(std::vector<float>(out.begin(), out.begin() + 2), row_range(3, 3, 1, 2));
  expect_error(ds->read_rows(7, std::vector<int64_t>{4}, out.data()), Code::kInvalidArgument,
               "fragment 7");
}

TEST(Dataset, ManifestErrors) {
  testing::TempDir dir;
  write(dir.file("a.fbin"), FileFormat::kFbin, 1, 40, 2);
  write(dir.file("b.fbin"), FileFormat::kFbin, 2, 5, 3);
  const std::string m = dir.file("m.json");
  const auto open_with = [&](const std::string& fragments) {
    testing::write_bytes(m, R"({"fragments": [)" + fragments + "]}");
    return Dataset::open(m);
  };

  expect_error(open_with(R"({"id": 3, "path": "a.fbin"}, {"id": 3, "path": "a.fbin"})"),
               Code::kInvalidArgument, m + ": fragment id 3 appears more than once");
  // The same file twice, or overlapping row ranges of one file, would sample rows twice.
  expect_error(open_with(R"({"id": 3, "path": "a.fbin"}, {"id": 4, "path": "./a.fbin"})"),
               Code::kInvalidArgument,
               m + ": fragments 3 (a.fbin rows 0..end) and 4 (./a.fbin rows 0..end) overlap");
  expect_error(open_with(R"({"id": 1, "path": "a.fbin", "first_row": 0, "num_rows": 20},
                            {"id": 2, "path": "b.fbin"},
                            {"id": 3, "path": "a.fbin", "first_row": 19, "num_rows": 5})"),
               Code::kInvalidArgument,
               m + ": fragments 1 (a.fbin rows 0..20) and 3 (a.fbin rows 19..24) overlap");
  expect_error(open_with(R"({"id": 1, "path": "a.fbin", "first_row": 0, "num_rows": 30},
                            {"id": 2, "path": "a.fbin", "first_row": 10, "num_rows": 5})"),
               Code::kInvalidArgument, "fragments 1 (a.fbin rows 0..30) and 2");
  expect_error(open_with(R"({"id": 1, "path": "a.fbin", "first_row": 30},
                            {"id": 2, "path": "a.fbin", "first_row": 35, "num_rows": 2})"),
               Code::kInvalidArgument, "fragments 1 (a.fbin rows 30..end) and 2");
  {
    // Adjacent ranges do not overlap.
    auto r = open_with(R"({"id": 1, "path": "a.fbin", "num_rows": 20},
                          {"id": 2, "path": "a.fbin", "first_row": 20})");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->num_rows(), 40);
  }
  {
    auto r = open_with(R"({"id": 3, "path": "a.fbin", "first_row": 0, "num_rows": 50})");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(r.status().message(), m + ": fragment 3 rows 0..50 exceed a.fbin's 40 rows");
  }
  expect_error(open_with(R"({"id": 4, "path": "a.fbin", "first_row": 40})"), Code::kInvalidArgument,
               m + ": fragment 4 rows 40..40 exceed a.fbin's 40 rows");
  expect_error(open_with(R"({"id": 1, "path": "a.fbin"}, {"id": 2, "path": "b.fbin"})"),
               Code::kFailedPrecondition,
               m + ": fragment 2 (b.fbin) has dimension 3 but fragment 1 (a.fbin) has dimension 2");
  expect_error(open_with(R"({"id": 1, "path": "gone.fbin"})"), Code::kNotFound,
               dir.file("gone.fbin"));
  expect_error(open_with(R"({"id": 1, "path": "gone.fbin"})"), Code::kNotFound, "fragment 1");
  expect_error(open_with(R"({"id": -1, "path": "a.fbin"})"), Code::kInvalidArgument, m);
  expect_error(open_with(R"({"id": 1.5, "path": "a.fbin"})"), Code::kInvalidArgument, m);
  expect_error(open_with(R"({"id": 1, "path": "a.fbin", "first_row": -2})"), Code::kInvalidArgument,
               "first_row");
  expect_error(open_with(R"({"id": 1, "path": "a.fbin", "num_rows": 0})"), Code::kInvalidArgument,
               "num_rows");
  expect_error(open_with(R"({"id": 1, "path": "a.fbin", "num_row": 3})"), Code::kInvalidArgument,
               "num_row");
  expect_error(open_with(R"({"path": "a.fbin"})"), Code::kInvalidArgument, m);
  expect_error(open_with(R"({"id": 1})"), Code::kInvalidArgument, "path");
  expect_error(open_with(R"({"id": 1, "path": 7})"), Code::kInvalidArgument, "path");
  expect_error(open_with(""), Code::kInvalidArgument, "empty");
  expect_error(open_with("3"), Code::kInvalidArgument, m);

  testing::write_bytes(m, "{\"fragments\": [");
  expect_error(Dataset::open(m), Code::kInvalidArgument, m);
  testing::write_bytes(m, "[]");
  expect_error(Dataset::open(m), Code::kInvalidArgument, m);
}

TEST(ParseFragmentList, ParsesIdsAndRanges) {
  auto r = parse_fragment_list("0,3,7-9");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, (std::vector<int64_t>{0, 3, 7, 8, 9}));
  r = parse_fragment_list("9, 1-3 ,2,2-2");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, (std::vector<int64_t>{1, 2, 3, 9}));
  r = parse_fragment_list("42");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, (std::vector<int64_t>{42}));
}

TEST(ParseFragmentList, NamesTheBadToken) {
  const std::pair<const char*, const char*> cases[] = {
      {"a", "'a'"},
      {"5-3", "'5-3'"},
      {"", "''"},
      {"1,,2", "''"},
      {"-1", "'-1'"},
      {"1-", "'1-'"},
      {"3-x", "'3-x'"},
      {"1,2,", "''"},
      {"+4", "'+4'"},
      {"1.5", "'1.5'"},
      {"0-99999999999", "'0-99999999999'"},
  };
  for (const auto& [text, token] : cases) {
    auto r = parse_fragment_list(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << text;
    EXPECT_NE(r.status().message().find(token), std::string::npos) << r.status().message();
  }
}

TEST(Dataset, ArrayInMemoryIsSplitAndReadAsItsFileWouldBe) {
  testing::TempDir dir;
  const std::string path = dir.file("a.fbin");
  write(path, FileFormat::kFbin, 1, 10, 3);
  const std::vector<float> values = rows_of(1, 10, 3);
  DatasetOptions options;
  options.rows_per_fragment = 4;
  auto file = Dataset::open(path, options);
  auto array =
      Dataset::from_array("the array", values.data(), 10, 3, ArrayType::kFloat32, nullptr, options);
  ASSERT_TRUE(file.ok() && array.ok()) << array.status().ToString();
  EXPECT_EQ(array->path(), "the array");
  EXPECT_EQ(array->dim(), 3);
  EXPECT_EQ(array->num_rows(), 10);
  ASSERT_EQ(array->fragments().size(), file->fragments().size());
  for (size_t i = 0; i < file->fragments().size(); ++i) {
    EXPECT_EQ(array->fragments()[i].num_rows, file->fragments()[i].num_rows);
    EXPECT_EQ(array->fragments()[i].first_row, file->fragments()[i].first_row);
  }
  std::vector<float> a(6), f(6);
  ASSERT_TRUE(array->read_rows(1, std::vector<int64_t>{0, 3}, a.data()).ok());
  ASSERT_TRUE(file->read_rows(1, std::vector<int64_t>{0, 3}, f.data()).ok());
  EXPECT_EQ(a, f);
  ASSERT_TRUE(array->read_range(2, 0, 2, a.data()).ok());
  EXPECT_EQ(std::vector<float>(a.begin(), a.begin() + 6), row_range(1, 8, 2, 3));
  expect_error(array->read_rows(2, std::vector<int64_t>{2}, a.data()), Code::kInvalidArgument,
               "fragment 2");

  // Integer arrays are converted as the readers convert them.
  const std::vector<int8_t> small = {-128, -1, 0, 1, 127, 5};
  auto ints = Dataset::from_array("ints", small.data(), 2, 3, ArrayType::kInt8, nullptr);
  ASSERT_TRUE(ints.ok());
  ASSERT_TRUE(ints->read_range(0, 0, 2, a.data()).ok());
  EXPECT_EQ(a, (std::vector<float>{-128, -1, 0, 1, 127, 5}));

  expect_error(
      Dataset::from_array("empty", values.data(), 0, 3, ArrayType::kFloat32, nullptr).status(),
      Code::kInvalidArgument, "empty: an array of shape (0, 3)");
  options.rows_per_fragment = 0;
  expect_error(Dataset::from_array("x", values.data(), 10, 3, ArrayType::kFloat32, nullptr, options)
                   .status(),
               Code::kInvalidArgument, "rows_per_fragment");
}

}  // namespace
}  // namespace ivftrain
