// The C++ half of the Python module: ivftrain's API over NumPy arrays. The Python half
// (python/ivftrain/__init__.py) gives it its shape: keyword arguments, the Model class, errors
// as exception classes. Every training call runs on a worker thread with the GIL released
// while the calling (main) thread checks for signals, so that Ctrl-C stops it (util/cancel.h).
#include <Python.h>
#include <fmt/format.h>
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "ivftrain/dataset.h"
#include "ivftrain/distributed.h"
#include "ivftrain/eval.h"
#include "ivftrain/faiss_export.h"
#include "ivftrain/kmeans.h"
#include "ivftrain/log.h"
#include "ivftrain/model_dir.h"
#include "ivftrain/params.h"
#include "ivftrain/plan_files.h"
#include "ivftrain/rounds.h"
#include "ivftrain/simd.h"
#include "ivftrain/train.h"
#include "pipeline/whole_plan.h"
#include "train/train_on_sample.h"
#include "util/cancel.h"

namespace py = pybind11;

namespace ivftrain::python {
namespace {

// Raised with (code name, message); the Python half turns it into an ivftrain.Error subclass.
PyObject* g_status_error = nullptr;

const char* code_name(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "ok";
    case Status::Code::kInvalidArgument: return "invalid_argument";
    case Status::Code::kIOError: return "io_error";
    case Status::Code::kCorruption: return "corruption";
    case Status::Code::kNotFound: return "not_found";
    case Status::Code::kAlreadyExists: return "already_exists";
    case Status::Code::kFailedPrecondition: return "failed_precondition";
    case Status::Code::kInternal: return "internal";
    case Status::Code::kCancelled: return "cancelled";
  }
  return "internal";
}

[[noreturn]] void raise(const Status& status) {
  PyErr_SetObject(g_status_error, py::make_tuple(code_name(status.code()), status.message()).ptr());
  throw py::error_already_set();
}

template <typename T>
T unwrap(Result<T> result) {
  if (!result.ok()) raise(result.status());
  return std::move(result).value();
}

void check(const Status& status) {
  if (!status.ok()) raise(status);
}

// ---- Parameters: the command line's flags, by the same names and from the same structs ------

template <typename T>
T get(const py::dict& kw, const char* key, T fallback) {
  if (!kw.contains(key) || kw[key].is_none()) return fallback;
  try {
    return kw[key].cast<T>();
  } catch (const py::cast_error&) {
    raise(Status::InvalidArgument(fmt::format("{} must be {} (got {})", key,
                                              std::is_same_v<T, std::string> ? "a string"
                                              : std::is_same_v<T, bool>      ? "True or False"
                                              : std::is_floating_point_v<T>  ? "a number"
                                                                             : "an integer",
                                              py::repr(kw[key]).cast<std::string>())));
  }
}

// What tools/cli.cc's params_from_flags does with the flags of the same names.
TrainParams params_from(const py::dict& kw) {
  TrainParams p;
  p.index_type = unwrap(parse_index_type(get<std::string>(kw, "index_type", "ivf_pq")));
  p.distance_type = unwrap(parse_distance_type(get<std::string>(kw, "distance_type", "l2")));
  p.ivf.num_partitions = get<int64_t>(kw, "num_partitions", 0);
  p.pq.num_sub_vectors = get<int64_t>(kw, "num_sub_vectors", p.pq.num_sub_vectors);
  p.pq.num_bits = get<int>(kw, "num_bits", p.pq.num_bits);
  p.ivf.kmeans.max_iters = get<int>(kw, "max_iters", p.ivf.kmeans.max_iters);
  p.ivf.kmeans.tolerance = get<double>(kw, "tolerance", p.ivf.kmeans.tolerance);
  p.ivf.sample_rate = get<int64_t>(kw, "sample_rate", p.ivf.sample_rate);
  p.ivf.kmeans.init = unwrap(parse_kmeans_init(get<std::string>(kw, "init", "random")));
  p.ivf.kmeans.algorithm = unwrap(parse_kmeans_algorithm(get<std::string>(kw, "kmeans", "flat")));
  p.ivf.kmeans.balance = get<double>(kw, "balance", p.ivf.kmeans.balance);
  p.ivf.kmeans.relocate = get<bool>(kw, "relocate", p.ivf.kmeans.relocate);
  p.sq.bounds = unwrap(parse_sq_bounds_mode(get<std::string>(kw, "sq_bounds", "global")));
  const int64_t seed = get<int64_t>(kw, "seed", static_cast<int64_t>(p.seed));
  if (seed < 0) check(Status::InvalidArgument(fmt::format("seed must not be negative ({})", seed)));
  p.seed = static_cast<uint64_t>(seed);
  p.num_threads = get<int>(kw, "threads", p.num_threads);
  // One flag each for what IVF, PQ and SQ share.
  p.pq.kmeans.max_iters = p.ivf.kmeans.max_iters;
  p.pq.kmeans.tolerance = p.ivf.kmeans.tolerance;
  p.pq.kmeans.relocate = p.ivf.kmeans.relocate;
  p.pq.sample_rate = p.sq.sample_rate = p.ivf.sample_rate;
  p.sq.num_bits = p.pq.num_bits;
  check(validate(p, 0));
  return p;
}

DatasetOptions options_from(const py::dict& kw) {
  DatasetOptions o;
  o.rows_per_fragment = get<int64_t>(kw, "rows_per_fragment", o.rows_per_fragment);
  o.hdf5_dataset = get<std::string>(kw, "hdf5_dataset", o.hdf5_dataset);
  return o;
}

std::vector<int64_t> fragments_from(const py::dict& kw) {
  if (!kw.contains("fragments") || kw["fragments"].is_none()) return {};
  if (py::isinstance<py::str>(kw["fragments"])) {
    return unwrap(parse_fragment_list(kw["fragments"].cast<std::string>()));
  }
  return kw["fragments"].cast<std::vector<int64_t>>();
}

py::dict defaults() {
  const TrainParams p;
  const DatasetOptions o;
  py::dict d;
  d["index_type"] = std::string(to_string(p.index_type));
  d["num_partitions"] = py::none();
  d["num_sub_vectors"] = p.pq.num_sub_vectors;
  d["num_bits"] = p.pq.num_bits;
  d["distance_type"] = std::string(to_string(p.distance_type));
  d["max_iters"] = p.ivf.kmeans.max_iters;
  d["tolerance"] = p.ivf.kmeans.tolerance;
  d["sample_rate"] = p.ivf.sample_rate;
  d["init"] = std::string(to_string(p.ivf.kmeans.init));
  d["kmeans"] = std::string(to_string(p.ivf.kmeans.algorithm));
  d["balance"] = p.ivf.kmeans.balance;
  d["relocate"] = p.ivf.kmeans.relocate;
  d["sq_bounds"] = std::string(to_string(p.sq.bounds));
  d["seed"] = p.seed;
  d["threads"] = p.num_threads;
  d["rows_per_fragment"] = o.rows_per_fragment;
  d["hdf5_dataset"] = o.hdf5_dataset;
  return d;
}

// ---- Logging and progress ---------------------------------------------------------------------

// The Python callable that receives (level, message); set once at import.
py::object* g_log_callback = nullptr;

void install_log_sink(py::object callback) {
  if (!g_log_callback) g_log_callback = new py::object();  // lives as long as the process
  *g_log_callback = std::move(callback);
  set_log_sink([](LogLevel level, std::string_view message) {
    py::gil_scoped_acquire gil;
    if (!g_log_callback || g_log_callback->is_none()) return;
    try {
      (*g_log_callback)(static_cast<int>(level), py::str(message.data(), message.size()));
    } catch (py::error_already_set& e) {
      e.discard_as_unraisable("ivftrain log handler");
    }
  });
}

// ---- Interruptible calls -----------------------------------------------------------------------

// One training call at a time: cancellation and the progress observer are process-wide.
std::mutex g_one_call;
// Set on a thread while it runs a progress callback: a call made from there would wait for the
// call that runs the callback.
thread_local bool t_in_progress_callback = false;

// Runs `work` on a worker thread with the GIL released; meanwhile the calling thread wakes every
// 50 ms to run Python's signal handlers (only the main thread may). A handler that raises
// (Ctrl-C: KeyboardInterrupt) cancels the call, which stops at its next check; the exception is
// raised once it has. `progress`, when not None, receives each k-means iteration with the GIL
// held; an exception it raises cancels the call too and is raised in its place.
template <typename T>
T run_interruptible(const std::function<Result<T>()>& work, const py::object& progress) {
  if (t_in_progress_callback) {
    raise(Status::FailedPrecondition(
        "ivftrain cannot train from a progress callback: the training that calls it must "
        "finish first"));
  }
  std::unique_lock<std::mutex> one;
  {
    py::gil_scoped_release nogil;
    one = std::unique_lock<std::mutex>(g_one_call);
  }
  clear_cancel();
  std::optional<py::error_already_set> callback_error;  // guarded by the GIL
  if (!progress.is_none()) {
    set_progress_observer([&progress, &callback_error](std::string_view run, int it, double obj) {
      if (cancel_requested()) return;
      py::gil_scoped_acquire gil;
      t_in_progress_callback = true;
      try {
        progress(py::str(run.data(), run.size()), it, obj);
      } catch (py::error_already_set& e) {
        if (!callback_error) callback_error.emplace(std::move(e));
        request_cancel();
      }
      t_in_progress_callback = false;
    });
  }
  std::optional<Result<T>> result;
  std::mutex m;
  std::condition_variable cv;
  bool done = false, interrupted = false;
  {
    py::gil_scoped_release nogil;
    std::thread worker([&] {
      // An exception must not end the process from this thread: it becomes an error.
      Result<T> r = Status::Internal("internal error: the training thread failed");
      try {
        r = work();
      } catch (const std::bad_alloc&) {
        r = Status::FailedPrecondition("not enough memory for this training run");
      } catch (const std::exception& e) {
        r = Status::Internal(fmt::format("internal error: {}", e.what()));
      }
      std::lock_guard<std::mutex> lock(m);
      result.emplace(std::move(r));
      done = true;
      cv.notify_all();
    });
    std::unique_lock<std::mutex> lock(m);
    while (!cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return done; })) {
      if (interrupted) continue;
      lock.unlock();
      {
        py::gil_scoped_acquire gil;
        // The exception stays set in this thread's state until raised below.
        if (PyErr_CheckSignals() != 0) {
          interrupted = true;
          request_cancel();
        }
      }
      lock.lock();
    }
    lock.unlock();
    worker.join();
  }
  set_progress_observer(nullptr);
  clear_cancel();
  if (interrupted) throw py::error_already_set();
  if (callback_error) throw std::move(*callback_error);
  return unwrap(std::move(*result));
}

