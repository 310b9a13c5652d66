// An RFC 4180 CSV reader: quoted fields with "" escapes, delimiters and newlines
// inside quotes, LF or CRLF line ends, an optional UTF-8 byte-order mark, blank
// lines skipped. Malformed records are reported with their line, never thrown.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace covergen::data {

struct CsvRecord {
  std::vector<std::string> fields;
  std::size_t line = 0;  ///< 1-based physical line where the record starts
};

struct CsvProblem {
  std::size_t line = 0;
  std::string message;
};

struct CsvTable {
  std::vector<std::string> header;  ///< the first record (empty for an empty file)
  std::size_t header_line = 0;
  std::vector<CsvRecord> records;   ///< the other well-formed records, in file order
  std::vector<CsvProblem> problems; ///< malformed records (skipped)

  /// Index of a header column, or -1.
  long column(std::string_view name) const;
};

/// Parses CSV text. `delimiter` is usually ',' (';' and '\t' work too).
CsvTable parse_csv(std::string_view text, char delimiter = ',');
/// Reads and parses a file; throws InputError when it cannot be read.
CsvTable read_csv(const std::filesystem::path& path, char delimiter = ',');

/// Quotes a field when needed (delimiter, quote, CR or LF inside, or leading/trailing space).
std::string csv_escape(std::string_view field, char delimiter = ',');

}  // namespace covergen::data
