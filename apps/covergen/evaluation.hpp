// The evaluation options shared by `covergen evaluate` and `covergen report`
// (defined in cmd_evaluate.cpp); the evaluation itself is libs/eval's (eval/run.hpp).
#pragma once

#include "cli.hpp"

#include <covergen/eval/run.hpp>

namespace covergen::cli {

/// Adds the evaluation's options to a subcommand.
void add_evaluation_options(CLI::App& cmd, eval::EvaluationOptions& options);

/// eval::evaluate_run with the CLI's plugin registry, logging to stderr unless quiet.
nlohmann::json evaluate(const eval::EvaluationOptions& options, const CommonOptions& common,
                        eval::EvaluationPictures* pictures);

}  // namespace covergen::cli
