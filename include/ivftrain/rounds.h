// Sharded IVF training in rounds: the primitives any orchestrator (a shell loop, Slurm job arrays,
// Kubernetes jobs, Spark, Ray) drives, as plain values and pure functions of their inputs. The
// sample rows never meet on one node: each worker keeps the sample result it wrote (its shard),
// and every round
//   1. each worker computes, from its shard and the round's centroids, a RoundPartial (per-cluster
//      sums and counts of its rows' assignment, its share of the objective, the fingerprint of
//      the centroids it was computed against): compute_round_partial;
//   2. the partials of the round are merged into the next round's state, or the IVF centroids
//      are final: merge_round.
// The decisions are those of local training (the same initial rows, update, empty-cluster
// splits with the same random draws, stop rule and iteration count), so the model equals
// train_local's. Hierarchical k-means runs its steps as rounds too (RoundStage). plan_files.h
// keeps the rounds as files of the plan directory (`ivftrain round`, `ivftrain advance`).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ivftrain/distributed.h"
#include "ivftrain/kmeans.h"
#include "ivftrain/params.h"
#include "ivftrain/status.h"

namespace ivftrain {

// Where the rows of each fragment sit in the canonical sample (fragment id order, then row):
// what a worker needs to know which of its rows the IVF k-means trains on.
struct SampleLayout {
  std::vector<int64_t> fragment_ids;   // ascending
  std::vector<int64_t> fragment_rows;  // sample rows kept of each fragment
  std::vector<int32_t> workers;        // the worker whose result holds each fragment

  int64_t rows() const;
};

// The layout of a plan's results (their vectors are not needed: the fragment ids are). Refuses a
// fragment given by two workers, naming them.
Result<SampleLayout> sample_layout(const std::vector<SampleResult>& results);

// What a round computes. Flat k-means: round 0 is a scan, then every round is a Lloyd round.
// Hierarchical k-means (docs/sharded.md, "Hierarchical k-means over files") runs its steps as
// rounds: kGroups (round 0), kCap (only when a group is over the cap), kTrainGroups, then
// kRefine rounds (one per refinement iteration, and one that measures the groups' centroids).
enum class RoundStage : int32_t {
  kFlat = 0,
  // Each worker assigns its IVF rows to the coarse centroids: the group sizes, the largest
  // |value| (the grid) and squared norm; it keeps its rows' groups (compute_round_partial's
  // groups_out).
  kGroups = 1,
  // Each worker's capping records (cap_records: 80 bytes a row) of its rows in over-full groups.
  kCap = 2,
  // Each worker trains the groups it owns (group_owners) on their rows, read from every worker's
  // result: their fine centroids and, after a capping, the sums of their rows (the capped
  // groups' coarse centroids).
  kTrainGroups = 3,
  // Each worker assigns the rows of its groups to the centroids of the neighbouring groups: the
  // statistics of a refinement iteration.
  kRefine = 4,
  // k-means|| initialisation of flat k-means (docs/sharded.md, "k-means|| over files"): one round
  // per oversampling round. Each worker measures its IVF rows' distances to the candidates added
  // last (keeping them between rounds, WorkerSeed), and gives its share of phi (exact) and the
  // rows it would draw with its own share as phi (a superset of the true draw, since its share
  // is at most phi): their indices and distances only. The merge draws with the true phi by the
  // very expression local training uses (kmeans_parallel_drawn) and reads the few rows drawn by
  // seeking. The last round counts the rows nearest each candidate; the merge reduces the
  // candidates to the k initial centroids (weighted k-means++), and the flat rounds follow.
  // Round 0 is also the scan of the flat rounds (the grid of the exact sums).
  kSeed = 5,
  // The farthest rows of an update's split (docs/sharded.md, "Empty clusters over files"): when
  // the merge of a flat or kRefine round leaves clusters empty, the donors split towards the
  // row of their cluster farthest from their new centroid, which only the workers can find. The
  // state is then the round's own again (its centroids, generator and records), a round later,
  // with the donors and their new centroids: each worker assigns its rows again (the same
  // labels and statistics), and gives the same partial plus, per donor, its farthest row (IVF
  // row index and distance). The merge takes the farthest over the workers, reads those rows by
  // seeking and makes the update the round's merge would have made, splits included; the
  // rounds go on in `split_after`'s stage.
  kSplit = 6,
};

// The state of a sharded k-means run between rounds: the centroids round `round` assigns to.
// Round 0 is a scan: its partials carry only the largest |value| of each worker's IVF rows,
// which sets the grid of the exact sums (docs/sharded.md). Round 1 assigns the initial
// centroids, and round r > 1 the centroids of Lloyd iteration r - 1.
struct RoundState {
  std::string plan_id;
  uint64_t params_hash = 0;  // params_fingerprint of the plan's parameters
  int round = 0;             // 0: the initial centroids
  int64_t k = 0, dim = 0;
  int64_t train_rows = 0;        // rows the IVF k-means trains on (the IVF subset)
  std::vector<float> centroids;  // k x dim
  SampleLayout layout;
  // The k-means generator after the draws that made `centroids`: the empty-cluster splits of
  // the next update continue its sequence.
  std::array<uint64_t, 4> rng_state{};
  double grid_step = 0;       // the exact sums' grid (SumGrid::step); 0 in round 0 (the scan)
  int64_t split = 0;          // clusters the update that made `centroids` split (round > 1)
  double prev_objective = 0;  // the objective of the previous round's centroids (round > 1)
  std::vector<KMeansIteration> iterations;  // one per round after round 1 (kRefine: per round)

