// The resumable state of `kpthin copy --state FILE`: the temporary channel, the copy-stream
// elements (in FILE.elements, written once), how many are confirmed, and where each destination
// starts and ends. FILE is replaced atomically as confirmations arrive (in the background, the
// newest state first), so it never claims an unconfirmed box; it is complete when the command
// exits or is interrupted, so a resumed copy does not resend confirmed boxes. After a crash it may
// lag, and a resume rewrites the few confirmed boxes since with the same content (harmless).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kpthin/bytes.hpp"

namespace kpthin::cli {

struct CopyDestinationState {
  std::string channel;  // path of the .write channel file
  Bytes start_index;    // its index when the copy began
  Bytes next_index;     // its index once the copy is done
};

struct CopyState {
  enum class Phase { kWriting, kCopying } phase = Phase::kWriting;
  SecretBytes temp_write_cap;
  Bytes temp_start_index;
  Bytes temp_next_index;           // box for element `written`
  std::size_t written = 0;         // elements confirmed
  std::size_t total = 0;           // elements in the stream
  std::optional<Bytes> buffer;     // residual encoder bytes of the last envelope call
  std::vector<CopyDestinationState> destinations;
  std::string elements_blake2b;    // digest of the elements file, set by save_copy_elements
};

// Writes the elements file (once) and the state file. Throws CliError(kOther) on failure.
void save_copy_elements(const std::filesystem::path& state_path, const std::vector<Bytes>& elements,
                        CopyState& state);
void save_copy_state(const std::filesystem::path& state_path, const CopyState& state);

// Loads both. Throws CliError(kConfig) if there is no state file (saying there is no interrupted
// copy and how to start one), or if it is damaged (naming the file and the field: missing,
// wrong type, bad base64, bad JSON) or its elements file is missing or does not match.
CopyState load_copy_state(const std::filesystem::path& state_path, std::vector<Bytes>& elements);

// Removes the state and elements files after a finished copy.
void remove_copy_state(const std::filesystem::path& state_path);

std::filesystem::path elements_path(const std::filesystem::path& state_path);

}  // namespace kpthin::cli
