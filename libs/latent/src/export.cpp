#include "covergen/latent/export.hpp"

#include <covergen/atomic_file.hpp>
#include <covergen/errors.hpp>
#include <covergen/w_space.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/jit/frontend/tracer.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/script.h>

#include <nlohmann/json.hpp>

#include <cctype>
#include <set>

namespace covergen::latent {

namespace {

// Module attribute names cannot hold dots: "synthesis.conv1.bias" -> "synthesis_conv1_bias".
std::string attribute_name(const std::string& name, std::set<std::string>& used) {
  std::string s;
  for (char ch : name) s += (std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_');
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) s = "t_" + s;
  std::string unique = s;
  for (int i = 2; used.count(unique) || unique == "training"; ++i) unique = s + "_" + std::to_string(i);
  used.insert(unique);
  return unique;
}

std::string short_error(const std::exception& e) {
  const auto* ce = dynamic_cast<const c10::Error*>(&e);
  std::string m = ce ? ce->what_without_backtrace() : e.what();
  const auto nl = m.find('\n');
  return nl == std::string::npos ? m : m.substr(0, nl);
}

// A tensor the trace did not see come from an input or a module attribute is recorded
// as a graph constant: it would stay on the CPU when the module moves and is stored
// outside the state dict. Make each one a buffer of the module read by GetAttr.
std::int64_t lift_tensor_constants(torch::jit::Block* block, torch::jit::Value* self, torch::jit::Module& m,
                                   std::set<std::string>& used) {
  std::int64_t lifted = 0;
  std::vector<torch::jit::Node*> nodes(block->nodes().begin(), block->nodes().end());
  for (torch::jit::Node* n : nodes) {
    for (torch::jit::Block* b : n->blocks()) lifted += lift_tensor_constants(b, self, m, used);
    if (n->kind() != c10::prim::Constant || n->outputs().size() != 1) continue;
    if (!n->output()->type()->cast<c10::TensorType>()) continue;
    const auto value = torch::jit::toIValue(n->output());
    if (!value || !value->isTensor()) continue;
    const std::string name = attribute_name("const_" + std::to_string(lifted), used);
    m.register_buffer(name, value->toTensor());
    torch::jit::WithInsertPoint guard(n);
    torch::jit::Value* read = block->owningGraph()->insertGetAttr(self, name);
    n->output()->replaceAllUsesWith(read);
    n->destroy();
    ++lifted;
  }
  return lifted;
}

}  // namespace

ExportReport export_torchscript(ConditionalGenerator& generator, const std::string& meta_json,
                                const std::filesystem::path& out, const ExportOptions& options) {
  if (!(options.truncation >= 0.0 && options.truncation <= 1.0))
    throw InputError("export: truncation must lie in [0, 1]");
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(meta_json.empty() ? "{}" : meta_json);
  } catch (const nlohmann::json::exception& e) {
    throw Error("export: the generator's meta is not JSON: " + std::string(e.what()));
  }
  generator.to(c10::kCPU);
  const std::int64_t L = generator.latent_dim(), C = generator.condition_dim(), S = generator.image_size();
  GenerateOptions gen_options;
  gen_options.truncation = options.truncation;
  ExportReport report;

  // The generator's tensors become the module's parameters (those that took gradients)
  // and buffers, so that the trace reads them as attributes rather than constants.
  torch::jit::Module m("__torch__.covergen.ExportedGenerator");
  std::set<std::string> used{"latent_dim", "condition_dim", "image_size"};
  for (auto& [name, t] : generator.named_tensors()) {
    if (!t.defined()) continue;
    const bool is_buffer = !t.requires_grad();
    if (t.requires_grad()) t.requires_grad_(false);
    m.register_parameter(attribute_name(name, used), t, is_buffer);
  }
  m.register_attribute("latent_dim", c10::IntType::get(), L);
  m.register_attribute("condition_dim", c10::IntType::get(), C);
  m.register_attribute("image_size", c10::IntType::get(), S);