  RoundStage stage = RoundStage::kFlat;
  // Hierarchical k-means (stage != kFlat); `centroids` are then the k fine centroids in kRefine
  // rounds, and empty before.
  std::vector<float> coarse;         // g x dim: the coarse centroids (capped from kRefine on)
  std::vector<int64_t> group_sizes;  // g: rows per group (capped from kTrainGroups on)
  int64_t capacity = 0;              // the cap on group sizes (from kCap on)
  bool capped = false;               // the capping moved rows (the coarse centroids follow)
  std::vector<int64_t> moved_rows;   // the IVF rows (indices among them) it moved, increasing
  std::vector<int32_t> moved_to;     // their groups

  // k-means|| (stage kSeed): `centroids` are then the candidates so far (m x dim), these their
  // IVF rows (indices among the IVF rows), and seed_ends[j] the number of candidates after batch
  // j (batch 0: the first candidate; batch j > 0: the rows drawn by oversampling round j - 1,
  // maybe none). Round r is oversampling round r (seed_ends.size() == r + 1): the workers
  // measure batch r, then draw (or count, after the last oversampling round or when phi is 0).
  std::vector<int64_t> candidate_rows;
  std::vector<int64_t> seed_ends;
  // Rounds spent by the initialisation before the flat rounds' first assignment of the initial
  // centroids, which is round init_rounds + 1 (0 with random initialisation, whose round 0 is
  // the scan; k-means||: its oversampling rounds, the first of which is the scan too).
  int32_t init_rounds = 0;
  // kSplit: the stage the split's round repeats (kFlat or kRefine), the donors (cluster
  // indices, in the order the empty clusters take them) and their new centroids (donors x dim).
  RoundStage split_after = RoundStage::kFlat;
  std::vector<int64_t> split_donors;
  std::vector<float> split_centroids;
  // kSplit rounds so far, this one included (each repeats the assignment of the round before).
  int32_t split_rounds = 0;
  // The flat rounds' own count: 0 the scan, 1 the initial centroids, r > 1 the centroids of
  // Lloyd iteration r - 1 (a kSplit round counts as the round it repeats).
  int lloyd_round() const { return round - init_rounds - split_rounds; }
  // The stage whose work the round does (kSplit: the stage it repeats).
  RoundStage work_stage() const { return stage == RoundStage::kSplit ? split_after : stage; }

