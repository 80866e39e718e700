// ivftrain train DATASET --out MODEL_DIR ...        local training
// ivftrain train --from-samples PLAN_DIR --out MODEL_DIR   phase 3 of the file protocol
// mpirun -n W ivftrain train DATASET --out MODEL_DIR --mpi ...
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <iostream>
#include <set>

#include "cli.h"
#include "ivftrain/log.h"
#include "ivftrain/model_dir.h"
#include "ivftrain/plan_files.h"
#include "ivftrain/train.h"
#include "outputs.h"
#include "util/files.h"
#ifdef IVFTRAIN_HAVE_MPI
#include "ivftrain/mpi.h"
#endif

namespace ivftrain::cli {
namespace {

struct TrainCommand {
  TrainFlags flags;
  std::string dataset;
  std::string out;
  std::string from_samples;
  bool overwrite = false;
  bool json = false;
  bool mpi = false;
  std::string max_memory;  // --max-memory, per rank under --mpi
  std::string checkpoint;  // --checkpoint DIR under --mpi
  bool threads_given = false;
  bool partitions_given = false;
  std::vector<std::string> training_flags_given;  // other than --threads
};

int finish(const TrainedModels& models, const TrainCommand& c) {
  Status st = write_model_dir(models, c.out, c.overwrite);
  if (!st.ok()) return fail(st);
  log_summary(models, c.out);
  if (c.json) std::cout << summary_json(models, c.out) << std::endl;
  return 0;
}

// Trains on every result of a plan directory; lists all missing or unusable tasks at once.
int train_from_plan_dir(const TrainCommand& c) {
  // The plan fixed every parameter that shapes the sample and the model; only --threads (which
  // changes neither) may be given. A flag that agrees with the plan is refused too: it would
  // read as if it had been applied.
  if (!c.training_flags_given.empty()) {
    return fail(Status::InvalidArgument(fmt::format(
        "{} cannot be used with --from-samples: the plan in {} fixed the training parameters "
        "(only --threads may be given); make a new plan to change them",
        fmt::join(c.training_flags_given, ", "), c.from_samples)));
  }
  // The output is checked before the results are read (and again when the model is written).
  if (Status st = check_output_apart_from_inputs(c.out, {c.from_samples}); !st.ok()) {
    return fail(st);
  }
  if (Status st = check_model_dir_output(c.out, c.overwrite); !st.ok()) return fail(st);
  auto collected = read_plan_results(c.from_samples);
  if (!collected.ok()) return fail(collected.status());
  if (!collected->unusable.empty()) {
    std::vector<std::string> problems;
    std::string tasks;
    for (const UnusableResult& u : collected->unusable) {
      problems.push_back(u.problem);
      tasks += " " + u.task_path;
    }
    return fail(Status::FailedPrecondition(fmt::format(
        "{} of {} sample results cannot be used ({}); rerun `ivftrain sample` for:{}",
        problems.size(), collected->plan.tasks.size(), fmt::join(problems, "; "), tasks)));
  }
  TrainParams params = collected->plan.params;
  if (c.threads_given) params.num_threads = c.flags.params.num_threads;
  auto models = train_from_samples(std::move(collected->results), params);
  if (!models.ok()) return fail(models.status());
  return finish(*models, c);
}

int run_train(const TrainCommand& c) {
  if (!c.checkpoint.empty() && !c.mpi) {
    return fail(Status::InvalidArgument(
        "--checkpoint saves the state of a run under --mpi; the file protocol keeps its state "
        "in the plan directory"));
  }
  if (!c.max_memory.empty() && !c.mpi) {
    return fail(Status::InvalidArgument(
        "--max-memory is the memory per rank under --mpi; for the file protocol give it to plan"));
  }
  if (!c.from_samples.empty()) {
    if (!c.dataset.empty()) {
      return fail(
          Status::InvalidArgument("give either a DATASET or --from-samples PLAN_DIR, not both"));
    }
    return train_from_plan_dir(c);
  }
  if (c.dataset.empty()) {
    return fail(Status::InvalidArgument("train needs a DATASET (or --from-samples PLAN_DIR)"));
  }
  if (!c.partitions_given) {
    return fail(Status::InvalidArgument("--num-partitions is required when training a dataset"));
  }
  auto params = params_from_flags(c.flags);
  if (!params.ok()) return fail(params.status());
  auto ids = fragment_ids_from_flags(c.flags);
  if (!ids.ok()) return fail(ids.status());
  const DatasetOptions options = dataset_options_from_flags(c.flags);
  if (c.mpi) {  // rank 0 checks the output before planning; every rank agrees on it
#ifdef IVFTRAIN_HAVE_MPI
    auto assignment = assignment_from_flags(c.flags);
    if (!assignment.ok()) return fail(assignment.status());
    MpiTrainRequest req{c.dataset, options,     *params, *ids,        *assignment,
                        c.out,     c.overwrite, 0,       c.checkpoint};
    if (!c.max_memory.empty()) {
      auto limit = parse_byte_size(c.max_memory);
      if (!limit.ok())
        return fail(Status::InvalidArgument("--max-memory: " + limit.status().message()));
      req.max_memory = *limit;
    }
    MpiSession session;
    // Only rank 0 logs, so that the output reads as one run.
    if (session.rank() != 0) set_log_sink(nullptr);
    MpiTrainOutcome outcome = mpi_train(session, req);
    if (!outcome.status.ok()) {
      // Rank 0 reports first; only then may any rank exit non-zero (mpirun ends the job then).
      if (outcome.is_root) fail(outcome.status);
      session.barrier();
      return 1;
    }
    if (outcome.is_root) {
      log_summary(*outcome.models, c.out);
      if (c.json) std::cout << summary_json(*outcome.models, c.out) << std::endl;
    }
    return 0;
#else
    return fail(Status::FailedPrecondition("this ivftrain was built without MPI"));
#endif
  }
  // The output before the first read, against the dataset's path; against its fragments once
  // their headers are read, before sampling.
  if (Status st = check_output_apart_from_inputs(c.out, {c.dataset}); !st.ok()) return fail(st);
  if (Status st = check_model_dir_output(c.out, c.overwrite); !st.ok()) return fail(st);
  auto dataset = Dataset::open(c.dataset, options);
  if (!dataset.ok()) return fail(dataset.status());
  if (Status st = check_output_apart_from_inputs(c.out, dataset_inputs(c.dataset, &*dataset));
      !st.ok()) {
    return fail(st);
  }
  logger().info("dataset {}: {} rows x {} dims in {} fragment(s)", c.dataset, dataset->num_rows(),
                dataset->dim(), dataset->fragments().size());
  auto models = train_local(*dataset, *params, *ids);
  if (!models.ok()) return fail(models.status());
  return finish(*models, c);
}

}  // namespace

void register_train(CLI::App& app, std::function<int()>& run) {
  auto* cmd =
      app.add_subcommand("train", "Train a model from a dataset, from samples, or under MPI");
  auto c = std::make_shared<TrainCommand>();
  cmd->add_option("DATASET", c->dataset, "file, directory or manifest .json");
  cmd->add_option("--out", c->out, "model directory to write")->required();
  cmd->add_option("--from-samples", c->from_samples,
                  "train from the sample results of a plan directory");
  cmd->add_flag("--overwrite", c->overwrite, "replace an existing model directory");
  cmd->add_flag("--json", c->json, "print a one-line JSON summary on stdout");
  cmd->add_flag("--mpi", c->mpi, "run the three phases across MPI ranks (under mpirun)");
  cmd->add_option("--checkpoint", c->checkpoint,
                  "under --mpi: save the IVF k-means state in DIR after every iteration; the "
                  "same command resumes from it after a crash");
  cmd->add_option("--max-memory", c->max_memory,
                  "under --mpi: memory per rank (e.g. 4G); a plan that needs more is refused "
                  "before reading, naming the ranks that would fit");
  add_train_flags(*cmd, c->flags, false);
  cmd->callback([&run, c, cmd] {
    c->threads_given = cmd->count("--threads") > 0;
    c->partitions_given = cmd->count("--num-partitions") > 0;
    static const std::set<std::string> kNotTraining = {
        "--out",     "--from-samples", "--overwrite",  "--json", "--mpi",
        "--threads", "--max-memory",   "--checkpoint", "--help", "DATASET"};
    c->training_flags_given.clear();
    for (const CLI::Option* opt : cmd->get_options()) {
      if (opt->count() > 0 && !kNotTraining.count(opt->get_name())) {
        c->training_flags_given.push_back(opt->get_name());
      }
    }
    run = [c] { return run_train(*c); };
  });
}

}  // namespace ivftrain::cli
