// PKI document parsing (spec §4.22): nested encoding, float widths, bstr map keys, services.
#include <doctest/doctest.h>

#include "cbor_value.hpp"
#include "kpthin/errors.hpp"
#include "kpthin/pki.hpp"
#include "wire_test_util.hpp"

using namespace kpthin;
using namespace kpthin::test;

namespace {

struct NodeSpec {
  std::string name;
  Bytes identity_key;
  std::vector<std::pair<std::string, std::string>> kaetzchen;  // capability -> endpoint
  bool gateway = false;
  bool service = false;
};

// A MixDescriptor as Go's canonical MarshalBinary would write it (field set of descriptor.go).
Bytes descriptor(const NodeSpec& n) {
  cbor::Writer w;
  w.map(13);
  w.text("Name"); w.text(n.name);
  w.text("Epoch"); w.uint(12345);
  w.text("IdentityKey"); w.bytes(n.identity_key);
  w.text("LinkKey"); w.bytes(filled(32, 0x4c));
  w.text("MixKeys"); w.map(2); w.uint(12345); w.bytes(filled(32, 1)); w.uint(12346); w.bytes(filled(32, 2));
  w.text("Addresses"); w.map(1); w.text("tcp"); w.array(2); w.text("tcp://127.0.0.1:3000"); w.text("tcp://[::1]:3000");
  w.text("Kaetzchen");
  if (n.kaetzchen.empty()) {
    w.null();
  } else {
    w.map(n.kaetzchen.size());
    for (const auto& [capability, endpoint] : n.kaetzchen) {
      w.text(capability);
      w.map(2); w.text("endpoint"); w.text(endpoint); w.text("weight"); w.negative(4);
    }
  }
  w.text("KaetzchenAdvertizedData"); w.null();
  w.text("IsGatewayNode"); w.boolean(n.gateway);
  w.text("IsServiceNode"); w.boolean(n.service);
  w.text("LoadWeight"); w.uint(0);
  w.text("AuthenticationType"); w.text("");
  w.text("Version"); w.text("v0");
  return w.take();
}

Bytes document() {
  cbor::Writer w;
  w.map(21);
  w.text("Epoch"); w.uint(12345);
  w.text("GenesisEpoch"); w.uint(12000);
  w.text("Mu"); w.float16(0.25f);       // canonical encoding picks half precision: f9 3400
  w.text("LambdaP"); w.float32(0.5f);   // fa
  w.text("LambdaL"); w.float64(0.001);  // fb
  w.text("LambdaM"); w.float16(1.5f);
  w.text("LambdaG"); w.float64(0.0);
  w.text("LambdaR"); w.uint(2);          // an integer where Go expects float64 is fine too
  w.text("Topology");
  w.array(2);
  w.array(1); w.bytes(descriptor({"mix1", filled(32, 0x11), {}, false, false}));
  w.array(1); w.bytes(descriptor({"mix2", filled(32, 0x12), {}, false, false}));
  w.text("GatewayNodes"); w.array(1); w.bytes(descriptor({"gateway1", filled(32, 0x21), {}, true, false}));
  w.text("ServiceNodes");
  w.array(3);
  w.bytes(descriptor({"servicenode1", unhex("616263"), {{"echo", "+echo"}, {"courier", "courier"}}, false, true}));
  w.bytes(descriptor({"servicenode2", Bytes{}, {{"echo", "echo2"}}, false, true}));
  w.bytes(descriptor({"servicenode3", filled(32, 0x33), {{"spool", "spool"}}, false, true}));
  w.text("StorageReplicas");
  w.array(2);
  for (int i = 0; i < 2; ++i) {
    w.map(2); w.text("Name"); w.text("replica" + std::to_string(i)); w.text("ReplicaID"); w.uint(static_cast<unsigned>(i));
  }
  w.text("ConfiguredReplicaIDs"); w.bytes(unhex("0001"));
  w.text("ConfiguredReplicaIdentityKeys"); w.array(1); w.bytes(filled(32, 0x99));
  w.text("SharedRandomCommit"); w.map(2); w.bytes(filled(32, 0xa1)); w.bytes(filled(40, 1)); w.bytes(filled(32, 0xa2)); w.bytes(filled(40, 2));
  w.text("SharedRandomReveal"); w.map(1); w.bytes(filled(32, 0xa1)); w.bytes(filled(40, 3));
  w.text("SharedRandomValue"); w.bytes(filled(32, 0x55));
  w.text("PriorSharedRandom"); w.array(1); w.bytes(filled(32, 0x56));
  w.text("SphinxGeometryHash"); w.bytes(filled(32, 0x57));
  w.text("Version"); w.text("v1");
  w.text("PKISignatureScheme"); w.text("Ed25519 Sphincs+");
  return w.take();
}

}  // namespace

