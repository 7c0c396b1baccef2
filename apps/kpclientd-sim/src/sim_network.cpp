#include "sim_network.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <utility>

#include "cbor_writer.hpp"

namespace kpsim {
namespace {

using kpthin::Hash256;

constexpr std::uint64_t kKatzenpostEpochStart = 1496275200;  // 2017-06-01T00:00:00Z
constexpr std::uint64_t kEpochPeriod = 20 * 60;
constexpr std::uint64_t kReplicaEpochPeriod = 7 * 24 * 3600;

ByteView view_of(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

std::array<std::uint8_t, 32> node_key(std::string_view node, std::string_view purpose) {
  return keyed_hash256(view_of("kpclientd-sim network"), purpose, view_of(node));
}

// A CBOR map whose entries are encoded independently, so it can be written either in
// declaration order (Go default mode) or in canonical order (length-first, then bytewise, as
// Go's canonical mode sorts keys).
class MapBuilder {
 public:
  template <class F>
  MapBuilder& add(std::string_view key, F&& write_value) {
    CborWriter k;
    k.text(key);
    CborWriter v;
    write_value(v);
    entries_.emplace_back(k.take(), v.take());
    return *this;
  }
  MapBuilder& add_encoded_key(Bytes key, Bytes value) {
    entries_.emplace_back(std::move(key), std::move(value));
    return *this;
  }
  Bytes build(bool canonical) {
    if (canonical)
      std::stable_sort(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
        if (a.first.size() != b.first.size()) return a.first.size() < b.first.size();
        return a.first < b.first;
      });
    CborWriter w;
    w.map(entries_.size());
    for (const auto& [k, v] : entries_) w.raw(k).raw(v);
    return w.take();
  }

 private:
  std::vector<std::pair<Bytes, Bytes>> entries_;
};

struct NodeSpec {
  std::string name;
  bool gateway = false;
  bool service = false;
  int port = 0;
  std::vector<std::pair<std::string, std::string>> kaetzchen;  // capability -> endpoint
};

// MixDescriptor.MarshalBinary: canonical CBOR of the descriptor (spec §4.22).
Bytes mix_descriptor(const NodeSpec& node, std::uint64_t epoch) {
  MapBuilder m;
  m.add("Name", [&](CborWriter& w) { w.text(node.name); });
  m.add("Epoch", [&](CborWriter& w) { w.uint(epoch); });
  m.add("IdentityKey", [&](CborWriter& w) { w.bytes(node_key(node.name, "identity key")); });
  m.add("LinkKey", [&](CborWriter& w) { w.bytes(node_key(node.name, "link key")); });
  m.add("MixKeys", [&](CborWriter& w) {
    w.map(3);
    for (std::uint64_t e = epoch; e < epoch + 3; ++e) {
      w.uint(e);
      w.bytes(node_key(node.name, "mix key " + std::to_string(e)));
    }
  });
  m.add("Addresses", [&](CborWriter& w) {
    w.map(1).text("tcp").array(1).text("tcp://127.0.0.1:" + std::to_string(node.port));
  });
  m.add("Kaetzchen", [&](CborWriter& w) {
    if (node.kaetzchen.empty()) {
      w.null();
      return;
    }
    w.map(node.kaetzchen.size());
    for (const auto& [capability, endpoint] : node.kaetzchen)
      w.text(capability).map(1).text("endpoint").text(endpoint);
  });
  m.add("KaetzchenAdvertizedData", [](CborWriter& w) { w.null(); });
  m.add("IsGatewayNode", [&](CborWriter& w) { w.boolean(node.gateway); });
  m.add("IsServiceNode", [&](CborWriter& w) { w.boolean(node.service); });
  m.add("LoadWeight", [](CborWriter& w) { w.uint(0); });
  m.add("AuthenticationType", [](CborWriter& w) { w.text(""); });
  m.add("Version", [](CborWriter& w) { w.text("v0"); });
  return m.build(true);
}

std::vector<NodeSpec> network_nodes() {
  std::vector<NodeSpec> nodes;
  for (int i = 1; i <= 3; ++i) nodes.push_back({"mix" + std::to_string(i), false, false, 30000 + 3 * i, {}});
  nodes.push_back({"gateway1", true, false, 30007, {}});
  nodes.push_back({"servicenode1", false, true, 30010,
                   {{"courier", "courier"}, {"echo", "+echo"}, {"testdest", "+testdest"}}});
  nodes.push_back({"servicenode2", false, true, 30013, {{"courier", "courier"}, {"echo", "+echo"}}});
  return nodes;
}

const char* const kAuthorities[] = {"auth1", "auth2", "auth3"};

Bytes build_document(std::uint64_t epoch, bool canonical) {
  const auto nodes = network_nodes();
  auto write_float = [canonical](CborWriter& w, double v) {
    if (canonical) w.float_shortest(v); else w.float64(v);
  };
  MapBuilder doc;
  doc.add("Epoch", [&](CborWriter& w) { w.uint(epoch); });
  doc.add("GenesisEpoch", [&](CborWriter& w) { w.uint(epoch - 1000); });
  // Values chosen so the canonical form exercises half, single and double precision.
  doc.add("Mu", [&](CborWriter& w) { write_float(w, 0.25); });
  doc.add("LambdaP", [&](CborWriter& w) { write_float(w, 0.5); });
  doc.add("LambdaL", [&](CborWriter& w) { write_float(w, 0.00025); });
  doc.add("LambdaM", [&](CborWriter& w) { write_float(w, 0.0001220703125); });
  doc.add("LambdaG", [&](CborWriter& w) { write_float(w, 0.0); });
  doc.add("LambdaR", [&](CborWriter& w) { write_float(w, 0.3); });
  doc.add("Topology", [&](CborWriter& w) {
    w.array(3);
    for (int layer = 0; layer < 3; ++layer) w.array(1).bytes(mix_descriptor(nodes[layer], epoch));
  });
  doc.add("GatewayNodes", [&](CborWriter& w) { w.array(1).bytes(mix_descriptor(nodes[3], epoch)); });
  doc.add("ServiceNodes", [&](CborWriter& w) {
    w.array(2).bytes(mix_descriptor(nodes[4], epoch)).bytes(mix_descriptor(nodes[5], epoch));
  });
  doc.add("StorageReplicas", [&](CborWriter& w) {
    w.array(3);
    for (int i = 1; i <= 3; ++i) {
      const std::string name = "replica" + std::to_string(i);
      w.map(5);
      w.text("Name").text(name);
      w.text("Epoch").uint(epoch);
      w.text("IdentityKey").bytes(node_key(name, "identity key"));
      w.text("LinkKey").bytes(node_key(name, "link key"));
      w.text("Addresses").map(1).text("tcp").array(1).text("tcp://127.0.0.1:" + std::to_string(31000 + i));
    }
  });
  doc.add("ConfiguredReplicaIDs", [](CborWriter& w) {
    const std::uint8_t ids[3] = {0, 1, 2};
    w.bytes({ids, 3});
  });
  auto authority_map = [&](CborWriter& w, std::string_view purpose) {
    w.map(3);
    for (const char* auth : kAuthorities) {
      w.bytes(hash256(node_key(auth, "identity key")));  // non-text keys, as in the real document
      w.bytes(node_key(auth, purpose));
    }
  };
  doc.add("SharedRandomCommit", [&](CborWriter& w) { authority_map(w, "commit"); });
  doc.add("SharedRandomReveal", [&](CborWriter& w) { authority_map(w, "reveal"); });
  doc.add("SharedRandomValue", [&](CborWriter& w) { w.bytes(node_key("srv", std::to_string(epoch))); });
  doc.add("PriorSharedRandom", [&](CborWriter& w) { w.array(1).bytes(node_key("srv", std::to_string(epoch - 1))); });
  doc.add("SphinxGeometryHash", [&](CborWriter& w) { w.bytes(node_key("sphinx", "geometry hash")); });
  doc.add("Version", [](CborWriter& w) { w.text("v1"); });
  doc.add("PKISignatureScheme", [](CborWriter& w) { w.text("Ed25519"); });
  return doc.build(canonical);
}

Bytes build_certificate(const Bytes& document, std::uint64_t epoch) {
  MapBuilder cert;
  cert.add("Version", [](CborWriter& w) { w.uint(0); });
  cert.add("Expiration", [&](CborWriter& w) { w.uint(epoch + 3); });
  cert.add("KeyType", [](CborWriter& w) { w.text("Ed25519"); });
  cert.add("Certified", [&](CborWriter& w) { w.bytes(document); });
  cert.add("Signatures", [&](CborWriter& w) {
    w.map(3);
    for (const char* auth : kAuthorities) {
      const auto key_hash = hash256(node_key(auth, "identity key"));
      w.bytes(key_hash);
      w.map(2);
      w.text("PublicKeySum256").bytes(key_hash);
      Bytes signature(64);
      const auto a = keyed_hash256(node_key(auth, "identity key"), "sig a", document);
      const auto b = keyed_hash256(node_key(auth, "identity key"), "sig b", document);
      std::copy(a.begin(), a.end(), signature.begin());
      std::copy(b.begin(), b.end(), signature.begin() + 32);
      w.text("Payload").bytes(signature);
    }
  });
  return cert.build(true);
}

std::string pem(std::string_view label, ByteView key) {
  return "-----BEGIN " + std::string(label) + "-----\n" + kpthin::to_base64(key) + "\n-----END " +
         std::string(label) + "-----\n";
}

}  // namespace

SimNetwork::SimNetwork(std::uint64_t epoch) : epoch_(epoch) {
  for (const auto& node : network_nodes()) {
    if (!node.service) continue;
    const Hash256 destination = hash256(node_key(node.name, "identity key"));
    for (const auto& [capability, endpoint] : node.kaetzchen)
      services_.push_back({capability, node.name, endpoint, destination});
  }
  canonical_doc_ = build_document(epoch_, true);
  default_doc_ = build_document(epoch_, false);
  certificate_ = build_certificate(canonical_doc_, epoch_);
}

kpthin::SphinxGeometry SimNetwork::sphinx_geometry() {
  // The 5-hop X25519 geometry used throughout katzenpost's own configs and tests.
  kpthin::SphinxGeometry g;
  g.PacketLength = 3082;
  g.NrHops = 5;
  g.HeaderLength = 476;
  g.RoutingInfoLength = 410;
  g.PerHopRoutingInfoLength = 82;
  g.SURBLength = 572;
  g.SphinxPlaintextHeaderLength = 2;
  g.PayloadTagLength = 32;
  g.ForwardPayloadLength = 2574;
  g.UserForwardPayloadLength = 2000;
  g.NextNodeHopLength = 65;
  g.SPRPKeyMaterialLength = 64;
  g.NIKEName = "x25519";
  g.KEMName = "";
  return g;
}

kpthin::PigeonholeGeometry SimNetwork::pigeonhole_geometry() {
  // The Pigeonhole geometry katzenpost derives from the Sphinx geometry above.
  kpthin::PigeonholeGeometry g;
  // As kpclientd v0.0.99 announces it for this Sphinx geometry (checked by tests/mixnet
  // sim_diff): Max = UserForwardPayloadLength - 451 (spec §7.6); reads are padded to the write
  // size and write replies to the read-reply size, so each pair is equal.
  g.MaxPlaintextPayloadLength = 1549;
  g.CourierQueryReadLength = 2000;
  g.CourierQueryWriteLength = 2000;
  g.CourierQueryReplyReadLength = 1718;
  g.CourierQueryReplyWriteLength = 1718;
  g.NIKEName = "CTIDH1024-X25519";
  g.SignatureSchemeName = "Ed25519";
  return g;
}

std::uint64_t SimNetwork::current_epoch() {
  const auto now = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  return (now - kKatzenpostEpochStart) / kEpochPeriod;
}

std::uint64_t SimNetwork::replica_epoch() {
  const auto now = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  return (now - kKatzenpostEpochStart) / kReplicaEpochPeriod;
}

std::vector<kpthin::DirectoryAuthority> SimNetwork::directory_authorities() const {
  std::vector<kpthin::DirectoryAuthority> out;
  int port = 30001;
  for (const char* auth : kAuthorities) {
    kpthin::DirectoryAuthority a;
    a.identifier = auth;
    a.pki_signature_scheme = "Ed25519";
    a.wire_kem_scheme = "xwing";
    a.addresses = {"tcp://127.0.0.1:" + std::to_string(port++)};
    const auto identity = node_key(auth, "identity key");
    a.identity_public_key_pem = pem("ED25519 PUBLIC KEY", identity);
    a.link_public_key_pem = pem("XWING PUBLIC KEY", node_key(auth, "link key"));
    a.identity_key_hash = hash256(identity);
    out.push_back(std::move(a));
  }
  return out;
}

const SimService* SimNetwork::find_service(const Hash256& destination, ByteView queue_id) const {
  const std::string_view queue(reinterpret_cast<const char*>(queue_id.data()), queue_id.size());
  for (const auto& s : services_)
    if (s.destination_hash == destination && s.endpoint == queue) return &s;
  return nullptr;
}

const SimService& SimNetwork::pick_courier() {
  std::vector<const SimService*> couriers;
  for (const auto& s : services_)
    if (s.capability == "courier") couriers.push_back(&s);
  return *couriers[next_courier_++ % couriers.size()];
}

}  // namespace kpsim
