// ivftrain: the command line, a thin layer over the library (include/ivftrain/).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include "cli.h"
#include "ivftrain/log.h"
#include "util/files.h"
#ifdef IVFTRAIN_HAVE_MPI
#include "mpi/testing.h"
#endif

int main(int argc, char** argv) {
  CLI::App app{"ivftrain: train IVF, PQ and SQ models for vector indexes over fragmented datasets"};
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

  std::function<int()> run;
  ivftrain::cli::register_gen(app, run);
  ivftrain::cli::register_train(app, run);
  ivftrain::cli::register_inspect(app, run);
  ivftrain::cli::register_plan(app, run);
  ivftrain::cli::register_sample(app, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  auto logger = spdlog::stderr_color_mt("ivftrain");
  logger->set_pattern("%^[%H:%M:%S.%e %l]%$ %v");
  logger->set_level(quiet ? spdlog::level::warn
                          : verbose ? spdlog::level::debug : spdlog::level::info);
  ivftrain::set_logger(logger);
  static ivftrain::FaultyFileSystem faulty_file_system;
  if (fail_write_call > 0) {
    faulty_file_system.fail_write_call(fail_write_call);
    ivftrain::set_file_system(&faulty_file_system);
  }
#ifdef IVFTRAIN_HAVE_MPI
  ivftrain::set_mpi_failing_rank_for_testing(fail_rank);
#endif
  return run();
}
