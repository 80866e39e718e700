// The model directory: model.json and the .npy arrays (see include/ivftrain/model_dir.h).
#include "ivftrain/model_dir.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "files/owned_dir.h"
#include "io/npy.h"
#include "train/params_json.h"
#include "util/files.h"
#include "util/status_macros.h"

namespace ivftrain {
namespace {

constexpr const char* kModelFormat = "ivftrain-model";
constexpr int kModelFormatVersion = 1;

std::vector<int64_t> sq_shape(const SqBounds& b) {
  return b.mode == SqBoundsMode::kGlobal
             ? std::vector<int64_t>{2}
             : std::vector<int64_t>{2, static_cast<int64_t>(b.lower.size())};
}

ordered_json to_json(const TrainedModels& m) {
  const TrainParams& p = m.params;
  ordered_json j;
  j["format"] = kModelFormat;
  j["format_version"] = kModelFormatVersion;
  j["index_type"] = std::string(to_string(p.index_type));
  j["distance_type"] = std::string(to_string(p.distance_type));
  j["dim"] = m.dim;
  j["num_partitions"] = p.ivf.num_partitions;
  ordered_json files;
  files["ivf_centroids"] = "ivf_centroids.npy";
  if (m.pq) {
    j["num_sub_vectors"] = m.pq->num_sub_vectors;
    j["num_bits"] = m.pq->num_bits;
    files["pq_codebook"] = "pq_codebook.npy";
  }
  if (m.sq) {
    j["num_bits"] = p.sq.num_bits;
    j["sq_bounds"] = {{"mode", std::string(to_string(m.sq->mode))},
                      {"lower", m.sq->lower},
                      {"upper", m.sq->upper}};
    files["sq_bounds"] = "sq_bounds.npy";
  }
  j["files"] = files;
  j["seed"] = p.seed;
  j["params"] = params_to_json(p);
  const TrainingStats& s = m.stats;
  ordered_json stats;
  stats["rows_available"] = s.rows_available;
  stats["fragments_used"] = s.fragments_used;
  stats["sample_rows_planned"] = s.sample_rows_planned;
  stats["rows_read"] = s.rows_read;
  stats["rows_dropped_nonfinite"] = s.rows_dropped_nonfinite;
  stats["rows_dropped_zero_norm"] = s.rows_dropped_zero_norm;
  stats["sample_rows"] = s.sample_rows;
  stats["ivf_train_rows"] = s.ivf_train_rows;
  stats["quantizer_train_rows"] = s.quantizer_train_rows;
  stats["ivf_iterations"] = s.ivf_iterations.size();
  ordered_json objectives = ordered_json::array(), splits = ordered_json::array();
  for (const auto& it : s.ivf_iterations) {
    objectives.push_back(it.objective);
    splits.push_back(it.empty_clusters_split);
  }
  stats["ivf_objective"] = s.ivf_objective;
  stats["ivf_objective_per_iteration"] = objectives;
  stats["ivf_empty_clusters_split_per_iteration"] = splits;
  if (m.pq) {
    stats["pq_reconstruction_mse"] = s.pq_reconstruction_mse;
    ordered_json pq_final = ordered_json::array(), pq_iters = ordered_json::array();
    for (const auto& sub : m.pq->iterations) {
      pq_final.push_back(sub.empty() ? 0.0 : sub.back().objective);
      pq_iters.push_back(sub.size());
    }
    stats["pq_objective_per_subspace"] = pq_final;
    stats["pq_iterations_per_subspace"] = pq_iters;
  }
  j["stats"] = stats;
  // Timings differ from run to run; they are the only part of model.json that does.
  ordered_json t;
  t["sample_seconds"] = m.timings.sample_seconds;
  t["ivf_seconds"] = m.timings.ivf_seconds;
  t["quantizer_seconds"] = m.timings.quantizer_seconds;
  t["total_seconds"] = m.timings.total_seconds;
  ordered_json iter_seconds = ordered_json::array();
  for (const auto& it : s.ivf_iterations) iter_seconds.push_back(it.seconds);
  t["ivf_seconds_per_iteration"] = iter_seconds;
  j["timings"] = t;
  return j;
}

// Reads the statistics and timings model.json holds; every value must have its type.
Status read_stats(const nlohmann::json& j, const std::string& source, TrainedModels* m) {
  if (!j.contains("stats") || !j["stats"].is_object() || !j.contains("timings") ||
      !j["timings"].is_object()) {
    return Status::Corruption(fmt::format("{}: 'stats' or 'timings' is missing", source));
  }
  const auto& s = j["stats"];
  TrainingStats& st = m->stats;
  for (auto [key, field] : {std::pair{"rows_available", &st.rows_available},
                            {"fragments_used", &st.fragments_used},
                            {"sample_rows_planned", &st.sample_rows_planned},
                            {"rows_read", &st.rows_read},
                            {"rows_dropped_nonfinite", &st.rows_dropped_nonfinite},
                            {"rows_dropped_zero_norm", &st.rows_dropped_zero_norm},
                            {"sample_rows", &st.sample_rows},
                            {"ivf_train_rows", &st.ivf_train_rows},
                            {"quantizer_train_rows", &st.quantizer_train_rows}}) {
    IVF_ASSIGN_OR_RETURN(*field, json_int(s, key, source));
  }
  IVF_ASSIGN_OR_RETURN(st.ivf_objective, json_number(s, "ivf_objective", source));
  if (s.contains("pq_reconstruction_mse")) {
    IVF_ASSIGN_OR_RETURN(st.pq_reconstruction_mse, json_number(s, "pq_reconstruction_mse", source));
  }
  if (!s.contains("ivf_objective_per_iteration") || !s["ivf_objective_per_iteration"].is_array()) {
    return Status::Corruption(
        fmt::format("{}: 'ivf_objective_per_iteration' is missing or not a list", source));
  }
  for (const auto& o : s["ivf_objective_per_iteration"]) {
    if (!o.is_number()) {
      return Status::Corruption(
          fmt::format("{}: 'ivf_objective_per_iteration' holds a non-number", source));
    }
    KMeansIteration it;
    it.objective = o.get<double>();
    st.ivf_iterations.push_back(it);
  }
  const auto& t = j["timings"];
  PhaseTimings& pt = m->timings;
  for (auto [key, field] : {std::pair{"sample_seconds", &pt.sample_seconds},
                            {"ivf_seconds", &pt.ivf_seconds},
                            {"quantizer_seconds", &pt.quantizer_seconds},
                            {"total_seconds", &pt.total_seconds}}) {
    IVF_ASSIGN_OR_RETURN(*field, json_number(t, key, source));
  }
  return Status::OK();
}

// --overwrite replaces only a model directory ivftrain wrote: model.json and the model's arrays.
Status replaceable_model_dir(const std::string& dir) {
  static const OwnedDirKind kind{"model", "model.json", kModelFormat, kModelFormatVersion,
                                 [](const std::filesystem::directory_entry& e) {
                                   const std::string name = e.path().filename().string();
                                   return name == "ivf_centroids.npy" ||
                                          name == "pq_codebook.npy" || name == "sq_bounds.npy";
                                 }};
  return replaceable_owned_dir(dir, kind);
}

}  // namespace

Status check_model_dir_output(const std::string& dir, bool overwrite) {
  return check_output(dir, overwrite, replaceable_model_dir);
}

std::string model_json(const TrainedModels& models) { return to_json(models).dump(2) + "\n"; }

Status write_model_dir(const TrainedModels& m, const std::string& dir, bool overwrite) {
  const int64_t k = m.params.ivf.num_partitions;
  if (static_cast<int64_t>(m.ivf_centroids.size()) != k * m.dim) {
    return Status::InvalidArgument("cannot write a model whose centroids do not match its shape");
  }
  IVF_ASSIGN_OR_RETURN(StagedDirectory staged,
                       StagedDirectory::create(dir, overwrite, replaceable_model_dir));
  IVF_RETURN_IF_ERROR(
      staged.write("ivf_centroids.npy", npy_bytes_f32({k, m.dim}, m.ivf_centroids.data())));
  if (m.pq) {
    IVF_RETURN_IF_ERROR(staged.write(
        "pq_codebook.npy", npy_bytes_f32({m.pq->num_sub_vectors, m.pq->ksub(), m.pq->dsub()},
                                         m.pq->centroids.data())));
  }
  if (m.sq) {
    std::vector<float> both = m.sq->lower;
    both.insert(both.end(), m.sq->upper.begin(), m.sq->upper.end());
    IVF_RETURN_IF_ERROR(staged.write("sq_bounds.npy", npy_bytes_f32(sq_shape(*m.sq), both.data())));
  }
  IVF_RETURN_IF_ERROR(staged.write("model.json", model_json(m)));
  return staged.commit();
}

Result<TrainedModels> read_model_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string json_path = (fs::path(dir) / "model.json").string();
  if (!fs::is_directory(dir)) {
    return Status::NotFound(fmt::format("{} is not a model directory (it does not exist)", dir));
  }
  IVF_ASSIGN_OR_RETURN(std::string text, read_file(json_path));
  IVF_ASSIGN_OR_RETURN(nlohmann::json j, parse_json(text, json_path));
  IVF_RETURN_IF_ERROR(check_json_format(j, kModelFormat, kModelFormatVersion, json_path));
  TrainedModels m;
  if (!j.contains("params"))
    return Status::Corruption(fmt::format("{}: 'params' is missing", json_path));
  IVF_ASSIGN_OR_RETURN(m.params, params_from_json(j["params"], json_path));
  IVF_ASSIGN_OR_RETURN(m.dim, json_int(j, "dim", json_path));
  if (m.dim < 1) return Status::Corruption(fmt::format("{}: 'dim' must be at least 1", json_path));
  if (Status st = validate(m.params, m.dim); !st.ok()) {
    return Status::Corruption(fmt::format("{}: {}", json_path, st.message()));
  }
  const int64_t k = m.params.ivf.num_partitions;

