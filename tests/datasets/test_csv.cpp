#include <catch2/catch.hpp>

#include <covergen/data/csv.hpp>

using covergen::data::parse_csv;

TEST_CASE("csv: plain rows, header and line numbers") {
  auto t = parse_csv("id,a,b\n1,x,y\n2,z,w\n");
  REQUIRE(t.header == std::vector<std::string>{"id", "a", "b"});
  REQUIRE(t.records.size() == 2);
  CHECK(t.records[0].fields == std::vector<std::string>{"1", "x", "y"});
  CHECK(t.records[1].line == 3);
  CHECK(t.problems.empty());
  CHECK(t.column("b") == 2);
  CHECK(t.column("nope") == -1);
}

TEST_CASE("csv: quotes, embedded delimiters, quotes and newlines") {
  auto t = parse_csv("id,name,note\n1,\"Smith, John\",\"said \"\"hi\"\"\"\n2,\"two\nlines\",x\n3,plain,\"\"\n");
  REQUIRE(t.problems.empty());
  REQUIRE(t.records.size() == 3);
  CHECK(t.records[0].fields[1] == "Smith, John");
  CHECK(t.records[0].fields[2] == "said \"hi\"");
  CHECK(t.records[1].fields[1] == "two\nlines");
  CHECK(t.records[1].line == 3);
  CHECK(t.records[2].line == 5);  // the embedded newline counts as a physical line
  CHECK(t.records[2].fields[2].empty());
}

TEST_CASE("csv: CRLF, BOM, blank lines, no final newline, empty fields") {
  auto t = parse_csv("\xEF\xBB\xBFid,a\r\n1,\"q\r\nq\"\r\n\r\n2,\r\n3,last");
  REQUIRE(t.problems.empty());
  REQUIRE(t.header == std::vector<std::string>{"id", "a"});
  REQUIRE(t.records.size() == 3);
  CHECK(t.records[0].fields[1] == "q\r\nq");
  CHECK(t.records[1].fields == std::vector<std::string>{"2", ""});
  CHECK(t.records[1].line == 5);
  CHECK(t.records[2].fields == std::vector<std::string>{"3", "last"});
  auto trailing = parse_csv("a,b\n1,\n");
  REQUIRE(trailing.records.size() == 1);
  CHECK(trailing.records[0].fields == std::vector<std::string>{"1", ""});
}

TEST_CASE("csv: other delimiters") {
  auto t = parse_csv("id;v\n1;\"a;b\"\n", ';');
  REQUIRE(t.records.size() == 1);
  CHECK(t.records[0].fields[1] == "a;b");
  auto tabs = parse_csv("id\tv\n1\t2\n", '\t');
  CHECK(tabs.records[0].fields[1] == "2");
}

TEST_CASE("csv: malformed records are reported with their line and skipped") {
  auto t = parse_csv("id,a\n1,\"ok\"\n2,\"bad\"junk\n3,fine\n4,\"never closed\n5,x\n");
  REQUIRE(t.records.size() == 2);
  CHECK(t.records[1].fields[0] == "3");
  REQUIRE(t.problems.size() == 2);
  CHECK(t.problems[0].line == 3);
  CHECK(t.problems[0].message.find("closing quote") != std::string::npos);
  CHECK(t.problems[1].line == 5);
  CHECK(t.problems[1].message.find("unterminated") != std::string::npos);
}

TEST_CASE("csv: escape round-trips") {
  for (std::string s : {"plain", "a,b", "say \"x\"", "two\nlines", " padded ", ""}) {
    auto t = parse_csv("h\n" + covergen::data::csv_escape(s) + ",\n");
    REQUIRE(t.records.size() == 1);
    CHECK(t.records[0].fields[0] == s);
  }
}
