// The Catch2 entry point of the chaos suite (make chaos).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
