// The single Catch2 main for all CoverGen test binaries.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