TEST_CASE("pki: blake2b_256 matches the reference vectors") {
  CHECK(to_hex(blake2b_256({})) == "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  CHECK(to_hex(blake2b_256(unhex("616263"))) == "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

TEST_CASE("pki: a document with nested descriptors, all float widths and bstr map keys") {
  const Bytes payload = document();
  // The half-float Mu really is on the wire as f9 3400.
  const Bytes mu_encoding = unhex("624d75f93400");
  CHECK(std::search(payload.begin(), payload.end(), mu_encoding.begin(), mu_encoding.end()) != payload.end());

  auto doc = parse_pki_document(payload);
  REQUIRE_MESSAGE(doc.ok(), doc.status().message());
  CHECK(doc->epoch == 12345);
  CHECK(doc->genesis_epoch == 12000);
  CHECK(doc->mu == 0.25);
  CHECK(doc->lambda_p == 0.5);
  CHECK(doc->lambda_l == 0.001);
  CHECK(doc->lambda_m == 1.5);
  CHECK(doc->lambda_r == 2.0);
  REQUIRE(doc->topology.size() == 2);
  CHECK(doc->topology[1][0].name == "mix2");
  REQUIRE(doc->gateway_nodes.size() == 1);
  CHECK(doc->gateway_nodes[0].is_gateway_node);
  CHECK(doc->gateway_nodes[0].addresses.at("tcp").size() == 2);
  REQUIRE(doc->service_nodes.size() == 3);
  CHECK(doc->service_nodes[0].is_service_node);
  CHECK(doc->service_nodes[0].kaetzchen_endpoints.at("courier") == "courier");
  CHECK(doc->storage_replica_count == 2);
  CHECK(doc->version == "v1");
  CHECK(doc->pki_signature_scheme == "Ed25519 Sphincs+");
}

TEST_CASE("pki: services(\"echo\") gives queue ids and BLAKE2b-256(IdentityKey) in document order") {
  auto doc = parse_pki_document(document());
  REQUIRE(doc.ok());
  const auto echo = doc->services("echo");
  REQUIRE(echo.size() == 2);
  CHECK(echo[0].name == "echo");
  CHECK(echo[0].node == "servicenode1");
  CHECK(std::string(echo[0].queue_id.begin(), echo[0].queue_id.end()) == "+echo");
  CHECK(to_hex(echo[0].destination_hash) == "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
  CHECK(echo[1].node == "servicenode2");
  CHECK(to_hex(echo[1].destination_hash) == "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  CHECK(doc->services("nonexistent").empty());
  CHECK(doc->services("courier").size() == 1);
  CHECK(doc->all_services().size() == 4);
}

TEST_CASE("pki: a descriptor given as a plain map (not double-encoded) is accepted") {
  cbor::Writer w;
  w.map(2);
  w.text("Epoch"); w.uint(7);
  w.text("ServiceNodes");
  w.array(1);
  Result<cbor::Value> inner = cbor::decode(descriptor({"svc", filled(32, 1), {{"echo", "e"}}, false, true}));
  REQUIRE(inner.ok());
  w.value(*inner);
  auto doc = parse_pki_document(w.data());
  REQUIRE(doc.ok());
  CHECK(doc->services("echo").size() == 1);
}

TEST_CASE("pki: malformed documents are errors, not crashes") {
  auto expect_error = [](const Bytes& payload, const std::string& fragment) {
    auto doc = parse_pki_document(payload);
    REQUIRE(!doc.ok());
    CHECK(doc.status().code() == make_error_code(local_errc::malformed_message));
    CHECK_MESSAGE(doc.status().message().find(fragment) != std::string::npos, doc.status().message());
  };
  expect_error(unhex("80"), "expected a map");
  expect_error(unhex("a16545706f63686163"), "pki_document.Epoch");  // Epoch: "c"
  {
    cbor::Writer w;
    w.map(1); w.text("ServiceNodes"); w.array(1); w.bytes(unhex("a1"));  // truncated inner CBOR
    expect_error(w.data(), "ServiceNodes[0]");
  }
  {
    cbor::Writer w;
    w.map(1); w.text("Mu"); w.text("fast");
    expect_error(w.data(), "Mu: expected float");
  }
  {
    cbor::Writer w;
    w.map(1); w.text("Topology"); w.array(1); w.uint(3);
    expect_error(w.data(), "Topology[0]");
  }
  Bytes truncated = document();
  truncated.resize(truncated.size() / 2);
  expect_error(truncated, "CBOR");
}
