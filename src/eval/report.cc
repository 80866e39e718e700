// The report of `ivftrain eval`: JSON (schema in README.md) and a table for a person.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "ivftrain/eval.h"

namespace ivftrain {

std::string eval_report_json(const EvalReport& r, const TrainedModels& m) {
  using nlohmann::ordered_json;
  ordered_json j;
  j["format"] = "ivftrain-eval";
  j["format_version"] = 1;
  j["index_type"] = std::string(to_string(m.params.index_type));
  j["distance_type"] = std::string(to_string(m.params.distance_type));
  j["dim"] = r.dim;
  j["num_partitions"] = r.num_partitions;
  j["base_rows"] = r.base_rows;
  j["base_rows_dropped"] = r.base_rows_nonfinite;
  j["num_queries"] = r.num_queries;
  j["ground_truth"] = r.ground_truth_from_file ? "file" : "exact";
  j["k"] = r.ks;
  ordered_json probes = ordered_json::array();
  for (const EvalProbe& p : r.probes) {
    ordered_json recall;
    for (size_t i = 0; i < r.ks.size(); ++i) recall[std::to_string(r.ks[i])] = p.recall[i];
    probes.push_back({{"nprobe", p.nprobe},
                      {"recall", recall},
                      {"vectors_scanned", p.vectors_scanned},
                      {"queries_per_second", p.queries_per_second}});
  }
  j["probes"] = probes;
  j["partitions"] = {
      {"largest", r.largest_partition},
      {"mean", r.mean_partition},
      {"largest_over_mean", r.mean_partition > 0 ? r.largest_partition / r.mean_partition : 0.0},
      {"cv", r.partition_cv},
      {"empty", r.empty_partitions},
      {"histogram_edges", r.histogram_edges},
      {"histogram", r.histogram}};
  ordered_json quant;
  if (m.params.index_type == IndexType::kIvfPq) quant["pq_reconstruction_mse"] = r.quantization_mse;
  if (m.params.index_type == IndexType::kIvfSq) {
    quant["sq_quantization_mse"] = r.quantization_mse;
    quant["sq_clipped_fraction"] = r.sq_clipped_fraction;
  }
  j["quantization"] = quant.is_null() ? ordered_json::object() : quant;
  j["seconds"] = {{"encode", r.encode_seconds}, {"ground_truth", r.ground_truth_seconds}};
  return j.dump(2) + "\n";
}

std::string eval_report_table(const EvalReport& r, const TrainedModels& m) {
  std::string out = fmt::format(
      "index       {} ({} distance), dim {}, {} partitions\n"
      "base        {} vectors ({} dropped: NaN, Inf or zero under cosine); {} queries; ground "
      "truth {}\n",
      to_string(m.params.index_type), to_string(m.params.distance_type), r.dim, r.num_partitions,
      r.base_rows, r.base_rows_nonfinite, r.num_queries,
      r.ground_truth_from_file ? "from the file" : "exact");
  out += fmt::format("partitions  largest {} = {:.2f} x the mean {:.1f}; cv {:.3f}; {} empty\n",
                     r.largest_partition,
                     r.mean_partition > 0 ? r.largest_partition / r.mean_partition : 0.0,
                     r.mean_partition, r.partition_cv, r.empty_partitions);
  out += "            sizes / mean:";
  for (size_t b = 0; b < r.histogram.size(); ++b) {
    out += b + 1 < r.histogram_edges.size()
               ? fmt::format(" [{:g},{:g}) {}", r.histogram_edges[b], r.histogram_edges[b + 1],
                             r.histogram[b])
               : fmt::format(" >={:g} {}", r.histogram_edges[b], r.histogram[b]);
  }
  out += "\n";
  if (m.params.index_type == IndexType::kIvfPq) {
    out +=
        fmt::format("quantizer   PQ reconstruction mse {:.6g} on the base\n", r.quantization_mse);
  } else if (m.params.index_type == IndexType::kIvfSq) {
    out += fmt::format("quantizer   SQ quantisation mse {:.6g}, {:.4f}% of values clipped\n",
                       r.quantization_mse, 100 * r.sq_clipped_fraction);
  }
  out += fmt::format("{:>8}", "nprobe");
  for (int64_t k : r.ks) out += fmt::format(" {:>10}", fmt::format("recall@{}", k));
  out += fmt::format(" {:>16} {:>12}\n", "scanned/query", "queries/s");
  for (const EvalProbe& p : r.probes) {
    out += fmt::format("{:>8}", p.nprobe);
    for (double v : p.recall) out += fmt::format(" {:>10.4f}", v);
    out += fmt::format(" {:>16.1f} {:>12.0f}\n", p.vectors_scanned, p.queries_per_second);
  }
  return out;
}

}  // namespace ivftrain
