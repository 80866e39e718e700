#include "train/params_json.h"

#include <fmt/format.h>
#include <xxhash.h>

#include "util/status_macros.h"

namespace ivftrain {

ordered_json params_to_json(const TrainParams& p) {
  ordered_json j;
  j["index_type"] = std::string(to_string(p.index_type));
  j["distance_type"] = std::string(to_string(p.distance_type));
  j["seed"] = p.seed;
  j["ivf"] = {{"num_partitions", p.ivf.num_partitions},
              {"max_iters", p.ivf.kmeans.max_iters},
              {"sample_rate", p.ivf.sample_rate},
              {"tolerance", p.ivf.kmeans.tolerance},
              {"init", std::string(to_string(p.ivf.kmeans.init))},
              {"algorithm", std::string(to_string(p.ivf.kmeans.algorithm))},
              {"balance", p.ivf.kmeans.balance}};
  // Written only when off, so that files of the default stay as they were (and files without
  // it read as the default).
  if (!p.ivf.kmeans.relocate) j["ivf"]["relocate"] = false;
  if (p.index_type == IndexType::kIvfPq) {
    j["pq"] = {{"num_sub_vectors", p.pq.num_sub_vectors},
               {"num_bits", p.pq.num_bits},
               {"max_iters", p.pq.kmeans.max_iters},
               {"sample_rate", p.pq.sample_rate},
               {"tolerance", p.pq.kmeans.tolerance}};
    // Written only when set, so that files of the default (random, as Lance) stay as they were.
    if (p.pq.kmeans.init != KMeansInit::kRandom) {
      j["pq"]["init"] = std::string(to_string(p.pq.kmeans.init));
    }
    if (!p.pq.kmeans.relocate) j["pq"]["relocate"] = false;
  }
  if (p.index_type == IndexType::kIvfSq) {
    j["sq"] = {{"num_bits", p.sq.num_bits},
               {"sample_rate", p.sq.sample_rate},
               {"bounds", std::string(to_string(p.sq.bounds))}};
  }
  return j;
}

uint64_t params_fingerprint(const TrainParams& params) {
  const std::string text = params_to_json(params).dump();
  return XXH64(text.data(), text.size(), 0);
}

Result<int64_t> json_int(const nlohmann::json& j, const char* key, const std::string& source) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number_integer()) {
    return Status::Corruption(fmt::format("{}: '{}' is missing or not an integer", source, key));
  }
  return j[key].get<int64_t>();
}

Result<std::string> json_string(const nlohmann::json& j, const char* key,
                                const std::string& source) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) {
    return Status::Corruption(fmt::format("{}: '{}' is missing or not a string", source, key));
  }
  return j[key].get<std::string>();
}

Result<double> json_number(const nlohmann::json& j, const char* key, const std::string& source) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number()) {
    return Status::Corruption(fmt::format("{}: '{}' is missing or not a number", source, key));
  }
  return j[key].get<double>();
}

Result<nlohmann::json> parse_json(const std::string& text, const std::string& source) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return Status::Corruption(fmt::format("{} is not valid JSON", source));
  return j;
}

Status check_json_format(const nlohmann::json& j, const char* format, int version,
                         const std::string& source) {
  if (!j.is_object() || !j.contains("format") || !j["format"].is_string() ||
      j["format"].get<std::string>() != format) {
    return Status::Corruption(fmt::format("{} is not an {} file", source, format));
  }
  if (!j.contains("format_version") || j["format_version"] != version) {
    return Status::Corruption(fmt::format("{} has format version {}, this build reads {}", source,
                                          j.value("format_version", nlohmann::json()).dump(),
                                          version));
  }
  return Status::OK();
}

namespace {

// `section`'s "relocate" into *out: absent (files of earlier builds and of the default) is true.
Status read_relocate(const nlohmann::json& j, const char* section, const std::string& source,
                     bool* out) {
  if (!j.contains("relocate")) return Status::OK();
  if (!j["relocate"].is_boolean()) {
    return Status::Corruption(
        fmt::format("{}: '{}.relocate' must be true or false", source, section));
  }
  *out = j["relocate"].get<bool>();
  return Status::OK();
}

Result<uint64_t> json_uint(const nlohmann::json& j, const char* key, const std::string& source) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number_unsigned()) {
    return Status::Corruption(
        fmt::format("{}: '{}' is missing or not a non-negative integer", source, key));
  }
  return j[key].get<uint64_t>();
}

