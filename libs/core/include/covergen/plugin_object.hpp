// The common base of everything a plugin creates: a name, a resolved config and
// named tensors. The core serialises any plugin object generically from these two
// (see model_file.hpp), so plugins never write files themselves.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <string>
#include <utility>
#include <vector>

namespace covergen {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

class PluginObject {
 public:
  virtual ~PluginObject();

  /// The plugin that made this object ("pca", "dcgan", ...), set by the registry.
  const std::string& plugin_name() const noexcept { return plugin_name_; }
  const std::string& plugin_version() const noexcept { return plugin_version_; }

  /// The complete, resolved configuration as a JSON object string. Creating the
  /// same plugin from this string must give an object whose named_tensors() have
  /// the same names and shapes — that is how model files are loaded.
  virtual std::string config_json() const = 0;

  /// Every tensor that makes up the object's state (parameters, buffers, fitted
  /// statistics), aliasing the live storage so the core can load into them in place.
  virtual NamedTensors named_tensors() = 0;

  /// Moves all state to `device`.
  virtual void to(const c10::Device& device) = 0;
  virtual c10::Device device() const = 0;

 protected:
  PluginObject() = default;

 private:
  friend struct PluginObjectAccess;
  std::string plugin_name_;
  std::string plugin_version_;
};

}  // namespace covergen
