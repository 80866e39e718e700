// Where the queries of `ivftrain eval` come from (include/ivftrain/eval.h).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "ivftrain/eval.h"
#include "util/rng.h"
#include "util/sampling.h"
#include "util/status_macros.h"

namespace ivftrain {
namespace {

constexpr uint64_t kSeedHeldOutQueries = 201;  // derive_seed purpose of the held-out rows

Result<std::vector<float>> read_all(const Dataset& ds) {
  std::vector<float> x(static_cast<size_t>(ds.num_rows() * ds.dim()));
  int64_t at = 0;
  for (const FragmentInfo& f : ds.fragments()) {
    IVF_RETURN_IF_ERROR(ds.read_range(f.id, 0, f.num_rows, x.data() + at * ds.dim()));
    at += f.num_rows;
  }
  return x;
}

}  // namespace

Result<EvalQueries> read_queries(const std::string& path, const std::string& neighbors_path) {
  IVF_ASSIGN_OR_RETURN(Dataset ds, Dataset::open(path));
  EvalQueries q;
  q.count = ds.num_rows();
  IVF_ASSIGN_OR_RETURN(q.x, read_all(ds));
  if (neighbors_path.empty()) return q;
  IVF_ASSIGN_OR_RETURN(Dataset nb, Dataset::open(neighbors_path));
  if (nb.num_rows() != q.count) {
    return Status::InvalidArgument(fmt::format("{} holds {} rows, the queries {} {}",
                                               neighbors_path, nb.num_rows(), path, q.count));
  }
  IVF_ASSIGN_OR_RETURN(std::vector<float> ids, read_all(nb));
  q.neighbors_k = nb.dim();
  q.neighbors.reserve(ids.size());
  for (float v : ids) {
    if (!(v >= 0 && v < (1 << 24)) || v != std::floor(v)) {
      return Status::InvalidArgument(
          fmt::format("{} holds {}, not a row id in [0, 2^24)", neighbors_path, v));
    }
    q.neighbors.push_back(static_cast<int64_t>(v));
  }
  return q;
}

Result<EvalQueries> held_out_queries(const Dataset& base, int64_t count, uint64_t seed,
                                     const std::vector<int64_t>& fragment_ids,
                                     std::vector<int64_t>* rows) {
  // The candidate rows: global ids of the chosen fragments, in order.
  struct Span {
    const FragmentInfo* f;
    int64_t global_first, candidate_first;
  };
  std::vector<Span> spans;
  int64_t global = 0, candidates = 0;
  for (const FragmentInfo& f : base.fragments()) {
    if (fragment_ids.empty() ||
        std::find(fragment_ids.begin(), fragment_ids.end(), f.id) != fragment_ids.end()) {
      spans.push_back({&f, global, candidates});
      candidates += f.num_rows;
    }
    global += f.num_rows;
  }
  if (count < 1 || count >= candidates) {
    return Status::InvalidArgument(
        fmt::format("--num-queries {} must be at least 1 and fewer than the {} rows of the base",
                    count, candidates));
  }
  Rng rng(derive_seed(seed, kSeedHeldOutQueries, 0));
  const std::vector<int64_t> chosen = choose_sorted(rng, candidates, count);
  EvalQueries q;
  q.count = count;
  q.x.resize(static_cast<size_t>(count * base.dim()));
  rows->clear();
  size_t s = 0;
  for (int64_t i = 0; i < count; ++i) {
    while (chosen[i] >= spans[s].candidate_first + spans[s].f->num_rows) ++s;
    const int64_t row = chosen[i] - spans[s].candidate_first;
    IVF_RETURN_IF_ERROR(base.read_range(spans[s].f->id, row, 1, q.x.data() + i * base.dim()));
    rows->push_back(spans[s].global_first + row);
  }
  return q;
}

}  // namespace ivftrain
