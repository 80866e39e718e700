// Every file of the malformed-input corpus (tests/corpus/malformed, made by make_corpus.sh) opened
// through the public API: each must be refused with the Status code its kind of fault calls for
// (status.h: a damaged file is kCorruption, an unusable but well-formed one kInvalidArgument,
// a missing object kNotFound, parts that do not fit together kFailedPrecondition), in a
// message naming the file and, where there is one, the fragment or row at fault. The fuzzers'
// seeds in the same corpus are checked too: valid ones open, malformed ones are refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "ivftrain/dataset.h"
#include "ivftrain/plan_files.h"
#include "ivftrain/status.h"

namespace ivftrain {
namespace {

using Code = Status::Code;

std::string corpus_dir() { return IVFTRAIN_CORPUS_DIR "/malformed"; }
std::string valid_dir() { return IVFTRAIN_CORPUS_DIR "/valid"; }

enum class Opener { kDataset, kSampleResult, kTask };

struct MalformedCase {
  const char* name;   // the test's name
  const char* entry;  // file or directory in tests/corpus/malformed
  Opener opener;
  Code code;
  std::vector<std::string> mentions;  // what the message must name besides the path
};

const MalformedCase kCases[] = {
    {"NpyTruncated", "npy/npy_truncated.npy", Opener::kDataset, Code::kCorruption, {"header"}},
    {"NpyWrongMagic", "npy/npy_bad_magic.npy", Opener::kDataset, Code::kCorruption, {"magic"}},
    {"NpyShapeBeyondFile",
     "npy/npy_shape_beyond_file.npy",
     Opener::kDataset,
     Code::kCorruption,
     {"(1000, 4)"}},
    {"NpyOneDimensional", "npy/npy_1d.npy", Opener::kDataset, Code::kInvalidArgument, {"(24,)"}},
    {"NpyUnsupportedDtype",
     "npy/npy_dtype_i8.npy",
     Opener::kDataset,
     Code::kInvalidArgument,
     {"<i8"}},
    {"NpyFortranOrder",
     "npy/npy_fortran_order.npy",
     Opener::kDataset,
     Code::kInvalidArgument,
     {"Fortran"}},
    // Rows of dimension 4, 3 and 5 whose sizes add up: refused when row 1 is read.
    {"FvecsMixedDimensions",
     "fvecs/fvecs_mixed_dims.fvecs",
     Opener::kDataset,
     Code::kCorruption,
     {"row 1", "dimension 3"}},
    {"FbinZeroRows",
     "fbin/fbin_zero_rows.fbin",
     Opener::kDataset,
     Code::kInvalidArgument,
     {"no rows"}},
    {"FbinSizeBeyondFile",
     "fbin/fbin_size_beyond_file.fbin",
     Opener::kDataset,
     Code::kCorruption,
     {"100 rows"}},
    {"Hdf5WithoutTrain",
     "hdf5_raw/hdf5_no_train.hdf5",
     Opener::kDataset,
     Code::kNotFound,
     {"'train'"}},
    {"DirectoryDimensionsDiffer",
     "dataset/dir_dims_differ",
     Opener::kDataset,
     Code::kFailedPrecondition,
     {"part-0.fbin", "part-1.fbin"}},
    {"DirectoryWithoutSupportedFile",
     "dataset/dir_no_supported_file",
     Opener::kDataset,
     Code::kInvalidArgument,
     {"no supported vector file"}},
    {"ManifestDuplicateIds",
     "dataset/manifest_duplicate_ids.json",
     Opener::kDataset,
     Code::kInvalidArgument,
     {"fragment id 2"}},
    {"ManifestRowsBeyondFile",
     "dataset/manifest_rows_beyond_file.json",
     Opener::kDataset,
     Code::kInvalidArgument,
     {"fragment 0", "manifest_data.fbin"}},
    {"ResultFlippedByte",
     "result_file/result_flipped_byte.result",
     Opener::kSampleResult,
     Code::kCorruption,
     {"checksum"}},
    {"ResultTruncated",
     "result_file/result_truncated.result",
     Opener::kSampleResult,
     Code::kCorruption,
     {"truncated"}},
    {"TaskMissingField",
     "task_json/task_missing_field.json",
     Opener::kTask,
     Code::kCorruption,
     {"'dim'"}},
};

// Failures print the corpus entry rather than the struct's bytes.
void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.entry; }

// Opens the dataset and reads every row of every fragment: some faults only show when a row is
// read. Returns the first error.
Status open_and_read_dataset(const std::string& path) {
  Result<Dataset> dataset = Dataset::open(path);
  if (!dataset.ok()) return dataset.status();
  for (const FragmentInfo& f : dataset->fragments()) {
    std::vector<float> rows(static_cast<size_t>(f.num_rows * dataset->dim()));
    Status st = dataset->read_range(f.id, 0, f.num_rows, rows.data());
    if (!st.ok()) return st;
  }
  return Status::OK();
}

Status open_case(const MalformedCase& c, const std::string& path) {
  switch (c.opener) {
    case Opener::kDataset: return open_and_read_dataset(path);
    case Opener::kSampleResult: return read_sample_result(path).status();
    case Opener::kTask: return read_task_file(path).status();
  }
  return Status::OK();
}

class MalformedInput : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedInput, RefusedWithCodeNamingTheFile) {
  const MalformedCase& c = GetParam();
  const std::string path = corpus_dir() + "/" + c.entry;
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing: run make_corpus.sh";
  const Status st = open_case(c, path);
  ASSERT_FALSE(st.ok()) << path << " was accepted";
  EXPECT_EQ(static_cast<int>(st.code()), static_cast<int>(c.code)) << st.message();
  EXPECT_NE(st.message().find(path), std::string::npos)
      << "does not name " << path << ": " << st.message();
  for (const std::string& m : c.mentions) {
    EXPECT_NE(st.message().find(m), std::string::npos) << "lacks \"" << m << "\": " << st.message();
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, MalformedInput, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<MalformedCase>& info) {
                           return std::string(info.param.name);
                         });