  auto load = [&](const char* name,
                  const std::vector<int64_t>& expected) -> Result<std::vector<float>> {
    const std::string path = (fs::path(dir) / name).string();
    std::vector<int64_t> shape;
    IVF_ASSIGN_OR_RETURN(std::vector<float> data, read_npy_f32(path, &shape));
    if (shape != expected) {
      return Status::Corruption(fmt::format("{} has shape {}, expected {}", path,
                                            fmt::join(shape, "x"), fmt::join(expected, "x")));
    }
    return data;
  };
  IVF_ASSIGN_OR_RETURN(m.ivf_centroids, load("ivf_centroids.npy", {k, m.dim}));
  if (m.params.index_type == IndexType::kIvfPq) {
    PqCodebook cb;
    cb.dim = m.dim;
    cb.num_sub_vectors = m.params.pq.num_sub_vectors;
    cb.num_bits = m.params.pq.num_bits;
    IVF_ASSIGN_OR_RETURN(cb.centroids,
                         load("pq_codebook.npy", {cb.num_sub_vectors, cb.ksub(), cb.dsub()}));
    m.pq = std::move(cb);
  }
  if (m.params.index_type == IndexType::kIvfSq) {
    SqBounds b = SqBounds::empty(m.params.sq.bounds, m.dim);
    IVF_ASSIGN_OR_RETURN(std::vector<float> both, load("sq_bounds.npy", sq_shape(b)));
    const size_t half = both.size() / 2;
    b.lower.assign(both.begin(), both.begin() + static_cast<int64_t>(half));
    b.upper.assign(both.begin() + static_cast<int64_t>(half), both.end());
    m.sq = std::move(b);
  }
  IVF_RETURN_IF_ERROR(read_stats(j, json_path, &m));
  return m;
}

}  // namespace ivftrain
