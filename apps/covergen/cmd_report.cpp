// covergen report RUN [--data DATASET] --out report.html [--json]
// One self-contained HTML page with everything `covergen evaluate` measures plus the
// t-SNE maps, the sample grids per genre and the loss curves from RUN/log.jsonl
// (docs/evaluation.md; the page is libs/eval's report_html). Written atomically;
// --json prints the metrics to stdout as well.
#include "cli.hpp"
#include "evaluation.hpp"

#include <covergen/atomic_file.hpp>
#include <covergen/errors.hpp>

#include <iostream>

namespace covergen::cli {
namespace {

struct ReportOptions {
  eval::EvaluationOptions eval;
  CommonOptions common;
  std::string out;
};

void run(const ReportOptions& o) {
  if (o.out.empty()) throw InputError("--out: name the HTML file to write");
  eval::EvaluationPictures pictures;
  const nlohmann::json m = evaluate(o.eval, o.common, &pictures);
  write_file_atomic(o.out, eval::report_html(m, pictures, o.eval.run));
  if (o.common.json)
    std::cout << nlohmann::json{{"report", o.out}, {"metrics", m}}.dump(2) << '\n';
  else
    log(o.common, "covergen: wrote " + o.out);
}

void setup(CLI::App& root) {
  auto o = std::make_shared<ReportOptions>();
  auto* cmd = root.add_subcommand("report", "Write one self-contained HTML evaluation report of a trained run");
  add_evaluation_options(*cmd, o->eval);
  cmd->add_option("--out", o->out, "HTML file to write")->required();
  cmd->add_option("--music", o->eval.music, "Music map from: audio (the sound), attributes (dataset columns), none, auto")
      ->capture_default_str();
  cmd->add_option("--map-points", o->eval.map_points, "At most this many covers in the t-SNE mosaic")->capture_default_str();
  add_common_options(*cmd, o->common);
  cmd->callback([o] { run(*o); });
}

}  // namespace
}  // namespace covergen::cli

COVERGEN_COMMAND("report", covergen::cli::setup);
