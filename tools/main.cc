// ivftrain: the command line, a thin layer over the library (include/ivftrain/).
#include <CLI/CLI.hpp>

#include "cli.h"

int main(int argc, char** argv) {
  CLI::App app{"ivftrain: train IVF, PQ and SQ models for vector indexes over fragmented datasets"};
  app.require_subcommand(1);
  app.fallthrough();  // -v and -q work after the subcommand too
  bool verbose = false, quiet = false;
  app.add_flag("-v,--verbose", verbose, "log every k-means iteration of every sub-space");
  app.add_flag("-q,--quiet", quiet, "log warnings and errors only");

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

  ivftrain::cli::setup_logging(verbose, quiet);
  return run();
}
