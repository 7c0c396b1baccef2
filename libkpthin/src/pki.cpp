// The stripped PKI document of new_pki_document_event (spec §4.22) and client-side service
// lookup (Go: client/common/common.go FindServices).
#include "kpthin/pki.hpp"

#include <sodium.h>

#include "cbor_reader.hpp"
#include "cbor_value.hpp"
#include "codec_fields.hpp"
#include "kpthin/errors.hpp"
#include "sodium_once.hpp"

namespace kpthin {

namespace {

using cbor::Kind;
using cbor::Value;
using detail::FieldReader;

Status malformed(const std::string& where, const std::string& what) {
  return Status(local_errc::malformed_message, where + ": " + what);
}

// Mu and the Lambdas: any float width (the first document after connect is canonical CBOR and
// may use half precision); Go also decodes integers into float64 fields.
Status read_real(FieldReader& f, std::string_view name, double& out) {
  out = 0;
  const std::optional<Value> v = f.value(name);
  if (!v) return f.status();
  switch (v->kind) {
    case Kind::kFloat: out = v->real; break;
    case Kind::kUnsigned: out = static_cast<double>(v->number); break;
    case Kind::kNegative: out = -1.0 - static_cast<double>(v->number); break;
    default:
      f.fail(name, std::string("expected float, got ") + cbor::kind_name(v->kind));
      return f.status();
  }
  return {};
}

void read_descriptor_fields(FieldReader& f, MixDescriptor& d) {
  f.text("Name", d.name);
  f.uint("Epoch", d.epoch);
  f.bytes("IdentityKey", d.identity_key);
  f.bytes("LinkKey", d.link_key);
  if (const auto addresses = f.map("Addresses")) {
    for (std::size_t i = 0; i + 1 < addresses->items.size() && f.ok(); i += 2) {
      const Value& transport = addresses->items[i];
      const Value& list = addresses->items[i + 1];
      if (transport.kind != Kind::kText) {
        f.fail("Addresses", std::string("expected text keys, got ") + cbor::kind_name(transport.kind));
        break;
      }
      auto& out = d.addresses[std::string(transport.text())];
      if (list.is_null()) continue;
      if (list.kind != Kind::kArray) {
        f.fail("Addresses", std::string("expected arrays of text, got ") + cbor::kind_name(list.kind));
        break;
      }
      for (const Value& address : list.items) {
        if (address.kind != Kind::kText) {
          f.fail("Addresses", std::string("expected text addresses, got ") + cbor::kind_name(address.kind));
          break;
        }
        out.emplace_back(address.text());
      }
    }
  }
  if (const auto kaetzchen = f.map("Kaetzchen")) {
    for (std::size_t i = 0; i + 1 < kaetzchen->items.size() && f.ok(); i += 2) {
      const Value& capability = kaetzchen->items[i];
      const Value& parameters = kaetzchen->items[i + 1];
      if (capability.kind != Kind::kText) {
        f.fail("Kaetzchen", std::string("expected text keys, got ") + cbor::kind_name(capability.kind));
        break;
      }
      if (parameters.is_null()) continue;
      if (parameters.kind != Kind::kMap) {
        f.fail("Kaetzchen", std::string("expected maps of parameters, got ") + cbor::kind_name(parameters.kind));
        break;
      }
      // Only a text "endpoint" makes a usable service; Go would panic on anything else.
      for (std::size_t k = 0; k + 1 < parameters.items.size(); k += 2) {
        const Value& key = parameters.items[k];
        const Value& value = parameters.items[k + 1];
        if (key.kind == Kind::kText && key.text() == "endpoint" && value.kind == Kind::kText) {
          d.kaetzchen_endpoints[std::string(capability.text())] = std::string(value.text());
        }
      }
    }
  }
  f.boolean("IsGatewayNode", d.is_gateway_node);
  f.boolean("IsServiceNode", d.is_service_node);
}

// A MixDescriptor element: normally a byte string holding the descriptor's own CBOR
// (MarshalBinary), but a plain map is accepted as Go's decoder would.
Status read_descriptor(Value& element, const std::string& where, MixDescriptor& out) {
  if (element.kind == Kind::kBytes) {
    if (Status s = cbor::validate(element.data); !s.ok()) return malformed(where, s.context());
    if (const Kind kind = cbor::read_head(element.data, 0).kind; kind != Kind::kMap) {
      return malformed(where, std::string("descriptor must be a map, got ") + cbor::kind_name(kind));
    }
    FieldReader f(element.data, 0, where);
    read_descriptor_fields(f, out);
    return f.status();
  }
  if (element.kind == Kind::kMap) {
    // Read in place like the usual byte-string form: the map encoded again, as the same values.
    cbor::Writer w;
    w.value(element);
    const Bytes encoded = w.take();
    FieldReader f(encoded, 0, where);
    read_descriptor_fields(f, out);
    return f.status();
  }
  return malformed(where, std::string("expected byte string, got ") + cbor::kind_name(element.kind));
}

Status read_descriptor_list(FieldReader& f, std::string_view name, std::vector<MixDescriptor>& out) {
  std::optional<Value> list = f.array(name);
  if (!list) return f.status();
  out.reserve(list->items.size());
  for (std::size_t i = 0; i < list->items.size(); ++i) {
    Value& element = list->items[i];
    if (element.is_null()) continue;  // a nil *MixDescriptor carries nothing to use
    MixDescriptor d;
    const std::string where = "pki_document." + std::string(name) + "[" + std::to_string(i) + "]";
    if (Status s = read_descriptor(element, where, d); !s.ok()) return s;
    out.push_back(std::move(d));
  }
  return {};
}

}  // namespace

Hash256 blake2b_256(ByteView data) {
  detail::ensure_sodium();
  Hash256 out{};
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), nullptr, 0);
  return out;
}

