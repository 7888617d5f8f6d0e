// KeyspaceInvalidator::missingFlags: which notify-keyspace-events flags redge
// must add to what an operator already configured.

#include <catch2/catch.hpp>

#include "services/cacheproxy/keyspace_invalidator.hpp"

using redge::KeyspaceInvalidator;

TEST_CASE("keyspace flags: nothing set needs everything", "[keyspace]") {
  CHECK(KeyspaceInvalidator::missingFlags("") == "Kg$xe");
}

TEST_CASE("keyspace flags: what is set is kept and not repeated", "[keyspace]") {
  CHECK(KeyspaceInvalidator::missingFlags("Kg$xe").empty());
  CHECK(KeyspaceInvalidator::missingFlags("Ex") == "Kg$e");  // keyevent only: K still missing
  CHECK(KeyspaceInvalidator::missingFlags("K$") == "gxe");
}

TEST_CASE("keyspace flags: A covers g $ x but not e or K", "[keyspace]") {
  CHECK(KeyspaceInvalidator::missingFlags("A") == "Ke");
  CHECK(KeyspaceInvalidator::missingFlags("AKE") == "e");
  CHECK(KeyspaceInvalidator::missingFlags("AKEe").empty());
}
