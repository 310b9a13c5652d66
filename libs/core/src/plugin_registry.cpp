#include "covergen/plugin_registry.hpp"
#include "covergen/plugin_identity.hpp"

#include "covergen/errors.hpp"
#include "covergen/plugin_abi.hpp"
#include "covergen/plugin_info.hpp"

#include <torch/csrc/api/include/torch/version.h>

// Boost.DLL 1.74 with BOOST_DLL_USE_STD_FS needs these before its headers.
#include <string>
#include <vector>
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

#ifndef COVERGEN_INSTALL_PLUGIN_DIR
#define COVERGEN_INSTALL_PLUGIN_DIR ""
#endif

namespace fs = std::filesystem;

namespace covergen {

PluginObject::~PluginObject() = default;

struct PluginObjectAccess {
  static void set_identity(PluginObject& obj, const std::string& name, const std::string& version) {
    obj.plugin_name_ = name;
    obj.plugin_version_ = version;
  }
};

void inherit_plugin_identity(PluginObject& made, const PluginObject& maker) {
  PluginObjectAccess::set_identity(made, maker.plugin_name(), maker.plugin_version());
}

namespace {

constexpr const char* kPrefix = "libcovergen_";
constexpr const char* kSuffix = ".so";

bool looks_like_path(const std::string& s) {
  return s.find('/') != std::string::npos ||
         (s.size() > 3 && s.compare(s.size() - 3, 3, kSuffix) == 0);
}

bool is_plugin_file_name(const std::string& file) {
  const std::size_t p = std::strlen(kPrefix), s = std::strlen(kSuffix);
  return file.size() > p + s && file.compare(0, p, kPrefix) == 0 &&
         file.compare(file.size() - s, s, kSuffix) == 0;
}

std::string name_from_file(const fs::path& file) {
  std::string f = file.filename().string();
  if (!is_plugin_file_name(f)) return {};
  return f.substr(std::strlen(kPrefix), f.size() - std::strlen(kPrefix) - std::strlen(kSuffix));
}

// Refuse files or folders that other users can write (unless allowed).
void check_trust(const fs::path& file, bool allow_untrusted) {
  if (allow_untrusted) return;
  for (const fs::path& p : {file, file.parent_path().empty() ? fs::path(".") : file.parent_path()}) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) continue;
    if ((st.st_mode & S_IWOTH) != 0) {
      throw PluginError(std::string(S_ISDIR(st.st_mode) ? "folder " : "file ") + p.string() +
                        " is writable by other users, so anyone could replace the plugin; refusing to load it. "
                        "Fix the permissions (chmod o-w) or, if you trust it, pass --allow-untrusted-plugins "
                        "(or set COVERGEN_ALLOW_UNTRUSTED_PLUGINS=1)");
    }
  }
}

std::vector<fs::path> split_path_list(const char* value) {
  std::vector<fs::path> out;
  if (value == nullptr) return out;
  std::stringstream ss(value);
  std::string item;
  while (std::getline(ss, item, ':'))
    if (!item.empty()) out.emplace_back(item);
  return out;
}

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' && std::strcmp(v, "0") != 0;
}

}  // namespace

std::string plugin_file_name(const std::string& name) { return kPrefix + name + kSuffix; }

struct PluginRegistry::Loaded {
  std::shared_ptr<boost::dll::shared_library> library;
  PluginRecord record;
};

PluginRegistry::PluginRegistry(PluginSearchOptions options) : options_(std::move(options)) {
  if (env_flag("COVERGEN_ALLOW_UNTRUSTED_PLUGINS")) options_.allow_untrusted = true;
}

PluginRegistry::~PluginRegistry() = default;

std::vector<fs::path> PluginRegistry::search_path() const {
  std::vector<fs::path> dirs = options_.extra_dirs;
  if (options_.use_environment) {
    auto env = split_path_list(std::getenv("COVERGEN_PLUGIN_PATH"));
    dirs.insert(dirs.end(), env.begin(), env.end());
  }
  if (options_.use_default_dirs) {
    std::error_code ec;
    fs::path core = boost::dll::this_line_location(ec);
    if (!ec && !core.empty()) dirs.push_back(core.parent_path() / "covergen" / "plugins");
    if (std::strlen(COVERGEN_INSTALL_PLUGIN_DIR) > 0) dirs.emplace_back(COVERGEN_INSTALL_PLUGIN_DIR);
  }
  std::vector<fs::path> out;
  std::set<fs::path> seen;
  for (const auto& d : dirs) {
    std::error_code ec;
    if (!fs::is_directory(d, ec)) continue;
    fs::path canon = fs::weakly_canonical(d, ec);
    if (ec) canon = d;
    if (seen.insert(canon).second) out.push_back(canon);
  }
  return out;
}