Result<PkiDocument> parse_pki_document(ByteView payload) {
  if (Status s = cbor::validate(payload); !s.ok()) return malformed("pki_document", s.context());
  if (const Kind kind = cbor::read_head(payload, 0).kind; kind != Kind::kMap) {
    return malformed("pki_document", std::string("expected a map, got ") + cbor::kind_name(kind));
  }
  PkiDocument doc;
  FieldReader f(payload, 0, "pki_document");
  f.uint("Epoch", doc.epoch);
  f.uint("GenesisEpoch", doc.genesis_epoch);
  for (auto [name, field] : {std::pair<const char*, double*>{"Mu", &doc.mu},
                             {"LambdaP", &doc.lambda_p},
                             {"LambdaL", &doc.lambda_l},
                             {"LambdaM", &doc.lambda_m},
                             {"LambdaG", &doc.lambda_g},
                             {"LambdaR", &doc.lambda_r}}) {
    if (Status s = read_real(f, name, *field); !s.ok()) return s;
  }
  if (std::optional<Value> topology = f.array("Topology")) {
    for (std::size_t layer = 0; layer < topology->items.size(); ++layer) {
      Value& nodes = topology->items[layer];
      auto& out = doc.topology.emplace_back();
      if (nodes.is_null()) continue;
      if (!f.element_is("Topology", layer, nodes, Kind::kArray)) return f.status();
      for (std::size_t i = 0; i < nodes.items.size(); ++i) {
        if (nodes.items[i].is_null()) continue;
        MixDescriptor d;
        const std::string where = "pki_document.Topology[" + std::to_string(layer) + "][" + std::to_string(i) + "]";
        if (Status s = read_descriptor(nodes.items[i], where, d); !s.ok()) return s;
        out.push_back(std::move(d));
      }
    }
  }
  if (Status s = read_descriptor_list(f, "GatewayNodes", doc.gateway_nodes); !s.ok()) return s;
  if (Status s = read_descriptor_list(f, "ServiceNodes", doc.service_nodes); !s.ok()) return s;
  if (const std::optional<Value> replicas = f.array("StorageReplicas")) {
    for (std::size_t i = 0; i < replicas->items.size(); ++i) {
      const Value& r = replicas->items[i];
      if (r.is_null()) continue;
      if (!f.element_is("StorageReplicas", i, r, Kind::kMap)) return f.status();
      ++doc.storage_replica_count;
    }
  }
  f.text("Version", doc.version);
  f.text("PKISignatureScheme", doc.pki_signature_scheme);
  if (!f.ok()) return f.status();
  return doc;
}

std::vector<ServiceInfo> PkiDocument::services(std::string_view name) const {
  std::vector<ServiceInfo> found;
  for (const MixDescriptor& node : service_nodes) {
    auto it = node.kaetzchen_endpoints.find(std::string(name));
    if (it == node.kaetzchen_endpoints.end()) continue;
    ServiceInfo info;
    info.name = it->first;
    info.node = node.name;
    info.queue_id.assign(it->second.begin(), it->second.end());
    info.destination_hash = blake2b_256(node.identity_key);
    found.push_back(std::move(info));
  }
  return found;
}

std::vector<ServiceInfo> PkiDocument::all_services() const {
  std::vector<ServiceInfo> found;
  for (const MixDescriptor& node : service_nodes) {
    const Hash256 destination = blake2b_256(node.identity_key);
    for (const auto& [capability, endpoint] : node.kaetzchen_endpoints) {
      ServiceInfo info;
      info.name = capability;
      info.node = node.name;
      info.queue_id.assign(endpoint.begin(), endpoint.end());
      info.destination_hash = destination;
      found.push_back(std::move(info));
    }
  }
  return found;
}

}  // namespace kpthin