// ---- Models ------------------------------------------------------------------------------------

py::array_t<float> array_of(const std::vector<float>& v, std::vector<py::ssize_t> shape) {
  py::array_t<float> a(shape);
  std::memcpy(a.mutable_data(), v.data(), v.size() * sizeof(float));
  return a;
}

struct PyModels {
  TrainedModels m;

  py::array_t<float> ivf_centroids() const {
    return array_of(m.ivf_centroids, {m.params.ivf.num_partitions, m.dim});
  }
  py::object pq_codebook() const {
    if (!m.pq) return py::none();
    return array_of(m.pq->centroids, {m.pq->num_sub_vectors, m.pq->ksub(), m.pq->dsub()});
  }
  py::object sq_bounds() const {
    if (!m.sq) return py::none();
    const SqBounds& b = *m.sq;
    std::vector<float> both(b.lower);
    both.insert(both.end(), b.upper.begin(), b.upper.end());
    if (b.mode == SqBoundsMode::kGlobal) return array_of(both, {2});
    return array_of(both, {2, static_cast<py::ssize_t>(b.lower.size())});
  }
  // PQ objectives per sub-space and iteration (model.json keeps only the last of each).
  std::vector<std::vector<double>> pq_objectives() const {
    std::vector<std::vector<double>> out;
    if (!m.pq) return out;
    for (const auto& sub : m.pq->iterations) {
      auto& row = out.emplace_back();
      for (const auto& it : sub) row.push_back(it.objective);
    }
    return out;
  }
  std::string json() const { return model_json(m); }
  // The FAISS index file `ivftrain export --faiss` writes, as bytes (faiss.deserialize_index).
  py::bytes faiss_bytes() const { return py::bytes(unwrap(faiss_index_bytes(m))); }
  void save(const std::string& dir, bool overwrite) const {
    Status st;
    {
      py::gil_scoped_release nogil;
      st = write_model_dir(m, dir, overwrite);
    }
    check(st);
  }
};

