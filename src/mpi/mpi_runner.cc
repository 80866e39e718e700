#include <fmt/format.h>
#include <mpi.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <limits>
#include <nlohmann/json.hpp>
#include <thread>

#include "ivftrain/model_dir.h"
#include "ivftrain/mpi.h"
#include "ivftrain/plan_files.h"
#include "mpi/testing.h"
#include "util/files.h"
#include "util/log.h"
#include "util/status_macros.h"

namespace ivftrain {
namespace {

// Messages larger than this are sent in pieces (MPI counts are int).
constexpr size_t kChunkBytes = size_t{1} << 30;

// Waits for a non-blocking operation without spinning: a rank that waits for rank 0 (planning,
// training) must not take a core from it.
void wait_gently(MPI_Request& request) {
  int done = 0;
  MPI_Test(&request, &done, MPI_STATUS_IGNORE);
  while (!done) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
  }
}

void bcast_string(std::string& s, int root) {
  uint64_t n = s.size();
  MPI_Bcast(&n, 1, MPI_UINT64_T, root, MPI_COMM_WORLD);
  s.resize(n);
  for (size_t at = 0; at < n; at += kChunkBytes) {
    const int count = static_cast<int>(std::min(kChunkBytes, n - at));
    MPI_Bcast(s.data() + at, count, MPI_CHAR, root, MPI_COMM_WORLD);
  }
}

void send_string(const std::string& s, int dest) {
  uint64_t n = s.size();
  MPI_Request request;
  MPI_Isend(&n, 1, MPI_UINT64_T, dest, 0, MPI_COMM_WORLD, &request);
  wait_gently(request);
  for (size_t at = 0; at < n; at += kChunkBytes) {
    const int count = static_cast<int>(std::min(kChunkBytes, n - at));
    MPI_Isend(s.data() + at, count, MPI_CHAR, dest, 1, MPI_COMM_WORLD, &request);
    wait_gently(request);
  }
}

std::string recv_string(int source) {
  uint64_t n = 0;
  MPI_Recv(&n, 1, MPI_UINT64_T, source, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  std::string s(n, '\0');
  for (size_t at = 0; at < n; at += kChunkBytes) {
    const int count = static_cast<int>(std::min(kChunkBytes, n - at));
    MPI_Recv(s.data() + at, count, MPI_CHAR, source, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  }
  return s;
}

// Every rank contributes its status; every rank returns the first failure (lowest rank), its
// message prefixed with the rank, or OK when all succeeded. Collective: no rank is left waiting.
Status agree(const Status& mine, int rank, int size) {
  int failed = mine.ok() ? 0 : 1, any = 0;
  MPI_Request request;
  MPI_Iallreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD, &request);
  wait_gently(request);
  if (!any) return Status::OK();
  int first = mine.ok() ? size : rank, lowest = size;
  MPI_Allreduce(&first, &lowest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  std::string message = mine.ok() ? std::string() : mine.message();
  int code = static_cast<int>(mine.code());
  MPI_Bcast(&code, 1, MPI_INT, lowest, MPI_COMM_WORLD);
  bcast_string(message, lowest);
  const std::string text = size > 1 ? fmt::format("rank {}: {}", lowest, message) : message;
  const auto agreed = static_cast<Status::Code>(code);
  return Status::FromCode(agreed == Status::Code::kOk ? Status::Code::kFailedPrecondition : agreed,
                          text);
}

std::atomic<int> g_failing_rank{-1};  // set by set_mpi_failing_rank_for_testing

}  // namespace

void set_mpi_failing_rank_for_testing(int rank) { g_failing_rank.store(rank); }

namespace {

// The test hook (mpi/testing.h): the chosen rank's sampling fails, to exercise the error path.
Status injected_failure(int rank) {
  if (g_failing_rank.load() == rank) {
    return Status::IOError(fmt::format("simulated failure of rank {} while sampling", rank));
  }
  return Status::OK();
}

// Phase 1, on rank 0: the tasks, as an array of the task JSON texts the file protocol uses.
// The output is checked first, before any rank reads anything (and again when it is written).
Result<std::string> plan_tasks(const MpiTrainRequest& req, int size) {
  IVF_RETURN_IF_ERROR(check_output_apart_from_inputs(req.out_dir, {req.dataset_path}));
  IVF_RETURN_IF_ERROR(check_model_dir_output(req.out_dir, req.overwrite));
  IVF_ASSIGN_OR_RETURN(Dataset dataset, Dataset::open(req.dataset_path, req.dataset_options));
  std::vector<std::string> inputs{req.dataset_path};
  for (const FragmentInfo& f : dataset.fragments()) inputs.push_back(f.path);
  IVF_RETURN_IF_ERROR(check_output_apart_from_inputs(req.out_dir, inputs));
  IVF_ASSIGN_OR_RETURN(
      std::vector<SampleTask> tasks,
      create_sample_tasks(dataset, req.params, size, req.fragment_ids, req.assignment));
  nlohmann::json all = nlohmann::json::array();
  for (const auto& t : tasks) all.push_back(task_to_json(t, req.dataset_path, req.dataset_options));
  logger().info("plan {}: {} sample rows from {} fragments over {} ranks", tasks.front().plan_id,
                tasks.front().sample_rows_planned, tasks.front().fragments_in_plan, size);
  return all.dump();
}

// Phase 2, on every rank: this rank's task of the plan.
Result<SampleResult> sample_own_task(const MpiTrainRequest& req, const std::string& tasks_json,
                                     int rank) {
  const auto all = nlohmann::json::parse(tasks_json);
  IVF_ASSIGN_OR_RETURN(TaskFile task,
                       parse_task_json(all.at(static_cast<size_t>(rank)).get<std::string>(),
                                       fmt::format("task of rank {}", rank)));
  IVF_RETURN_IF_ERROR(injected_failure(rank));
  IVF_ASSIGN_OR_RETURN(Dataset dataset, Dataset::open(req.dataset_path, req.dataset_options));
  task.task.params.num_threads = req.params.num_threads;
  return execute_sample_task(dataset, task.task);
}

// Phase 3, on rank 0: receives the other ranks' samples in rank order (every one, even after an
// error, so that no rank stays blocked in its send), trains and writes the model. `own` carries
// the reduced SQ bounds; the received samples' bounds are emptied so they are merged once.
Result<TrainedModels> gather_and_train(const MpiTrainRequest& req, SampleResult own, int size) {
  std::vector<SampleResult> results;
  results.push_back(std::move(own));
  Status received_all;
  for (int r = 1; r < size; ++r) {
    const std::string bytes = recv_string(r);
    if (!received_all.ok()) continue;
    auto received = parse_sample_result(bytes, fmt::format("the sample of rank {}", r));
    if (!received.ok()) {
      received_all = received.status();
      continue;
    }
    received->sq_bounds = SqBounds::empty(received->sq_bounds.mode, received->dim);
    results.push_back(std::move(*received));
  }
  IVF_RETURN_IF_ERROR(received_all);
  IVF_ASSIGN_OR_RETURN(TrainedModels models, train_from_samples(std::move(results), req.params));
  IVF_RETURN_IF_ERROR(write_model_dir(models, req.out_dir, req.overwrite));
  return models;
}

// Each phase ends with agree(), so that every rank stops at the first error of any rank.
MpiTrainOutcome run(const MpiTrainRequest& req, int rank, int size) {
  MpiTrainOutcome outcome;
  outcome.is_root = rank == 0;

  Result<std::string> tasks_json = rank == 0 ? plan_tasks(req, size) : std::string();
  if (outcome.status = agree(tasks_json.status(), rank, size); !outcome.status.ok()) return outcome;
  bcast_string(*tasks_json, 0);

  Result<SampleResult> sample = sample_own_task(req, *tasks_json, rank);
  if (outcome.status = agree(sample.status(), rank, size); !outcome.status.ok()) return outcome;

  // SQ bounds reduced with MPI's min and max onto rank 0; the other ranks send their bounds
  // as the identity so train_from_samples merges the reduced ones only.
  SqBounds& bounds = sample->sq_bounds;
  const int len = static_cast<int>(bounds.lower.size());
  std::vector<float> lower(bounds.lower.size()), upper(bounds.upper.size());
  MPI_Reduce(bounds.lower.data(), lower.data(), len, MPI_FLOAT, MPI_MIN, 0, MPI_COMM_WORLD);
  MPI_Reduce(bounds.upper.data(), upper.data(), len, MPI_FLOAT, MPI_MAX, 0, MPI_COMM_WORLD);

  Status st;
  if (rank != 0) {
    bounds = SqBounds::empty(bounds.mode, sample->dim);
    send_string(serialize_sample_result(*sample), 0);
    sample = Status::FailedPrecondition("sent to rank 0");  // its memory is not needed any more
  } else {
    bounds.lower = std::move(lower);
    bounds.upper = std::move(upper);
    Result<TrainedModels> models = gather_and_train(req, std::move(*sample), size);
    st = models.status();
    if (models.ok()) outcome.models = std::move(*models);
  }
  outcome.status = agree(st, rank, size);
  if (!outcome.status.ok()) outcome.models.reset();
  return outcome;
}

}  // namespace

MpiSession::MpiSession() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    owns_ = true;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiSession::~MpiSession() {
  if (owns_) MPI_Finalize();
}

void MpiSession::barrier() const {
  MPI_Request request;
  MPI_Ibarrier(MPI_COMM_WORLD, &request);
  wait_gently(request);
}

MpiTrainOutcome mpi_train(const MpiSession& session, const MpiTrainRequest& request) {
  return run(request, session.rank(), session.size());
}

}  // namespace ivftrain
