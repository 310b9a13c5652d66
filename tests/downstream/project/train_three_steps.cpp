// A downstream app trains through the installed covergen::train: 3 DCGAN steps on a
// tiny dataset, then checks the run it wrote: the checkpoint is at step 3 and the
// generator loads and draws covers for a genre. Usage: train_three_steps DATASET RUN GENRE
#include <covergen/generate/condition.hpp>
#include <covergen/generate/generator.hpp>
#include <covergen/model_file.hpp>
#include <covergen/plugin_registry.hpp>
#include <covergen/train/train_run.hpp>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <iostream>

int main(int argc, char** argv) try {
  if (argc != 4) return std::cerr << "usage: train_three_steps DATASET RUN GENRE\n", 3;
  covergen::train::TrainRunOptions o;
  o.data_dir = argv[1];
  o.out = argv[2];
  o.condition = "genre";
  o.image_size = 32;
  o.batch = 4;
  o.steps = 3;
  o.gan_config = R"({"ngf": 8, "ndf": 8})";
  o.device = "cpu";
  const auto result = covergen::train::train_run(o);
  const auto meta = nlohmann::json::parse(covergen::read_model_header(o.out / "checkpoint.cvgn").meta_json);
  if (result.steps_done != 3 || meta.at("step") != 3) return std::cerr << "the checkpoint is not at step 3\n", 1;
  covergen::PluginRegistry registry;
  std::string gen_meta;
  auto generator = covergen::generate::load_generator(result.generator, registry, &gen_meta);
  const auto condition_json = nlohmann::json::parse(gen_meta).value("condition", nlohmann::json::object()).dump();
  const covergen::generate::RunCondition condition(o.out, condition_json, generator->condition_dim(), registry);
  auto rng = at::make_generator<at::CPUGeneratorImpl>(1);
  const at::Tensor covers =
      covergen::generate::generate_covers(*generator, condition.for_genres({argv[3]})[0], 2, rng, {}, at::kCPU);
  if (covers.sizes() != at::IntArrayRef({2, 3, 32, 32}) || !covers.isfinite().all().item<bool>())
    return std::cerr << "the trained generator's covers are wrong\n", 1;
  std::cout << "trained " << result.steps_done << " steps into " << o.out.string() << "; 2 covers of " << argv[3] << '\n';
} catch (const std::exception& e) {
  std::cerr << "train_three_steps: " << e.what() << '\n';
  return 1;
}