PyModels load(const std::string& dir) {
  Result<TrainedModels> r = Status::Internal("not read");
  {
    py::gil_scoped_release nogil;
    r = read_model_dir(dir);
  }
  return PyModels{unwrap(std::move(r))};
}

// ---- Training ----------------------------------------------------------------------------------

ArrayType array_type(const py::array& x) {
  const char kind = x.dtype().kind();
  const auto size = x.dtype().itemsize();
  if (kind == 'f' && size == 4) return ArrayType::kFloat32;
  if (kind == 'f' && size == 2) return ArrayType::kFloat16;
  if (kind == 'f' && size == 8) return ArrayType::kFloat64;
  if (kind == 'u' && size == 1) return ArrayType::kUInt8;
  if (kind == 'i' && size == 1) return ArrayType::kInt8;
  raise(Status::InvalidArgument(
      fmt::format("unsupported dtype {} (supported: float32, float16, float64, uint8, int8)",
                  py::str(x.dtype()).cast<std::string>())));
}

PyModels train_array(const py::array& x, const py::dict& kw, const py::object& progress) {
  if (x.ndim() != 2) {
    raise(Status::InvalidArgument(fmt::format(
        "expected a 2-D array (rows, dim), got {} dimension(s)", static_cast<int>(x.ndim()))));
  }
  if (!(x.flags() & py::array::c_style) || !x.dtype().attr("isnative").cast<bool>()) {
    raise(Status::InvalidArgument("the array must be C-contiguous in native byte order"));
  }
  const ArrayType type = array_type(x);
  const TrainParams params = params_from(kw);
  const DatasetOptions options = options_from(kw);
  const std::vector<int64_t> ids = fragments_from(kw);
  // `x` outlives the call, which holds the only Dataset: no owner needed.
  Dataset dataset = unwrap(
      Dataset::from_array("the array", x.data(), x.shape(0), x.shape(1), type, nullptr, options));
  return PyModels{run_interruptible<TrainedModels>(
      [&] { return train_local(dataset, params, ids); }, progress)};
}

