#include "covergen/data/csv.hpp"

#include <covergen/atomic_file.hpp>

namespace covergen::data {

long CsvTable::column(std::string_view name) const {
  for (std::size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<long>(i);
  return -1;
}

CsvTable parse_csv(std::string_view text, char delim) {
  CsvTable table;
  std::size_t i = 0;
  const std::size_t n = text.size();
  if (n >= 3 && static_cast<unsigned char>(text[0]) == 0xEF && static_cast<unsigned char>(text[1]) == 0xBB &&
      static_cast<unsigned char>(text[2]) == 0xBF)
    i = 3;
  std::size_t line = 1;
  bool have_header = false;

  while (i < n) {
    // Skip blank lines between records.
    if (text[i] == '\n') { ++line; ++i; continue; }
    if (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') { ++line; i += 2; continue; }

    CsvRecord rec;
    rec.line = line;
    std::string problem;
    std::string field;
    bool end_of_record = false;
    while (!end_of_record) {
      field.clear();
      if (i < n && text[i] == '"') {
        // Quoted field.
        const std::size_t open_line = line;
        ++i;
        bool closed = false;
        while (i < n) {
          char c = text[i];
          if (c == '"') {
            if (i + 1 < n && text[i + 1] == '"') { field += '"'; i += 2; continue; }
            ++i;
            closed = true;
            break;
          }
          if (c == '\n') ++line;
          field += c;
          ++i;
        }
        if (!closed) {
          if (problem.empty())
            problem = "unterminated quoted field (the quote opens on line " + std::to_string(open_line) + ")";
          end_of_record = true;
          rec.fields.push_back(field);
          break;
        }
        // After the closing quote: delimiter, end of line or end of input.
        if (i < n && text[i] != delim && text[i] != '\n' && !(text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') &&
            !(text[i] == '\r' && i + 1 == n)) {
          if (problem.empty()) problem = "text after a closing quote in field " + std::to_string(rec.fields.size() + 1);
          while (i < n && text[i] != delim && text[i] != '\n') field += text[i++];
          if (!field.empty() && field.back() == '\r' && (i >= n || text[i] == '\n')) field.pop_back();
        }
      } else {
        while (i < n && text[i] != delim && text[i] != '\n') field += text[i++];
        if (!field.empty() && field.back() == '\r' && (i >= n || text[i] == '\n')) field.pop_back();
      }
      rec.fields.push_back(field);
      if (i >= n) { end_of_record = true; break; }
      if (text[i] == delim) { ++i; if (i >= n) { rec.fields.emplace_back(); end_of_record = true; } continue; }
      if (text[i] == '\r') ++i;  // CR of a CRLF after a quoted field
      if (i < n && text[i] == '\n') { ++i; ++line; }
      end_of_record = true;
    }

    if (!problem.empty()) {
      table.problems.push_back({rec.line, problem});
      if (!have_header) {
        // A malformed header makes every row meaningless; report and stop.
        have_header = true;
        table.header_line = rec.line;
        table.header = std::move(rec.fields);
        table.problems.push_back({rec.line, "the header itself is malformed"});
      }
      continue;
    }
    if (!have_header) {
      have_header = true;
      table.header = std::move(rec.fields);
      table.header_line = rec.line;
    } else {
      table.records.push_back(std::move(rec));
    }
  }
  return table;
}

CsvTable read_csv(const std::filesystem::path& path, char delimiter) {
  return parse_csv(covergen::read_file(path), delimiter);
}

std::string csv_escape(std::string_view field, char delimiter) {
  bool quote = field.find_first_of(std::string{delimiter, '"', '\r', '\n'}) != std::string_view::npos ||
               (!field.empty() && (field.front() == ' ' || field.back() == ' '));
  if (!quote) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace covergen::data