  // XXH3 of the round number, the shape, the centroids' bytes and the hierarchical state: a
  // partial carries it, so that one computed against other centroids is refused.
  uint64_t fingerprint() const;
};

// One worker's statistics of a round.
struct RoundPartial {
  std::string plan_id;
  int worker = 0;
  int round = 0;
  uint64_t centroids_fingerprint = 0;  // RoundState::fingerprint() of the centroids assigned to
  int64_t k = 0, dim = 0;
  int64_t rows = 0;      // the worker's rows in the IVF subset
  double max_abs = 0;    // the largest |value| of those rows (round 0)
  double max_norm2 = 0;  // the largest squared norm of any of the worker's sample rows
  // Rounds > 0: the statistics of the rows' assignment (ClusterSums, on the state's grid).
  double objective = 0;                 // the sum of their distances (objective_bins' value)
  std::vector<int64_t> objective_bins;  // that sum, exact (ExactSum's bins: merged by adding)
  double grid_step = 0;
  std::vector<double> sums;        // k x dim: each cluster's exact sum of rows on the grid
  std::vector<double> norms;       // k: each cluster's exact sum of its rows' |x|^2 (norm grid)
  std::vector<int64_t> counts;     // k
  std::vector<uint8_t> identical;  // k: 1 when all the cluster's rows equal its first
  std::vector<float> first;        // k x dim: the cluster's first row (in canonical order)
  std::vector<int64_t> first_row;  // k: its index among the IVF rows (INT64_MAX when empty)

