#include "box_check.hpp"

#include <algorithm>

#include "exit_codes.hpp"
#include "interrupt.hpp"
#include "kpthin/errors.hpp"

namespace kpthin::cli {
namespace {

bool has_code(const Status& status, replica_errc code) { return status.code() == make_error_code(code); }

}  // namespace

BoxContent read_box(Session& session, ByteView read_cap, ByteView index, bool wait_if_absent,
                    const std::string& what) {
  Result<EncryptedMessage> encrypted = session.retrying(
      [&] { return session.pigeonhole().encrypt_read(read_cap, index, session.local_timeout()); });
  if (!encrypted) fail_status(encrypted.status(), what + ": preparing to read the box back");
  ResendOptions options;
  options.no_retry_on_box_id_not_found = !wait_if_absent;
  options.interrupt = &cancel_flag();
  Result<ResendResult> result = session.retrying([&] {
    return session.pigeonhole().start_resending_read(*encrypted, read_cap, index, options, session.wait_timeout());
  });
  BoxContent content;
  content.next_index = encrypted->next_message_box_index;
  if (result) {
    content.kind = BoxContent::Kind::kMessage;
    if (result->plaintext) content.plaintext = std::move(*result->plaintext);
    return content;
  }
  if (has_code(result.status(), replica_errc::tombstone)) {
    content.kind = BoxContent::Kind::kTombstone;
    return content;
  }
  if (!wait_if_absent && has_code(result.status(), replica_errc::box_id_not_found)) return content;
  throw_if_interrupted();
  fail_status(result.status(), what + ": reading the box back");
}

OccupiedBoxes find_free_box(Session& session, ByteView read_cap, Bytes index, std::uint64_t max_tombstones,
                            const std::string& what) {
  OccupiedBoxes found;
  for (;;) {
    BoxContent content = read_box(session, read_cap, view(index), false, what);
    if (content.kind == BoxContent::Kind::kEmpty) break;
    if (content.kind == BoxContent::Kind::kTombstone) {
      ++found.tombstones;
    } else {
      ++found.messages;
    }
    index = std::move(content.next_index);
    if (found.tombstones >= max_tombstones) break;
  }
  found.free_index = std::move(index);
  return found;
}

CheckedWrite write_checked(Session& session, const SecretBytes& write_cap, const std::optional<Bytes>& read_cap,
                           ByteView plaintext, ByteView index, const std::string& what) {
  Result<EncryptedMessage> encrypted = session.retrying(
      [&] { return session.pigeonhole().encrypt_write(plaintext, write_cap, index, session.local_timeout()); });
  if (!encrypted) fail_status(encrypted.status(), what + ": encrypting the box");
  CheckedWrite out;
  out.next_index = encrypted->next_message_box_index;
  ResendOptions options;
  options.no_idempotent_box_already_exists = true;
  options.interrupt = &cancel_flag();
  Result<ResendResult> result = session.retrying([&] {
    return session.pigeonhole().start_resending_write(*encrypted, write_cap, options, session.wait_timeout());
  });
  if (result) return out;
  if (!has_code(result.status(), replica_errc::box_already_exists)) {
    throw_if_interrupted();
    fail_status(result.status(), what + ": the box was not confirmed");
  }
  out.verdict = BoxVerdict::kHoldsOther;
  if (!read_cap) return out;  // cannot tell: pass it over (at least once, never overwritten)
  // The write saw the box, so a replica that has not got it yet will: wait for it.
  BoxContent content = read_box(session, view(*read_cap), index, true, what);
  if (content.kind == BoxContent::Kind::kMessage &&
      std::equal(content.plaintext.begin(), content.plaintext.end(), plaintext.begin(), plaintext.end())) {
    out.verdict = BoxVerdict::kHoldsThis;
  }
  return out;
}

}  // namespace kpthin::cli
