// The simulated mixnet the daemon is "connected" to: its geometries, its PKI document (in the
// real nested-CBOR format, spec §4.22), the services it offers (echo and courier on two
// service nodes) and its directory authorities. Everything is deterministic, so the same
// services and keys survive a simulated restart.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "channel_keys.hpp"
#include "kpthin/messages.hpp"

namespace kpsim {

struct SimService {
  std::string capability;   // "echo", "courier"
  std::string node;         // service node name
  std::string endpoint;     // Kaetzchen endpoint = recipient queue id
  kpthin::Hash256 destination_hash{};  // BLAKE2b-256(IdentityKey)
};

class SimNetwork {
 public:
  // `epoch` is the katzenpost epoch the document claims (20-minute epochs since 2017-06-01).
  explicit SimNetwork(std::uint64_t epoch);

  static kpthin::SphinxGeometry sphinx_geometry();
  static kpthin::PigeonholeGeometry pigeonhole_geometry();
  static std::uint64_t current_epoch();         // from the wall clock
  static std::uint64_t replica_epoch();         // 7-day replica epochs (spec §7.2)

  std::uint64_t epoch() const { return epoch_; }
  // Stripped document as pushed in new_pki_document_event. The handshake copy is encoded the
  // way Go's canonical mode does (shortest floats, half precision where exact); `canonical`
  // false gives the default-mode encoding of later pushes (float64).
  const Bytes& document(bool canonical) const { return canonical ? canonical_doc_ : default_doc_; }
  // The signed cert.Certificate wrapping the document (get_pki_document_reply.payload).
  const Bytes& certificate() const { return certificate_; }
  const std::vector<SimService>& services() const { return services_; }
  std::vector<kpthin::DirectoryAuthority> directory_authorities() const;

  // The service a send_message addresses, if any.
  const SimService* find_service(const kpthin::Hash256& destination, ByteView queue_id) const;
  // A courier for a start-resending operation (round robin over the courier services).
  const SimService& pick_courier();

 private:
  std::uint64_t epoch_;
  std::vector<SimService> services_;
  Bytes canonical_doc_;
  Bytes default_doc_;
  Bytes certificate_;
  std::size_t next_courier_ = 0;
};

}  // namespace kpsim