  auto rng = at::make_generator<at::CPUGeneratorImpl>(0xE7907);
  torch::jit::Stack inputs{at::randn({1, L}, rng)};
  if (C > 0) inputs.emplace_back(at::randn({1, C}, rng));
  std::shared_ptr<torch::jit::tracer::TracingState> state;
  try {
    state = torch::jit::tracer::trace(
                inputs,
                [&](torch::jit::Stack in) -> torch::jit::Stack {
                  const at::Tensor c = C > 0 ? in[1].toTensor() : at::Tensor();
                  return {generator.generate(in[0].toTensor(), c, gen_options)};
                },
                [](const at::Tensor&) { return std::string(); }, /*strict=*/false, /*force_outplace=*/false, &m,
                C > 0 ? std::vector<std::string>{"z", "c"} : std::vector<std::string>{"z"})
                .first;
  } catch (const std::exception& e) {
    throw Error("export: tracing the " + generator.plugin_name() + " generator failed: " + short_error(e));
  }
  auto& graph = state->graph;
  report.lifted_constants = lift_tensor_constants(graph->block(), graph->inputs().at(0), m, used);
  auto* fn = m._ivalue()->compilation_unit()->create_function(c10::QualifiedName(*m.type()->name(), "generate_one"),
                                                              graph);
  m.type()->addMethod(fn);
  // One traced row at a time: the trace holds batch-1 sizes.
  if (C > 0) {
    m.define(R"TS(
def forward(self, z, c: Optional[Tensor] = None):
    assert c is not None, "this generator is conditional: forward(z, c)"
    assert z.dim() == 2 and z.size(1) == self.latent_dim, "z must be [N, latent_dim]"
    assert c.dim() == 2 and c.size(0) == z.size(0) and c.size(1) == self.condition_dim, "c must be [N, condition_dim]"
    outs: List[Tensor] = []
    for i in range(z.size(0)):
        outs.append(self.generate_one(z[i:i + 1], c[i:i + 1]))
    return torch.cat(outs, 0)
)TS");
  } else {
    m.define(R"TS(
def forward(self, z, c: Optional[Tensor] = None):
    assert z.dim() == 2 and z.size(1) == self.latent_dim, "z must be [N, latent_dim]"
    outs: List[Tensor] = []
    for i in range(z.size(0)):
        outs.append(self.generate_one(z[i:i + 1]))
    return torch.cat(outs, 0)
)TS");
  }
  m.eval();

  // A trace records one path: check it on inputs it has not seen.
  {
    torch::NoGradGuard no_grad;
    const at::Tensor z = at::randn({3, L}, rng);
    const at::Tensor c = C > 0 ? at::randn({3, C}, rng) : at::Tensor();
    at::Tensor got;
    try {
      got = C > 0 ? m.forward({z, c}).toTensor() : m.forward({z}).toTensor();
    } catch (const std::exception& e) {
      throw Error("export: the traced " + generator.plugin_name() + " generator does not run: " + short_error(e));
    }
    const at::Tensor want = generator.generate(z, c, gen_options);
    if (!got.sizes().equals(want.sizes()))
      throw Error("export: the traced " + generator.plugin_name() + " generator returns the wrong shape");
    report.check_max_abs_diff = (got - want).abs().max().item<double>();
    if (!(report.check_max_abs_diff <= 1e-4))
      throw Error("export: the traced " + generator.plugin_name() + " generator differs from the original by " +
                  std::to_string(report.check_max_abs_diff) +
                  " on fresh latents (its forward depends on the input values in a way a trace cannot record); "
                  "nothing written");
  }

  nlohmann::json info{{"format", "covergen-torchscript-generator"}, {"version", 1},
                      {"plugin", generator.plugin_name()}, {"latent_dim", L}, {"condition_dim", C},
                      {"image_size", S}, {"meta", meta}};
  // The torchscript plugin's own truncation scales z, which is this generator's only
  // where it has no W space and nothing was baked in.
  if (dynamic_cast<WSpace*>(&generator) != nullptr || options.truncation != 1.0)
    info["truncation_baked"] = options.truncation;
  torch::jit::ExtraFilesMap extra{{"covergen.json", info.dump()}};
  write_file_atomic(out, [&](std::ostream& os) { m.save(os, extra); });
  return report;
}

}  // namespace covergen::latent
