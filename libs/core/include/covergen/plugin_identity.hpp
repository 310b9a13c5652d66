// The plugin identity (name, version) of objects that plugin objects make.
#pragma once

namespace covergen {

class PluginObject;

/// Gives `made` the plugin name and version of `maker`: what a plugin object makes
/// (a GAN's generator from make_generator()) belongs to the same plugin, so its
/// plugin_name() says "dcgan", "stylegan", ... rather than nothing.
void inherit_plugin_identity(PluginObject& made, const PluginObject& maker);

}  // namespace covergen