PyModels train_dataset(const std::string& path, const py::dict& kw, const py::object& progress) {
  const TrainParams params = params_from(kw);
  const DatasetOptions options = options_from(kw);
  const std::vector<int64_t> ids = fragments_from(kw);
  return PyModels{run_interruptible<TrainedModels>(
      [&]() -> Result<TrainedModels> {
        Result<Dataset> dataset = Dataset::open(path, options);
        if (!dataset.ok()) return dataset.status();
        return train_local(*dataset, params, ids);
      },
      progress)};
}

// ---- The distributed phases: tasks as JSON text, sample results as bytes ----------------------

std::vector<std::string> create_tasks(const std::string& path, const py::dict& kw, int num_workers,
                                      const std::string& assign) {
  const TrainParams params = params_from(kw);
  const DatasetOptions options = options_from(kw);
  const std::vector<int64_t> ids = fragments_from(kw);
  Assignment a = Assignment::kBalanced;
  if (assign == "round-robin") {
    a = Assignment::kRoundRobin;
  } else if (assign != "balanced") {
    raise(Status::InvalidArgument(
        fmt::format("unknown assign '{}' (expected balanced or round-robin)", assign)));
  }
  Result<std::vector<std::string>> out = Status::Internal("not run");
  {
    py::gil_scoped_release nogil;
    out = [&]() -> Result<std::vector<std::string>> {
      Result<Dataset> dataset = Dataset::open(path, options);
      if (!dataset.ok()) return dataset.status();
      Result<std::vector<SampleTask>> tasks =
          create_sample_tasks(*dataset, params, num_workers, ids, a);
      if (!tasks.ok()) return tasks.status();
      std::vector<std::string> texts;
      for (const SampleTask& t : *tasks) texts.push_back(task_to_json(t, path, options));
      return texts;
    }();
  }
  return unwrap(std::move(out));
}

py::bytes execute_task(const std::optional<std::string>& path, const std::string& task_json,
                       const py::object& progress) {
  const TaskFile task = unwrap(parse_task_json(task_json, "the task"));
  const std::string dataset_path = path.value_or(task.dataset_path);
  std::string bytes = run_interruptible<std::string>(
      [&]() -> Result<std::string> {
        Result<Dataset> dataset = Dataset::open(dataset_path, task.dataset_options);
        if (!dataset.ok()) return dataset.status();
        Result<SampleResult> r = execute_sample_task(*dataset, task.task);
        if (!r.ok()) return r.status();
        return serialize_sample_result(*r);
      },
      progress);
  return py::bytes(bytes);
}

PyModels train_samples(const std::vector<py::bytes>& results, const std::string& task_json,
                       std::optional<int> threads, const py::object& progress) {
  TrainParams params = unwrap(parse_task_json(task_json, "the task")).task.params;
  if (threads) params.num_threads = *threads;
  std::vector<SampleResult> parsed;
  for (size_t i = 0; i < results.size(); ++i) {
    const std::string bytes = results[i];
    parsed.push_back(unwrap(parse_sample_result(bytes, fmt::format("sample result {}", i))));
  }
  return PyModels{run_interruptible<TrainedModels>(
      [&] { return train_from_samples(std::move(parsed), params); }, progress)};
}

// ---- Sharded training in rounds: states and partials as bytes (the round files' formats) ------
//
// The primitives of rounds.h, as `ivftrain advance` and `ivftrain round` drive them through the
// plan directory, but over values a Python driver ships between processes: the sample results
// (bytes), a RoundState (the bytes of PLAN/round-NNNN/centroids), a RoundPartial (the bytes of
// PLAN/round-NNNN/partial-WWWW) and a worker's bounds (the bytes of PLAN/round-NNNN/bounds-WWWW).
// Where advance would train by gathering (rounds_unsupported, too few rows, duplicate first
// rows, values too large for float32), the calls say why instead, and the driver calls
// train_from_samples: the model is the same either way.

