// The page's files, compiled into the library from libs/serve/web/ by
// embed_web.cmake: served from memory, never from the filesystem.
#pragma once

#include <string_view>
#include <vector>

namespace covergen::serve {

struct WebAsset {
  const char* route;         ///< e.g. "/" or "/app.js"
  const char* content_type;  ///< e.g. "text/html; charset=utf-8"
  std::string_view content;
};

const std::vector<WebAsset>& web_assets();

}  // namespace covergen::serve
