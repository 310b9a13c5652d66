// Helpers over named-tensor lists (plugin_object.hpp's NamedTensors), shared by the
// training engine (checkpoints) and libs/generate (loading a trained generator).
#pragma once

#include "covergen/plugin_object.hpp"

#include <string>

namespace covergen {

/// The entries of `all` under `prefix/` with the prefix stripped (a checkpoint's
/// "ema/...", "model/G/...").
NamedTensors take_prefixed(const NamedTensors& all, const std::string& prefix);

}  // namespace covergen