std::vector<SampleResult> parse_results(const std::vector<py::bytes>& results) {
  std::vector<SampleResult> parsed;
  for (size_t i = 0; i < results.size(); ++i) {
    const std::string bytes = results[i];
    parsed.push_back(unwrap(parse_sample_result(bytes, fmt::format("sample result {}", i))));
  }
  if (parsed.empty()) raise(Status::InvalidArgument("results: no sample results given"));
  return parsed;
}

TrainParams task_params(const std::string& task_json, std::optional<int> threads,
                        int* num_workers = nullptr) {
  const TaskFile task = unwrap(parse_task_json(task_json, "the task"));
  TrainParams params = task.task.params;
  if (threads) params.num_threads = *threads;
  if (num_workers) *num_workers = task.task.num_workers;
  return params;
}

// The canonical sample rows `rows` (in that order), from the results (any order) that hold them.
std::vector<float> canonical_rows(const std::vector<SampleResult>& results,
                                  const SampleLayout& layout, const std::vector<int64_t>& rows) {
  const int64_t d = results.front().dim;
  std::vector<const SampleResult*> by_worker;
  for (const SampleResult& r : results) {
    if (by_worker.size() <= static_cast<size_t>(r.worker)) by_worker.resize(r.worker + 1);
    by_worker[r.worker] = &r;
  }
  const std::vector<RowAddress> at = locate_rows(layout, rows);
  std::vector<float> out(rows.size() * static_cast<size_t>(d));
  for (size_t i = 0; i < at.size(); ++i) {
    std::copy_n(by_worker[at[i].worker]->vectors.begin() + at[i].row * d, d, out.begin() + i * d);
  }
  return out;
}

// (state bytes, "") or (None, why the rounds cannot train these parameters).
py::tuple rounds_begin(const std::vector<py::bytes>& results_bytes, const std::string& task_json) {
  const TrainParams params = task_params(task_json, std::nullopt);
  const std::vector<SampleResult> results = parse_results(results_bytes);
  check(check_whole_plan(results, params));
  auto gather = [](const std::string& why) { return py::make_tuple(py::none(), why); };
  if (const std::string why = rounds_unsupported(params); !why.empty()) {
    return gather(why + " needs the whole sample");
  }
  // Hierarchical k-means' rounds read the rows of their groups from every worker's result: the
  // plan directory's commands (`ivftrain round`, `advance`) drive them, not these calls.
  if (hierarchical_rounds(params)) {
    return gather("hierarchical k-means in rounds is driven by `ivftrain round` and `advance`");
  }
  // Random initialisation (the rows it takes) and k-means|| (its first candidate, then kSeed
  // rounds) are begun here, from rows read from the results.
  if (params.ivf.kmeans.init != KMeansInit::kRandom &&
      params.ivf.kmeans.init != KMeansInit::kKMeansParallel) {
    return gather(fmt::format("init {} needs the whole sample", to_string(params.ivf.kmeans.init)));
  }
  const int64_t dim = results.front().dim, k = params.ivf.num_partitions;
  check(validate(params, dim));
  SampleLayout layout = unwrap(sample_layout(results));
  const int64_t rows = layout.rows();
  const std::vector<int64_t> train = ivf_training_rows(params, rows);
  const auto train_rows = static_cast<int64_t>(train.size());
  // As advance: what local training refuses or does without iterating is left to it.
  if (rows == 0 || k > rows || train_rows == k) {
    return gather(fmt::format("{} sample rows for {} partitions", rows, k));
  }
  const std::vector<float> firsts =
      canonical_rows(results, layout, std::vector<int64_t>(train.begin(), train.begin() + k));
  if (count_distinct_rows(firsts.data(), k, dim, k) < k) {
    return gather("the first IVF rows hold duplicates");
  }
  const InitialRows init = initial_centroid_rows(params, rows);
  std::vector<float> centroids = canonical_rows(results, layout, init.rows);
  const RoundState state = first_round(results.front().plan_id, params, dim, std::move(layout),
                                       std::move(centroids), init.rng_state);
  return py::make_tuple(py::bytes(serialize_round_state(state)), std::string());
}

// A worker's bounds between its rounds (plan_files.h's format), refused with a sentence that
// says which argument to give.
WorkerBounds parse_previous_bounds(const std::string& bytes, const std::string& plan_id, int worker,
                                   int round) {
  Result<WorkerBounds> b = parse_worker_bounds(bytes, "previous", plan_id, worker, round);
  if (!b.ok()) {
    raise(Status::Corruption(fmt::format(
        "previous: not worker {}'s bounds of round {} (give the worker's own partial of the "
        "previous round, unchanged)",
        worker, round)));
  }
  return std::move(*b);
}