// Every entry of the corpus is a case above (or the helper file the manifests point at), so a
// file added to make_corpus.sh without a test is noticed. The fuzzers' malformed seeds (bad_*)
// share the folders.
TEST(MalformedCorpus, EveryEntryHasACase) {
  std::set<std::string> known = {"dataset/manifest_data.fbin"};
  for (const MalformedCase& c : kCases) known.insert(c.entry);
  for (const auto& kind : std::filesystem::directory_iterator(corpus_dir())) {
    for (const auto& e : std::filesystem::directory_iterator(kind.path())) {
      const std::string name = e.path().filename().string();
      if (name.rfind("bad_", 0) == 0) continue;
      const std::string entry = kind.path().filename().string() + "/" + name;
      EXPECT_TRUE(known.count(entry)) << entry << " has no case in malformed_test.cc";
    }
  }
}

// Every file of a folder, sorted (so that failures come in a stable order).
std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// The fuzzers' seeds of the kinds whose input is a whole file: the valid ones open and read, the
// malformed ones (bad_*) are refused in a message naming the file.
TEST(FuzzSeeds, ValidVectorFilesOpenAndRead) {
  for (const char* kind : {"npy", "fvecs", "bvecs", "fbin", "hdf5_raw"}) {
    for (const std::string& path : files_in(valid_dir() + "/" + kind)) {
      const Status st = open_and_read_dataset(path);
      EXPECT_TRUE(st.ok()) << path << ": " << st.ToString();
    }
  }
}

TEST(FuzzSeeds, MalformedVectorFilesAreRefused) {
  for (const char* kind : {"npy", "fvecs", "fbin", "hdf5_raw"}) {
    for (const std::string& path : files_in(corpus_dir() + "/" + kind)) {
      if (std::filesystem::path(path).filename().string().rfind("bad_", 0) != 0) continue;
      const Status st = open_and_read_dataset(path);
      ASSERT_FALSE(st.ok()) << path << " was accepted";
      EXPECT_NE(st.message().find(path), std::string::npos) << st.message();
    }
  }
}

TEST(FuzzSeeds, TaskFiles) {
  for (const std::string& path : files_in(valid_dir() + "/task_json")) {
    const auto task = read_task_file(path);
    EXPECT_TRUE(task.ok()) << path << ": " << task.status().ToString();
  }
  for (const std::string& path : files_in(corpus_dir() + "/task_json")) {
    EXPECT_FALSE(read_task_file(path).ok()) << path << " was accepted";
  }
}

// The helper the manifests point at is itself valid: the manifests fail for their own fault.
TEST(MalformedCorpus, ManifestHelperFileIsValid) {
  EXPECT_TRUE(open_and_read_dataset(corpus_dir() + "/dataset/manifest_data.fbin").ok());
}

}  // namespace
}  // namespace ivftrain
