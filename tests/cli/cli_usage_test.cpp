// Unit tests of the usage-error plumbing: the edit distance behind "did you mean ...?" and the
// stable kinds of the --json error object.
#include <doctest/doctest.h>

#include "exit_codes.hpp"
#include "nearest_name.hpp"

using namespace kpthin::cli;

TEST_CASE("edit distance: insert, delete, substitute and swap each cost one") {
  CHECK(edit_distance("read", "read") == 0);
  CHECK(edit_distance("rea", "read") == 1);
  CHECK(edit_distance("reed", "read") == 1);
  CHECK(edit_distance("sned", "send") == 1);
  CHECK(edit_distance("folow", "follow") == 1);
  CHECK(edit_distance("", "copy") == 4);
  CHECK(edit_distance("foo", "read") == 4);
}

TEST_CASE("nearest names: close ones only, all ties, a unique prefix") {
  const std::vector<std::string> subs = {"keypair", "write", "read", "tombstone", "copy", "send", "watch", "services"};
  CHECK(nearest_names("rea", subs) == std::vector<std::string>{"read"});
  CHECK(nearest_names("wrte", subs) == std::vector<std::string>{"write"});
  CHECK(nearest_names("tomb", subs) == std::vector<std::string>{"tombstone"});
  CHECK(nearest_names("foo", subs).empty());
  CHECK(nearest_names("x", subs).empty());
  CHECK(nearest_names("se", subs).empty());  // too short for a prefix guess
  CHECK(nearest_names("sead", subs) == std::vector<std::string>{"read", "send"});
  CHECK(did_you_mean("sead", subs) == " did you mean read or send?");
  CHECK(did_you_mean("folow", {"count", "follow"}, "--") == " did you mean --follow?");
  CHECK(did_you_mean("zzzz", subs).empty());
}

TEST_CASE("exit kinds: one stable name per documented exit code") {
  CHECK(exit_kind(ExitCode::kUsage) == "usage");
  CHECK(exit_kind(ExitCode::kTimeout) == "timeout");
  CHECK(exit_kind(ExitCode::kBoxNotFound) == "box_not_found");
  CHECK(exit_kind(ExitCode::kInterrupted) == "interrupted");
  CHECK(exit_kind(ExitCode::kDaemonUnreachable) == "daemon_unreachable");
}