// (partial bytes, bounds bytes or None, worker).
py::tuple rounds_partial(const py::bytes& shard_bytes, const py::bytes& state_bytes,
                         const std::string& task_json, const std::optional<py::bytes>& previous,
                         std::optional<int> threads) {
  const TrainParams params = task_params(task_json, threads);
  const RoundState state =
      unwrap(parse_round_state(std::string(state_bytes), "state (the round state)"));
  const SampleResult shard = unwrap(parse_sample_result(std::string(shard_bytes), "shard"));
  if (state.stage == RoundStage::kSeed) {
    // k-means||: the worker's rows' state travels with its partial, as bounds do (without it,
    // its earlier batches are measured again).
    WorkerSeed in, out;
    const WorkerSeed* in_ptr = nullptr;
    if (previous) {
      Result<WorkerSeed> s =
          parse_worker_seed(std::string(*previous), "previous", state.plan_id, shard.worker);
      if (s.ok()) in = std::move(*s), in_ptr = &in;
    }
    Result<RoundPartial> partial = Status::Internal("not run");
    {
      py::gil_scoped_release nogil;
      partial = compute_seed_partial(shard, state, params, in_ptr, &out);
    }
    RoundPartial p = unwrap(std::move(partial));
    return py::make_tuple(py::bytes(serialize_round_partial(p)),
                          py::bytes(serialize_worker_seed(out, state.plan_id, shard.worker)),
                          p.worker);
  }
  // Bounds, as local training's BoundedAssigner keeps them, continue from the worker's own
  // previous round: they travel with its partial.
  const bool bounded = rounds_use_bounds(params, state.dim) && state.grid_step != 0;
  WorkerBounds in, out;
  const WorkerBounds* in_ptr = nullptr;
  if (bounded && state.lloyd_round() > 1) {
    if (!previous) {
      raise(Status::InvalidArgument(fmt::format(
          "previous: round {} of worker {} continues from the worker's partial of round {} "
          "(its bounds); give it",
          state.round, shard.worker, state.round - 1)));
    }
    in =
        parse_previous_bounds(std::string(*previous), state.plan_id, shard.worker, state.round - 1);
    in_ptr = &in;
  }
  Result<RoundPartial> partial = Status::Internal("not run");
  {
    py::gil_scoped_release nogil;
    partial = compute_round_partial(shard, state, params, in_ptr, &out);
  }
  RoundPartial p = unwrap(std::move(partial));
  py::object bounds = py::none();
  if (bounded) bounds = py::bytes(serialize_worker_bounds(out, state.plan_id, shard.worker));
  return py::make_tuple(py::bytes(serialize_round_partial(p)), bounds, p.worker);
}

// ("next", state bytes, round), ("finished", final state bytes, round) or ("gather", why, 0).
// The final state is a RoundState whose centroids, iterations and prev_objective are the
// k-means result's centroids, iterations and objective.
py::tuple rounds_merge(const py::bytes& state_bytes, const std::vector<py::bytes>& partial_bytes,
                       const std::string& task_json, std::optional<int> threads,
                       const std::optional<std::vector<py::bytes>>& results_bytes) {
  int num_workers = 0;
  const TrainParams params = task_params(task_json, threads, &num_workers);
  const RoundState state =
      unwrap(parse_round_state(std::string(state_bytes), "state (the round state)"));
  std::vector<RoundPartial> partials;
  for (size_t i = 0; i < partial_bytes.size(); ++i) {
    partials.push_back(
        unwrap(parse_round_partial(std::string(partial_bytes[i]), fmt::format("partial {}", i))));
  }
  std::stable_sort(
      partials.begin(), partials.end(),
      [](const RoundPartial& a, const RoundPartial& b) { return a.worker < b.worker; });
  if (state.round == 0) {
    // As advance: values too large for float32 are refused by local training, with its sentence.
    for (const RoundPartial& p : partials) {
      if (!check_largest_norm(p.max_norm2, 0, 0.0f).ok()) {
        return py::make_tuple("gather", "the sample holds values too large for float32", 0);
      }
    }
  }
  // k-means|| rounds read the rows they draw from the results, split rounds the farthest rows
  // of the clusters split (the only merges that need them).
  std::vector<SampleResult> results;
  std::vector<int64_t> train;
  IvfRowsFetch fetch;
  if (state.stage == RoundStage::kSeed || state.stage == RoundStage::kSplit) {
    if (!results_bytes) {
      raise(Status::InvalidArgument(
          state.stage == RoundStage::kSeed
              ? "results: the merge of a k-means|| round reads the rows it draws from the "
                "sample results; give them"
              : "results: the merge of a split round reads the rows the empty clusters split "
                "towards from the sample results; give them"));
    }
    results = parse_results(*results_bytes);
    const SampleLayout layout = unwrap(sample_layout(results));
    if (results.front().plan_id != state.plan_id ||
        layout.fragment_ids != state.layout.fragment_ids ||
        layout.fragment_rows != state.layout.fragment_rows ||
        layout.workers != state.layout.workers) {
      raise(Status::FailedPrecondition(
          "results: not the sample results the rounds began with (their plan or fragments "
          "differ)"));
    }
    train = ivf_training_rows(params, state.layout.rows());
    fetch = [&](const std::vector<int64_t>& ivf) -> Result<std::vector<float>> {
      std::vector<int64_t> canonical;
      for (int64_t i : ivf) canonical.push_back(train[static_cast<size_t>(i)]);
      return canonical_rows(results, state.layout, canonical);
    };
  }
  Result<RoundMerge> merged = Status::Internal("not run");
  {
    py::gil_scoped_release nogil;
    merged = merge_round(state, partials, params, num_workers, fetch);
  }
  RoundMerge m = unwrap(std::move(merged));
  if (!m.finished) {
    return py::make_tuple("next", py::bytes(serialize_round_state(m.next)), m.next.round);
  }
  RoundState final_state = state;
  final_state.centroids = std::move(m.result.centroids);
  final_state.iterations = std::move(m.result.iterations);
  final_state.prev_objective = m.result.objective;
  return py::make_tuple("finished", py::bytes(serialize_round_state(final_state)), state.round);
}

