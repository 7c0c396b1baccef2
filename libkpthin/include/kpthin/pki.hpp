// The PKI document pushed in new_pki_document_event (spec §4.22): nested CBOR with
// double-encoded MixDescriptors, floats of any width and non-text map keys.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kpthin/bytes.hpp"
#include "kpthin/pigeonhole.hpp"
#include "kpthin/status.hpp"

namespace kpthin {

struct MixDescriptor {
  std::string name;
  std::uint64_t epoch = 0;
  Bytes identity_key;
  Bytes link_key;
  std::map<std::string, std::vector<std::string>> addresses;
  // Kaetzchen capability name -> endpoint (queue id text); only text "endpoint" values kept.
  std::map<std::string, std::string> kaetzchen_endpoints;
  bool is_gateway_node = false;
  bool is_service_node = false;
};

struct PkiDocument {
  std::uint64_t epoch = 0;
  std::uint64_t genesis_epoch = 0;
  double mu = 0, lambda_p = 0, lambda_l = 0, lambda_m = 0, lambda_g = 0, lambda_r = 0;
  std::vector<std::vector<MixDescriptor>> topology;
  std::vector<MixDescriptor> gateway_nodes;
  std::vector<MixDescriptor> service_nodes;
  std::size_t storage_replica_count = 0;
  std::string version;
  std::string pki_signature_scheme;

  // Every service node offering capability `name` (spec §4.22), in document order.
  std::vector<ServiceInfo> services(std::string_view name) const;
  // Every (capability, node) pair in the document.
  std::vector<ServiceInfo> all_services() const;
};

// Decodes the stripped document (new_pki_document_event.payload). Strict and total.
Result<PkiDocument> parse_pki_document(ByteView payload);

// BLAKE2b-256 (libsodium crypto_generichash, 32 bytes, no key).
Hash256 blake2b_256(ByteView data);

}  // namespace kpthin
