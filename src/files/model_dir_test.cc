#include "ivftrain/model_dir.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "test_util.h"

namespace ivftrain {
namespace {

namespace fs = std::filesystem;

TrainedModels tiny_model(float value) {
  TrainedModels m;
  m.params.index_type = IndexType::kIvfFlat;
  m.params.ivf.num_partitions = 2;
  m.dim = 2;
  m.ivf_centroids = {value, 0, 0, value};
  return m;
}

class ModelDirTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  std::string out_ = dir_.file("model");
};

TEST_F(ModelDirTest, OverwriteReplacesAModelIvftrainWrote) {
  ASSERT_TRUE(write_model_dir(tiny_model(1), out_, false).ok());
  EXPECT_EQ(write_model_dir(tiny_model(2), out_, false).code(), Status::Code::kAlreadyExists);
  ASSERT_TRUE(check_model_dir_output(out_, true).ok());
  ASSERT_TRUE(write_model_dir(tiny_model(2), out_, true).ok());
  auto back = read_model_dir(out_);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ivf_centroids[0], 2.0f);
}

// --overwrite must not delete a file of the user's: a model directory with a file ivftrain did
// not write, a directory that is no model, or a file (a dataset) at the path are refused, named.
TEST_F(ModelDirTest, OverwriteRefusesAnythingElse) {
  ASSERT_TRUE(write_model_dir(tiny_model(1), out_, false).ok());
  testing::write_bytes(out_ + "/notes.txt", "mine");
  Status st = write_model_dir(tiny_model(2), out_, true);
  EXPECT_EQ(st.code(), Status::Code::kAlreadyExists);
  EXPECT_NE(st.message().find("notes.txt"), std::string::npos) << st.message();
  EXPECT_EQ(check_model_dir_output(out_, true).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(testing::read_bytes(out_ + "/notes.txt"), "mine");

  const std::string data_dir = dir_.file("ddir");
  fs::create_directory(data_dir);
  testing::write_bytes(data_dir + "/part-00000.npy", "data");
  st = write_model_dir(tiny_model(2), data_dir, true);
  EXPECT_EQ(st.code(), Status::Code::kAlreadyExists);
  EXPECT_NE(st.message().find("model.json"), std::string::npos) << st.message();
  EXPECT_EQ(testing::read_bytes(data_dir + "/part-00000.npy"), "data");

  const std::string data = dir_.file("data.npy");
  testing::write_bytes(data, "data");
  st = write_model_dir(tiny_model(2), data, true);
  EXPECT_EQ(st.code(), Status::Code::kAlreadyExists);
  EXPECT_NE(st.message().find("not a model directory"), std::string::npos) << st.message();
  EXPECT_EQ(testing::read_bytes(data), "data");
}

TEST_F(ModelDirTest, TrailingSlashAndEmptyPath) {
  ASSERT_TRUE(write_model_dir(tiny_model(1), out_ + "/", false).ok());
  EXPECT_TRUE(read_model_dir(out_).ok());
  const Status st = write_model_dir(tiny_model(1), "", false);
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(check_model_dir_output("", false).code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace ivftrain