PluginRegistry::Loaded PluginRegistry::load(const fs::path& file, const char* expected_kind) const {
  const std::string where = file.string() + ": ";
  std::error_code fec;
  if (!fs::exists(file, fec)) throw PluginError(where + "no such file");
  if (!fs::is_regular_file(file, fec)) throw PluginError(where + "not a regular file");
  try {
    check_trust(file, options_.allow_untrusted);
  } catch (const PluginError& e) {
    throw PluginError(std::string(e.what()));
  }

  Loaded out;
  out.record.path = file;
  auto lib = std::make_shared<boost::dll::shared_library>();
  std::error_code ec;
  ::dlerror();  // clear
  lib->load(file, ec, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  if (ec || !lib->is_loaded()) {
    const char* dl = ::dlerror();
    throw PluginError(where + "cannot load: " + (dl ? std::string(dl) : ec.message()));
  }
  if (!lib->has("covergen_plugin_info"))
    throw PluginError(where + "not a CoverGen plugin (it exports no covergen_plugin_info)");

  const PluginInfo* info = lib->get<const PluginInfo*()>("covergen_plugin_info")();
  try {
    ValidatedPluginInfo v = validate_plugin_info(info, name_from_file(file), TORCH_VERSION);
    out.record.abi_version = v.abi_version;
    out.record.kind = std::move(v.kind);
    out.record.name = std::move(v.name);
    out.record.version = std::move(v.version);
    out.record.torch_version = std::move(v.torch_version);
    out.record.description = std::move(v.description);
  } catch (const PluginError& e) {
    throw PluginError(where + e.what());
  }
  if (expected_kind != nullptr && out.record.kind != expected_kind)
    throw PluginError(where + "plugin '" + out.record.name + "' is a " + out.record.kind + " plugin, not a " +
                      expected_kind + " plugin");
  const std::string factory = "covergen_create_" + out.record.kind;
  if (!lib->has(factory))
    throw PluginError(where + "plugin '" + out.record.name + "' does not export " + factory);
  out.record.ok = true;
  out.library = std::move(lib);
  return out;
}

PluginRecord PluginRegistry::inspect(const fs::path& file) const { return load(file, nullptr).record; }

std::vector<PluginRecord> PluginRegistry::list() const {
  std::vector<PluginRecord> out;
  std::map<std::string, fs::path> first_by_name;
  for (const auto& dir : search_path()) {
    std::vector<fs::path> files;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
      if (is_plugin_file_name(it->path().filename().string())) files.push_back(it->path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      PluginRecord rec;
      try {
        rec = inspect(f);
      } catch (const PluginError& e) {
        rec.path = f;
        rec.ok = false;
        rec.error = e.what();
        rec.name = name_from_file(f);
      }
      auto [it, inserted] = first_by_name.emplace(rec.name, f);
      if (!inserted) {
        rec.ok = false;
        rec.error = f.string() + ": shadowed by " + it->second.string() + " (earlier in the search path)";
      }
      out.push_back(std::move(rec));
    }
  }
  return out;
}

std::string PluginRegistry::available_summary() const {
  std::vector<std::string> names;
  for (const auto& r : list())
    if (r.ok) names.push_back(r.name + " (" + r.kind + ")");
  std::string dirs;
  for (const auto& d : search_path()) dirs += (dirs.empty() ? "" : ":") + d.string();
  std::string s = names.empty() ? std::string("no plugins are available")
                                : "available plugins: " + [&] {
                                    std::string j;
                                    for (const auto& n : names) j += (j.empty() ? "" : ", ") + n;
                                    return j;
                                  }();
  s += dirs.empty() ? "; the search path is empty — set COVERGEN_PLUGIN_PATH" : "; searched " + dirs;
  return s;
}

fs::path PluginRegistry::find(const std::string& name_or_path) const {
  if (looks_like_path(name_or_path)) {
    std::error_code ec;
    if (!fs::exists(name_or_path, ec))
      throw PluginError(name_or_path + ": no such plugin file; " + available_summary());
    return fs::path(name_or_path);
  }
  for (const auto& dir : search_path()) {
    fs::path candidate = dir / plugin_file_name(name_or_path);
    std::error_code ec;
    if (fs::exists(candidate, ec)) return candidate;
  }
  throw PluginError("plugin '" + name_or_path + "' not found (looked for " + plugin_file_name(name_or_path) +
                    "); " + available_summary());
}

namespace {

template <class Iface>
std::shared_ptr<Iface> instantiate(std::shared_ptr<boost::dll::shared_library> lib, const PluginRecord& rec,
                                   const std::string& json_config) {
  using Factory = std::unique_ptr<Iface>(const std::string&);
  std::unique_ptr<Iface> obj;
  try {
    obj = lib->get<Factory>("covergen_create_" + rec.kind)(json_config);
  } catch (const std::exception& e) {
    // Copy the message now, while the library that threw it is still loaded.
    throw PluginError(rec.path.string() + ": plugin '" + rec.name + "' failed to create an object: " + e.what());
  } catch (...) {
    throw PluginError(rec.path.string() + ": plugin '" + rec.name + "' failed to create an object (unknown exception)");
  }
  if (!obj) throw PluginError(rec.path.string() + ": plugin '" + rec.name + "' factory returned null");
  PluginObjectAccess::set_identity(*obj, rec.name, rec.version);
  Iface* raw = obj.release();
  // The deleter owns the library: the object's code stays mapped while it lives.
  return std::shared_ptr<Iface>(raw, [lib = std::move(lib)](Iface* p) mutable {
    delete p;
    lib.reset();
  });
}

}  // namespace

#define COVERGEN_CREATE_IMPL(METHOD, IFACE, KIND)                                                         \
  std::shared_ptr<IFACE> PluginRegistry::METHOD(const std::string& name_or_path,                          \
                                                const std::string& json_config) const {                   \
    Loaded l = load(find(name_or_path), KIND);                                                            \
    return instantiate<IFACE>(std::move(l.library), l.record, json_config);                                \
  }
COVERGEN_CREATE_IMPL(create_encoder, Encoder, "encoder")
COVERGEN_CREATE_IMPL(create_gan, GanModel, "gan")
COVERGEN_CREATE_IMPL(create_generator, ConditionalGenerator, "generator")
COVERGEN_CREATE_IMPL(create_upscaler, Upscaler, "upscaler")
#undef COVERGEN_CREATE_IMPL

}  // namespace covergen
