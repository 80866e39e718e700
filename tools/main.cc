// ivftrain: the command line, a thin layer over the library (include/ivftrain/).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <new>
#include <string>

#include "blas_restart.h"
#include "cli.h"
#include "ivftrain/simd.h"
#include "signals.h"
#include "testing/faults.h"
#include "util/memory.h"

int main(int argc, char** argv) {
  // Before parsing, so that --version reports the level the environment forces, and before the
  // BLAS's restart, which follows that level.
  if (const ivftrain::Status simd = ivftrain::set_simd_target_from_env(); !simd.ok()) {
    std::cerr << "ivftrain: error: " << simd.message() << std::endl;
    return 2;
  }
  ivftrain::cli::restart_with_better_blas(argv);
  ivftrain::cli::remove_staging_on_signals();
  CLI::App app{"ivftrain: train IVF, PQ and SQ models for vector indexes over fragmented datasets"};
  app.set_version_flag("--version", [] { return ivftrain::cli::version_text(); });
  app.require_subcommand(1);
  app.fallthrough();  // -v and -q work after the subcommand too
  bool verbose = false, quiet = false;
  app.add_flag("-v,--verbose", verbose, "log every k-means iteration of every sub-space");
  app.add_flag("-q,--quiet", quiet, "log warnings and errors only");
  // Hidden test hooks (tests/e2e, scripts/error_table.sh) that install faults through the
  // library's seams: the library itself reads no environment variable.
  int64_t fail_write_call = 0;  // the N-th write() call fails as on a full disk
  int fail_rank = -1;           // under --mpi, this rank's sampling fails
  app.add_option("--test-fail-write-call", fail_write_call)->group("");
  app.add_option("--test-fail-rank", fail_rank)->group("");
  int64_t memory_limit = 0;  // bytes the process may use, as if ulimit -v said so (0: the system's)
  app.add_option("--test-memory-limit", memory_limit)->group("");
  int64_t signal_write_call = 0;  // the N-th write() call sends --test-signal to the process
  int test_signal = SIGTERM;
  app.add_option("--test-signal-at-write-call", signal_write_call)->group("");
  app.add_option("--test-signal", test_signal)->group("");

  std::function<int()> run;
  ivftrain::cli::register_gen(app, run);
  ivftrain::cli::register_train(app, run);
  ivftrain::cli::register_inspect(app, run);
  ivftrain::cli::register_plan(app, run);
  ivftrain::cli::register_sample(app, run);
  ivftrain::cli::register_export(app, run);
  ivftrain::cli::register_eval(app, run);
  ivftrain::cli::register_round(app, run);
  ivftrain::cli::register_advance(app, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  ivftrain::cli::setup_logging(verbose, quiet);
  ivftrain::testing::fail_write_call(fail_write_call);
  ivftrain::testing::signal_at_write_call(signal_write_call, test_signal);
  ivftrain::testing::fail_mpi_rank(fail_rank);
  ivftrain::set_memory_limit_for_testing(memory_limit);
  // The library refuses the allocations it can foresee (the sample) with a sentence; any other
  // that the system refuses ends here, as an error rather than std::terminate (exit 134).
  try {
    return run();
  } catch (const std::bad_alloc&) {
    return ivftrain::cli::fail(ivftrain::Status::FailedPrecondition(fmt::format(
        "out of memory while running ivftrain {}: lower sample_rate or num_partitions, or train "
        "on fewer fragments",
        app.get_subcommands().empty() ? "" : app.get_subcommands().front()->get_name())));
  }
}