Result<TrainParams> parse(const nlohmann::json& j, const std::string& source) {
  TrainParams p;
  IVF_ASSIGN_OR_RETURN(std::string index_type, json_string(j, "index_type", source));
  IVF_ASSIGN_OR_RETURN(p.index_type, parse_index_type(index_type));
  IVF_ASSIGN_OR_RETURN(std::string distance, json_string(j, "distance_type", source));
  IVF_ASSIGN_OR_RETURN(p.distance_type, parse_distance_type(distance));
  IVF_ASSIGN_OR_RETURN(p.seed, json_uint(j, "seed", source));
  if (!j.contains("ivf")) return Status::Corruption(fmt::format("{}: 'ivf' is missing", source));
  const auto& ivf = j["ivf"];
  IVF_ASSIGN_OR_RETURN(p.ivf.num_partitions, json_int(ivf, "num_partitions", source));
  IVF_ASSIGN_OR_RETURN(int64_t ivf_iters, json_int(ivf, "max_iters", source));
  p.ivf.kmeans.max_iters = static_cast<int>(ivf_iters);
  IVF_ASSIGN_OR_RETURN(p.ivf.sample_rate, json_int(ivf, "sample_rate", source));
  IVF_ASSIGN_OR_RETURN(p.ivf.kmeans.tolerance, json_number(ivf, "tolerance", source));
  IVF_ASSIGN_OR_RETURN(std::string init, json_string(ivf, "init", source));
  IVF_ASSIGN_OR_RETURN(p.ivf.kmeans.init, parse_kmeans_init(init));
  IVF_ASSIGN_OR_RETURN(std::string algorithm, json_string(ivf, "algorithm", source));
  IVF_ASSIGN_OR_RETURN(p.ivf.kmeans.algorithm, parse_kmeans_algorithm(algorithm));
  IVF_ASSIGN_OR_RETURN(p.ivf.kmeans.balance, json_number(ivf, "balance", source));
  IVF_RETURN_IF_ERROR(read_relocate(ivf, "ivf", source, &p.ivf.kmeans.relocate));
  if (p.index_type == IndexType::kIvfPq) {
    if (!j.contains("pq")) return Status::Corruption(fmt::format("{}: 'pq' is missing", source));
    const auto& pq = j["pq"];
    IVF_ASSIGN_OR_RETURN(p.pq.num_sub_vectors, json_int(pq, "num_sub_vectors", source));
    IVF_ASSIGN_OR_RETURN(int64_t bits, json_int(pq, "num_bits", source));
    p.pq.num_bits = static_cast<int>(bits);
    IVF_ASSIGN_OR_RETURN(int64_t iters, json_int(pq, "max_iters", source));
    p.pq.kmeans.max_iters = static_cast<int>(iters);
    IVF_ASSIGN_OR_RETURN(p.pq.sample_rate, json_int(pq, "sample_rate", source));
    IVF_ASSIGN_OR_RETURN(p.pq.kmeans.tolerance, json_number(pq, "tolerance", source));
    if (pq.contains("init")) {
      IVF_ASSIGN_OR_RETURN(std::string pq_init, json_string(pq, "init", source));
      IVF_ASSIGN_OR_RETURN(p.pq.kmeans.init, parse_kmeans_init(pq_init));
    }
    IVF_RETURN_IF_ERROR(read_relocate(pq, "pq", source, &p.pq.kmeans.relocate));
  }
  if (p.index_type == IndexType::kIvfSq) {
    if (!j.contains("sq")) return Status::Corruption(fmt::format("{}: 'sq' is missing", source));
    const auto& sq = j["sq"];
    IVF_ASSIGN_OR_RETURN(int64_t bits, json_int(sq, "num_bits", source));
    p.sq.num_bits = static_cast<int>(bits);
    IVF_ASSIGN_OR_RETURN(p.sq.sample_rate, json_int(sq, "sample_rate", source));
    IVF_ASSIGN_OR_RETURN(std::string bounds, json_string(sq, "bounds", source));
    IVF_ASSIGN_OR_RETURN(p.sq.bounds, parse_sq_bounds_mode(bounds));
  }
  return p;
}

}  // namespace

Result<TrainParams> params_from_json(const nlohmann::json& j, const std::string& source) {
  auto p = parse(j, source);
  if (!p.ok()) {
    const Status& s = p.status();
    // Enum parse errors do not know the file: add it.
    if (s.message().rfind(source, 0) != 0) {
      return Status::Corruption(fmt::format("{}: {}", source, s.message()));
    }
    return s;
  }
  if (Status st = validate(*p, 0); !st.ok()) {
    return Status::Corruption(fmt::format("{}: {}", source, st.message()));
  }
  return p;
}

}  // namespace ivftrain
