// What a plugin author includes: the interfaces and the export macro.
//
//   #include <covergen/plugin.hpp>
//   class MyEncoder : public covergen::Encoder { ... explicit MyEncoder(const std::string& json); };
//   COVERGEN_ENCODER_PLUGIN(MyEncoder, "my-encoder", "1.0.0", "what it does, one line")
//
// The macro exports covergen_plugin_info() and covergen_create_encoder(); the
// constructor receives the JSON config string ("{}" for defaults) and should throw
// covergen::InputError for a bad config.
#pragma once

#include "covergen/encoder.hpp"
#include "covergen/errors.hpp"
#include "covergen/gan.hpp"
#include "covergen/generator.hpp"
#include "covergen/plugin_abi.hpp"
#include "covergen/upscaler.hpp"

#include <torch/csrc/api/include/torch/version.h>

#include <memory>
#include <string>

#define COVERGEN_DEFINE_PLUGIN_(KIND, IFACE, CLASS, NAME, VERSION, DESCRIPTION)                  \
  COVERGEN_PLUGIN_EXPORT const ::covergen::PluginInfo* covergen_plugin_info() {                 \
    static const ::covergen::PluginInfo info{COVERGEN_PLUGIN_ABI_VERSION, #KIND, NAME, VERSION, \
                                             TORCH_VERSION, DESCRIPTION};                        \
    return &info;                                                                                \
  }                                                                                              \
  COVERGEN_PLUGIN_EXPORT std::unique_ptr<::covergen::IFACE> covergen_create_##KIND(             \
      const std::string& json_config) {                                                          \
    return std::make_unique<CLASS>(json_config);                                                 \
  }

#define COVERGEN_ENCODER_PLUGIN(CLASS, NAME, VERSION, DESCRIPTION) \
  COVERGEN_DEFINE_PLUGIN_(encoder, Encoder, CLASS, NAME, VERSION, DESCRIPTION)
#define COVERGEN_GAN_PLUGIN(CLASS, NAME, VERSION, DESCRIPTION) \
  COVERGEN_DEFINE_PLUGIN_(gan, GanModel, CLASS, NAME, VERSION, DESCRIPTION)
#define COVERGEN_GENERATOR_PLUGIN(CLASS, NAME, VERSION, DESCRIPTION) \
  COVERGEN_DEFINE_PLUGIN_(generator, ConditionalGenerator, CLASS, NAME, VERSION, DESCRIPTION)
#define COVERGEN_UPSCALER_PLUGIN(CLASS, NAME, VERSION, DESCRIPTION) \
  COVERGEN_DEFINE_PLUGIN_(upscaler, Upscaler, CLASS, NAME, VERSION, DESCRIPTION)