PyModels rounds_finish(const std::vector<py::bytes>& results_bytes, const py::bytes& state_bytes,
                       const std::string& task_json, std::optional<int> threads,
                       const py::object& progress) {
  const auto t_start = std::chrono::steady_clock::now();
  const TrainParams params = task_params(task_json, threads);
  RoundState state = unwrap(parse_round_state(std::string(state_bytes), "state (the round state)"));
  std::vector<SampleResult> results = parse_results(results_bytes);
  check(check_whole_plan(results, params));
  if (results.front().plan_id != state.plan_id) {
    raise(Status::FailedPrecondition(
        fmt::format("the sample results belong to plan {}, the state to plan {}",
                    results.front().plan_id, state.plan_id)));
  }
  const SampleLayout layout = unwrap(sample_layout(results));
  if (layout.fragment_ids != state.layout.fragment_ids ||
      layout.fragment_rows != state.layout.fragment_rows) {
    raise(Status::FailedPrecondition(
        "the sample results are not those the rounds began with (their fragments differ)"));
  }
  std::vector<float> pq_rows;
  if (params.index_type == IndexType::kIvfPq) {
    pq_rows = canonical_rows(results, layout, pq_training_rows(params, layout.rows()));
  }
  for (SampleResult& r : results) std::vector<float>().swap(r.vectors);  // not needed further
  KMeansResult ivf;
  ivf.k = state.k;
  ivf.d = state.dim;
  ivf.centroids = std::move(state.centroids);
  ivf.iterations = std::move(state.iterations);
  ivf.objective = state.prev_objective;
  TrainedModels models = run_interruptible<TrainedModels>(
      [&] {
        return finish_rounds(results, params, std::move(ivf), state.train_rows, std::move(pq_rows));
      },
      progress);
  models.timings.total_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  return PyModels{std::move(models)};
}

// ---- Evaluation: `ivftrain eval` over arrays or datasets ---------------------------------------

// The JSON of `ivftrain eval --json`. `base` is an array (rows, dim) or a dataset path; the
// queries an array (float32, C-contiguous), a vector file, or `num_queries` held-out rows.
std::string evaluate_model(const PyModels& model, const py::object& base, const py::object& queries,
                           int64_t num_queries, std::vector<int64_t> ks,
                           std::vector<int64_t> nprobes, const py::dict& kw) {
  const DatasetOptions options = options_from(kw);
  EvalOptions eval;
  eval.ks = std::move(ks);
  eval.nprobes = std::move(nprobes);
  eval.fragment_ids = fragments_from(kw);
  eval.num_threads = get<int>(kw, "threads", 0);
  const int64_t seed = get<int64_t>(kw, "seed", 42);
  if (seed < 0) raise(Status::InvalidArgument(fmt::format("seed must not be negative ({})", seed)));
  std::optional<Dataset> dataset;
  py::array array;
  if (py::isinstance<py::str>(base)) {
    dataset.emplace(unwrap(Dataset::open(base.cast<std::string>(), options)));
  } else {
    array = py::array::ensure(base);
    if (!array || array.ndim() != 2) {
      raise(Status::InvalidArgument("base must be a 2-D array (rows, dim) or a dataset path"));
    }
    dataset.emplace(
        unwrap(Dataset::from_array("the base", array.data(), array.shape(0), array.shape(1),
                                   array_type(array), nullptr, options)));
  }
  EvalQueries q;
  if (!queries.is_none() && num_queries > 0) {
    raise(Status::InvalidArgument("give queries or num_queries, not both"));
  } else if (py::isinstance<py::str>(queries)) {
    q = unwrap(read_queries(queries.cast<std::string>()));
  } else if (!queries.is_none()) {
    auto a = queries.cast<py::array_t<float, py::array::c_style | py::array::forcecast>>();
    if (a.ndim() != 2) raise(Status::InvalidArgument("queries must be a 2-D array (rows, dim)"));
    q.count = a.shape(0);
    q.x.assign(a.data(), a.data() + a.size());
  } else if (num_queries > 0) {
    q = unwrap(held_out_queries(*dataset, num_queries, static_cast<uint64_t>(seed),
                                eval.fragment_ids, &eval.excluded_rows));
  } else {
    raise(Status::InvalidArgument(
        "give the queries: queries (an array or a vector file) or num_queries (held-out rows "
        "of the base)"));
  }
  return run_interruptible<std::string>(
      [&]() -> Result<std::string> {
        Result<EvalReport> report = evaluate(model.m, *dataset, q, eval);
        if (!report.ok()) return report.status();
        return eval_report_json(*report, model.m);
      },
      py::none());
}