  RoundStage stage = RoundStage::kFlat;
  // Hierarchical k-means. kGroups: `counts` holds the rows of each group (g). kTrainGroups: the
  // ClusterSums fields hold the g groups' statistics of the worker's groups (after a capping).
  std::vector<uint64_t> row_hashes;      // kGroups: up to k distinct hashes of its IVF rows
  std::vector<int64_t> cap_records;      // kCap: the worker's cap_records
  std::vector<float> fine;               // kTrainGroups: its groups' centroids, groups ascending
  std::vector<double> group_objectives;  // kRefine: g; its groups' objectives (0 elsewhere)
  // kSeed: objective_bins hold the worker's share of phi; these the rows it would draw with that
  // share as phi (IVF row indices, increasing) and their distances; `counts` (one per candidate)
  // the rows nearest each candidate, after the last oversampling round or when its share is 0.
  std::vector<int64_t> drawn_rows;
  std::vector<float> drawn_dist;
  // kSplit: per donor of the state, the worker's row of the donor's cluster farthest from the
  // donor's new centroid (IVF row index; INT64_MAX when it holds none) and its squared distance
  // (split_distance; -1 when none).
  std::vector<int64_t> far_rows;
  std::vector<double> far_dist;
};

// Why sharded rounds cannot train these parameters ("" when they can): balancing needs the whole
// sample, and so does k-means++ initialisation of flat k-means (k sequential passes over every
// row); train_from_samples (gathering) trains them. k-means|| runs in rounds (kSeed). Hierarchical
// k-means trains in rounds with any initialisation (its coarse k-means is gathered, its groups are
// trained whole).
std::string rounds_unsupported(const TrainParams& params);

// Whether the rounds run hierarchical k-means (kGroups ...) rather than flat rounds: the
// algorithm is hierarchical and k has at least 2 groups (else it is flat k-means).
bool hierarchical_rounds(const TrainParams& params);

// The canonical sample rows (ascending) the IVF k-means trains on: all `sample_rows` rows, or the
// seeded subset train_local takes when there are more than it wants.
std::vector<int64_t> ivf_training_rows(const TrainParams& params, int64_t sample_rows);
// The canonical sample rows (ascending) PQ trains on: the seeded subset train_local takes, or
// every row when PQ takes the whole sample.
std::vector<int64_t> pq_training_rows(const TrainParams& params, int64_t sample_rows);

// Where a canonical sample row is: the worker and the row inside its result.
struct RowAddress {
  int worker = 0;
  int64_t row = 0;
};
std::vector<RowAddress> locate_rows(const SampleLayout& layout,
                                    const std::vector<int64_t>& canonical_rows);

// The canonical sample rows random initialisation takes as the initial centroids (k of the IVF
// training rows, in order), and the generator state after drawing them; with k-means||, the row
// of its first candidate (init_kmeans_parallel's first draw).
struct InitialRows {
  std::vector<int64_t> rows;  // k canonical sample rows
  std::array<uint64_t, 4> rng_state{};
};
InitialRows initial_centroid_rows(const TrainParams& params, int64_t sample_rows);

// Round 0's state: `centroids` are the rows initial_centroid_rows named, in order (k-means||:
// the first candidate, in a kSeed state).
RoundState first_round(const std::string& plan_id, const TrainParams& params, int64_t dim,
                       SampleLayout layout, std::vector<float> centroids,
                       const std::array<uint64_t, 4>& rng_state);

// Hierarchical k-means' round 0 (kGroups). Its coarse k-means is trained where the rounds begin,
// on the coarse sample gathered there (at most 256 g rows, g = round(sqrt k)): these are the
// IVF rows (indices among them, increasing) it trains on, for `ivf_rows` IVF rows.
std::vector<int64_t> coarse_training_rows(const TrainParams& params, int64_t ivf_rows);
// Round 0's state: the coarse centroids trained on `coarse_x` (the rows coarse_training_rows
// named, in order) as local training trains them.
RoundState first_hierarchical_round(const std::string& plan_id, const TrainParams& params,
                                    int64_t dim, SampleLayout layout,
                                    const std::vector<float>& coarse_x);

// The IVF rows worker `worker`'s result holds, in order (indices among the IVF rows,
// increasing), and their rows in that result; `ivf_rows`: ivf_training_rows of the layout.
struct WorkerIvfRows {
  std::vector<int64_t> ivf;
  std::vector<int64_t> result_rows;
};
WorkerIvfRows ivf_rows_of_worker(const SampleLayout& layout, const std::vector<int64_t>& ivf_rows,
                                 int worker);

// The worker that trains each group (kTrainGroups, kRefine): groups dealt largest first, each to
// the worker with the fewest rows so far, as MPI deals them to ranks.
std::vector<int> group_owners(const RoundState& state, int num_workers);

// kTrainGroups and kRefine: the rows a worker holds, every IVF row of the groups it owns, in IVF
// order, and where they are.
struct HeldRowPlan {
  std::vector<int64_t> ivf_rows;  // increasing
  std::vector<int32_t> groups;    // each row's group (the capping's moves applied)
  std::vector<RowAddress> at;     // the worker and result row holding it
};
// `groups_of(v)`: worker v's groups of its IVF rows from round 0 (compute_round_partial's
// groups_out), read one worker at a time. Refuses groups that do not fit the rows, naming the
// worker.
Result<HeldRowPlan> held_rows_plan(
    const RoundState& state, const TrainParams& params, int worker, int num_workers,
    const std::function<Result<std::vector<int32_t>>(int worker)>& groups_of);

// A worker's partial of a kTrainGroups or kRefine round from the rows it holds (`plan`, and
// `vectors`: their rows x dim values, in that order).
Result<RoundPartial> compute_held_partial(const RoundState& state, const TrainParams& params,
                                          int worker, int num_workers, const HeldRowPlan& plan,
                                          const std::vector<float>& vectors);

// What a worker keeps between its rounds when local training would assign with bounds (flat
// l2 k-means with many centroids: BoundedAssigner): its rows' labels, bounds and distances after
// round `round`, and the centroids they were computed against. Skipping rows as local training
// does gives the same distances, hence the same objective, bit for bit.
struct WorkerBounds {
  int round = -1;
  uint64_t centroids_fingerprint = 0;  // RoundState::fingerprint() of round `round`
  std::vector<int32_t> labels;
  std::vector<double> lower;
  std::vector<float> dist;
  std::vector<float> previous;  // k x dim: round `round`'s centroids
};

// What a worker keeps between its k-means|| rounds (kSeed): each of its IVF rows' distance to
// the nearest of the first `measured` candidates and that candidate. A state of other candidates
// (another hash) is not used: the worker's batches are measured again from the round's state.
struct WorkerSeed {
  int64_t measured = 0;
  uint64_t candidates_hash = 0;  // seed_candidates_hash of the first `measured` candidates
  std::vector<float> nearest;
  std::vector<int64_t> label;
};
// XXH3 of the first `count` candidates of a kSeed state (their rows and vectors).
uint64_t seed_candidates_hash(const RoundState& state, int64_t count);

// A worker's partial of a kSeed round, continuing from `seed_in` (its WorkerSeed after the
// previous round; null or not matching: every batch measured again) and saving its rows' state
// to `seed_out` (may be null). compute_round_partial calls it without them.
Result<RoundPartial> compute_seed_partial(const SampleResult& shard, const RoundState& state,
                                          const TrainParams& params, const WorkerSeed* seed_in,
                                          WorkerSeed* seed_out);

// Whether the rounds keep WorkerBounds for these parameters (as flat_kmeans uses bounds).
bool rounds_use_bounds(const TrainParams& params, int64_t dim);

// A worker's partial: its rows of the IVF subset assigned to the state's centroids, in full or,
// when rounds_use_bounds, through bounds continued from `bounds_in` (the worker's bounds of the
// previous round; null in round 1) and saved to `bounds_out`. Hierarchical kGroups and kCap
// rounds too (kGroups: `groups_out` receives the group of each of the worker's IVF rows, in
// order); kTrainGroups and kRefine need the rows of the worker's groups: compute_held_partial.
// Refuses a shard of another plan, naming the worker.
Result<RoundPartial> compute_round_partial(const SampleResult& shard, const RoundState& state,
                                           const TrainParams& params,
                                           const WorkerBounds* bounds_in = nullptr,
                                           WorkerBounds* bounds_out = nullptr,
                                           std::vector<int32_t>* groups_out = nullptr);

// The merge of a round: either the next round's state, or the final IVF k-means.
struct RoundMerge {
  bool finished = false;
  RoundState next;      // when !finished
  KMeansResult result;  // when finished: the centroids, the iterations and the final objective
};
// `partials`: one per worker, by worker. Refuses a partial of another plan, round or centroids,
// or of a worker missing or given twice, naming the worker to rerun. `fetch` gives the values of
// IVF rows (indices among them; rows x dim): the merge of a kCap round reads the few rows whose
// capping candidates were all full, that of a kSeed round the rows it draws (and, when k-means||
// ends with k candidates or fewer, the uniform rows that complete them).
using IvfRowsFetch = std::function<Result<std::vector<float>>(const std::vector<int64_t>& rows)>;
Result<RoundMerge> merge_round(const RoundState& state, const std::vector<RoundPartial>& partials,
                               const TrainParams& params, int num_workers,
                               const IvfRowsFetch& fetch = {});

// merge_round one partial at a time, for a caller that reads them one at a time (`advance`): the
// exact sums, counts, first rows and objective bins of a flat Lloyd round or a refinement round
// (k x dim each) are added into running totals as each partial arrives and the partial is
// dropped, so the merge holds O(k d) whatever the number of workers. The reduction is exact and
// order-free, so the result is merge_round's, bit for bit. The other rounds' partials are small
// (a scan's largest value, k-means|| offers, group sizes, capping records, a worker's share of
// the fine centroids) and are kept until finish(). Not thread-safe; `state` must outlive it.
class RoundMerger {
 public:
  RoundMerger(const RoundState& state, const TrainParams& params, int num_workers);
  ~RoundMerger();
  RoundMerger(const RoundMerger&) = delete;
  RoundMerger& operator=(const RoundMerger&) = delete;

