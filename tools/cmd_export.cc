// ivftrain export MODEL_DIR --faiss OUT [--overwrite]
#include <fmt/format.h>

#include <iostream>

#include "cli.h"
#include "ivftrain/faiss_export.h"
#include "ivftrain/model_dir.h"
#include "util/files.h"

namespace ivftrain::cli {

void register_export(CLI::App& app, std::function<int()>& run) {
  auto* cmd = app.add_subcommand(
      "export", "Write a model as a trained, empty FAISS index file (faiss.read_index loads it)");
  struct Flags {
    std::string dir, faiss;
    bool overwrite = false;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("MODEL_DIR", f->dir, "model directory written by train")->required();
  cmd->add_option("--faiss", f->faiss, "the FAISS index file to write")->required();
  cmd->add_flag("--overwrite", f->overwrite, "replace an existing FAISS index file");
  cmd->callback([&run, f] {
    run = [f] {
      if (Status st = check_output_apart_from_inputs(f->faiss, {f->dir}); !st.ok()) return fail(st);
      auto model = read_model_dir(f->dir);
      if (!model.ok()) return fail(model.status());
      if (Status st = write_faiss_index(*model, f->faiss, f->overwrite); !st.ok()) return fail(st);
      logger().info("wrote {} ({} {}, {} partitions)", f->faiss,
                    to_string(model->params.index_type), to_string(model->params.distance_type),
                    model->params.ivf.num_partitions);
      return 0;
    };
  });
}

}  // namespace ivftrain::cli