// ---- Helpers for the report ---------------------------------------------------------------------

// Up to `count` rows spread evenly over every fragment (for assigning to a model's centroids).
py::array_t<float> read_spread(const std::string& path, int64_t count, const py::dict& kw) {
  const DatasetOptions options = options_from(kw);
  const Dataset dataset = unwrap(Dataset::open(path, options));
  const int64_t total = dataset.num_rows(), dim = dataset.dim();
  count = std::max<int64_t>(1, std::min(count, total));
  std::vector<float> out;
  for (const FragmentInfo& f : dataset.fragments()) {
    const int64_t want = std::max<int64_t>(1, f.num_rows * count / total);
    std::vector<int64_t> rows;
    for (int64_t i = 0; i < want; ++i) rows.push_back(i * f.num_rows / want);
    rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
    const size_t at = out.size();
    out.resize(at + rows.size() * static_cast<size_t>(dim));
    check(dataset.read_rows(f.id, rows, out.data() + at));
  }
  return array_of(out, {static_cast<py::ssize_t>(out.size() / dim), dim});
}

py::array_t<int32_t> assign(py::array_t<float, py::array::c_style | py::array::forcecast> x,
                            py::array_t<float, py::array::c_style | py::array::forcecast> c,
                            const std::string& distance_type) {
  if (x.ndim() != 2 || c.ndim() != 2 || x.shape(1) != c.shape(1)) {
    raise(Status::InvalidArgument("assign needs rows (n, d) and centroids (k, d)"));
  }
  const DistanceType dt = unwrap(parse_distance_type(distance_type));
  py::array_t<int32_t> labels(x.shape(0));
  py::gil_scoped_release nogil;
  kmeans_assign(x.shape(0), x.shape(1), x.data(), c.shape(0), c.data(),
                dt == DistanceType::kDot ? Metric::kInnerProduct : Metric::kL2,
                labels.mutable_data(), nullptr);
  return labels;
}

}  // namespace
}  // namespace ivftrain::python

PYBIND11_MODULE(_ivftrain, mod) {
  using namespace ivftrain::python;
  mod.doc() = "ivftrain's C++ core; use the ivftrain package, not this module.";
  static py::exception<std::exception> status_error(mod, "StatusError");
  g_status_error = status_error.ptr();
  mod.def("defaults", &defaults);
  mod.def("install_log_sink", &install_log_sink);
  mod.def("set_log_level",
          [](int level) { ivftrain::set_log_level(static_cast<ivftrain::LogLevel>(level)); });
  py::class_<PyModels>(mod, "Models")
      .def_property_readonly("ivf_centroids", &PyModels::ivf_centroids)
      .def_property_readonly("pq_codebook", &PyModels::pq_codebook)
      .def_property_readonly("sq_bounds", &PyModels::sq_bounds)
      .def("pq_objectives", &PyModels::pq_objectives)
      .def("json", &PyModels::json)
      .def("faiss_bytes", &PyModels::faiss_bytes)
      .def("save", &PyModels::save);
  mod.def("load", &load);
  mod.def("train_array", &train_array);
  mod.def("train_dataset", &train_dataset);
  mod.def("create_sample_tasks", &create_tasks);
  mod.def("execute_sample_task", &execute_task);
  mod.def("train_from_samples", &train_samples);
  mod.def("rounds_begin", &rounds_begin);
  mod.def("rounds_partial", &rounds_partial);
  mod.def("rounds_merge", &rounds_merge);
  mod.def("rounds_finish", &rounds_finish);
  mod.def("evaluate", &evaluate_model);
  mod.def("read_spread", &read_spread);
  mod.def("blas_core", &ivftrain::blas_core);
  mod.def("better_blas_core", &ivftrain::better_blas_core);
  mod.def("assign", &assign);
}
