// Small text encodings shared by the writers of HTML pages and JSON payloads
// (`covergen generate`'s gallery, `covergen report`, `covergen serve`).
#pragma once

#include <string>

namespace covergen {

/// `s` with & < > " replaced by their HTML entities (safe in text and in quoted attributes).
std::string html_escape(const std::string& s);

/// Standard base64 (RFC 4648, with '=' padding) of `bytes`.
std::string base64(const std::string& bytes);

}  // namespace covergen
