#include "covergen/errors.hpp"

namespace covergen {

Error::Error(const std::string& message, ExitCode code) : std::runtime_error(message), code_(code) {}
Error::~Error() = default;

PluginError::PluginError(const std::string& message) : Error(message, ExitCode::plugin) {}
PluginError::~PluginError() = default;

InputError::InputError(const std::string& message) : Error(message, ExitCode::bad_input) {}
InputError::InputError(const std::string& path, const std::string& problem)
    : Error(path + ": " + problem, ExitCode::bad_input) {}
InputError::~InputError() = default;

}  // namespace covergen