  // The partial of worker `added()` (partials come in worker order). Refuses one of another plan,
  // round, centroids, grid or shape, naming the worker to rerun; after a refusal the merger is
  // unusable.
  Status add(RoundPartial partial);
  int added() const { return added_; }

  // The merge, once every worker's partial was added (else refused, naming the count).
  Result<RoundMerge> finish(const IvfRowsFetch& fetch = {});

 private:
  const RoundState& state_;
  TrainParams params_;
  int num_workers_ = 0;
  uint64_t fingerprint_ = 0;  // state_.fingerprint()
  int added_ = 0;
  Status status_;          // the first refusal
  bool streamed_ = false;  // a flat Lloyd round or a refinement round: totals, not partials
  std::vector<RoundPartial> kept_;
  std::vector<double> group_objectives_;  // each group's, from its owner (refinement)
  std::vector<int> owner_;                // each group's worker (refinement)
  struct Sums;
  std::unique_ptr<Sums> sums_;  // the merged ClusterSums (kmeans/update.h, internal)
};

// The models once the IVF k-means is final: PQ trained on `pq_rows` (the rows pq_training_rows
// named, in order; empty unless ivf_pq), SQ bounds merged from the results' headers, the
// statistics of the results. `results` need not hold vectors.
Result<TrainedModels> finish_rounds(const std::vector<SampleResult>& results,
                                    const TrainParams& params, KMeansResult ivf,
                                    int64_t ivf_train_rows, std::vector<float> pq_rows);

}  // namespace ivftrain
