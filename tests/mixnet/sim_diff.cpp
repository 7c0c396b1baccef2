// kpclientd-sim checked against the real kpclientd (issue 12, label mixnet): the same requests go
// to both, and each reply is reduced to its shape — which keys are present, null or not, the
// type and size of every value, error codes, the flags byte and size of each copy-stream
// element, and next indices as an offset from the channel's first index — so random bytes
// (caps, ciphertexts, keys) do not count and everything a client could rely on does.
//
// Usage: kpthin_sim_diff THINCLIENT_TOML   (the real daemon's; the sim is started here)
// Exit 0 when every shape matches or differs only where kIntended says why; 1 otherwise.
#include <cbor.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "sim_ops.hpp"

using namespace kpthin;
using namespace kpsim_test;

namespace {

// Differences that are accepted, each with the reason (labels are the request labels below).
struct Intended {
  std::string_view label_prefix;
  std::string_view key;  // the reply key whose shape may differ
  std::string_view reason;
};
constexpr Intended kIntended[] = {
    {"encrypt_", "envelope_descriptor",
     "opaque to clients (spec 1.5); the sim's holds a 32-byte stand-in key, kpclientd's the MKEM private key"},
};

struct CborDeleter {
  void operator()(cbor_item_t* item) const { cbor_decref(&item); }
};

std::uint64_t le64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

class Shaper {
 public:
  // Channels' first indices: a returned index is shown as its offset from one of them.
  std::vector<std::uint64_t> bases;

  // key -> shape of each entry of the one non-null reply map in a Response envelope.
  std::map<std::string, std::string> shape(const Bytes& body) const {
    cbor_load_result result;
    std::unique_ptr<cbor_item_t, CborDeleter> root(cbor_load(body.data(), body.size(), &result));
    std::map<std::string, std::string> out;
    if (!root || !cbor_isa_map(root.get())) return {{"<frame>", "not a map"}};
    const cbor_item_t* reply = nullptr;
    for (std::size_t i = 0; i < cbor_map_size(root.get()); ++i) {
      const cbor_pair& p = cbor_map_handle(root.get())[i];
      if (cbor_isa_map(p.value)) reply = p.value;
    }
    if (reply == nullptr) return {{"<frame>", "no reply map"}};
    for (std::size_t i = 0; i < cbor_map_size(reply); ++i) {
      const cbor_pair& p = cbor_map_handle(reply)[i];
      const std::string key = text(p.key);
      out[key] = describe(p.value, key);
    }
    return out;
  }

 private:
  static std::string text(const cbor_item_t* item) {
    if (!cbor_isa_string(item) || !cbor_string_is_definite(item)) return "<non-text key>";
    return {reinterpret_cast<const char*>(cbor_string_handle(item)), cbor_string_length(item)};
  }

  std::string index_offset(const std::uint8_t* bytes) const {
    const std::uint64_t counter = le64(bytes);
    for (std::uint64_t base : bases) {
      if (counter >= base && counter - base < 1000000) return "first+" + std::to_string(counter - base);
    }
    return "unknown-channel";
  }

  std::string describe(const cbor_item_t* v, const std::string& key) const {
    if (cbor_is_null(v)) return "null";
    if (cbor_is_bool(v)) return cbor_get_bool(v) ? "true" : "false";
    if (cbor_isa_uint(v)) {
      const std::uint64_t n = cbor_get_int(v);
      if (key == "counter") return "uint(" + index_counter_offset(n) + ")";
      return key == "error_code" || key == "epoch" || key == "replica_error_code" ? "uint=" + std::to_string(n) : "uint";
    }
    if (cbor_isa_string(v)) return "text";
    if (cbor_isa_bytestring(v)) {
      if (!cbor_bytestring_is_definite(v)) return "bstr(indefinite)";
      const std::size_t n = cbor_bytestring_length(v);
      std::string s = "bstr(" + std::to_string(n) + ")";
      if (n == 104 && key.find("index") != std::string::npos) s += "@" + index_offset(cbor_bytestring_handle(v));
      if (key == "envelopes" && n > 0) s += "flags=" + std::to_string(cbor_bytestring_handle(v)[0]);
      return s;
    }
    if (cbor_isa_array(v)) {
      std::string s = "[";
      for (std::size_t i = 0; i < cbor_array_size(v); ++i) {
        if (i) s += ",";
        s += describe(cbor_array_handle(v)[i], key);
      }
      return s + "]";
    }
    if (cbor_isa_map(v)) return "map(" + std::to_string(cbor_map_size(v)) + ")";
    return "other";
  }

  std::string index_counter_offset(std::uint64_t counter) const {
    for (std::uint64_t base : bases) {
      if (counter >= base && counter - base < 1000000) return "first+" + std::to_string(counter - base);
    }
    return "unknown-channel";
  }
};

// One daemon under test: its connection, its channels, and the shapes of its replies by label.
struct Side {
  std::string name;
  RawClient client;
  Shaper shaper;
  std::vector<std::pair<std::string, std::map<std::string, std::string>>> shapes;

  Side(std::string n, const DialTarget& target) : name(std::move(n)), client(target) {
    client.handshake(token_of(0x5d));
    std::cerr << name << ": connected" << std::endl;
  }

  template <class Reply, class Req>
  std::optional<Reply> ask(const std::string& label, Req request, std::chrono::milliseconds timeout = 120s) {
    auto reply = client.call<Reply>(std::move(request), timeout);
    std::cerr << name << ": " << label << (reply ? "" : ": no reply") << std::endl;
    shapes.emplace_back(label, reply ? shaper.shape(client.last_body) : std::map<std::string, std::string>{{"<reply>", "none"}});
    return reply;
  }

  RawChannel keypair(std::uint8_t seed) {
    NewKeypair r;
    r.seed = seed_of(seed);
    auto reply = ask<NewKeypairReply>("new_keypair seed " + std::to_string(seed), std::move(r));
    if (!reply || reply->error_code != 0) throw std::runtime_error(name + ": new_keypair failed");
    shaper.bases.push_back(le64(reply->first_message_index.data()));
    return RawChannel{std::move(reply->write_cap), std::move(reply->read_cap), std::move(reply->first_message_index)};
  }
};

Bytes filled(std::size_t n, std::uint8_t byte) { return Bytes(n, byte); }

std::string flags_label(bool start, bool last) {
  return std::string(start ? " start" : " !start") + (last ? " last" : " !last");
}

// The local requests (no mixnet I/O), identical inputs on both sides.
void local_requests(Side& s, std::size_t max) {
  for (std::size_t n : {0, 31, 33}) {
    NewKeypair bad;
    bad.seed = SecretBytes(filled(n, 7));
    s.ask<NewKeypairReply>("new_keypair seed of " + std::to_string(n) + " bytes", std::move(bad));
  }
  const RawChannel a = s.keypair(1), b = s.keypair(2);

  // Every courier envelope costs kpclientd an MKEM encapsulation to CTIDH1024 replica keys
  // (seconds on a loaded CI machine), so the inputs are few, chosen for what each shows.
  for (std::size_t size : {std::size_t{0}, max, max + 1}) {
    EncryptWrite w;
    w.plaintext = filled(size, 0x61);
    w.write_cap = a.write_cap;
    w.message_box_index = a.first_index;
    s.ask<EncryptWriteReply>(std::string("encrypt_write ") + (size == 0 ? "0 bytes" : size == max ? "max" : "max+1"),
                             std::move(w));
  }
  EncryptWrite null_plaintext;
  null_plaintext.write_cap = a.write_cap;
  null_plaintext.message_box_index = a.first_index;
  s.ask<EncryptWriteReply>("encrypt_write null plaintext", std::move(null_plaintext));
  EncryptRead r;
  r.read_cap = a.read_cap;
  r.message_box_index = a.first_index;
  s.ask<EncryptReadReply>("encrypt_read", std::move(r));

  NextMessageBoxIndex next;
  next.message_box_index = a.first_index;
  auto n1 = s.ask<NextMessageBoxIndexReply>("next_message_box_index", std::move(next));
  GetMessageBoxIndexCounter counter;
  counter.message_box_index = n1 ? n1->next_message_box_index : a.first_index;
  s.ask<GetMessageBoxIndexCounterReply>("get_message_box_index_counter of next", std::move(counter));

  auto from_payload = [&](std::size_t size, bool start, bool last) {
    CreateCourierEnvelopesFromPayload p;
    p.payload = filled(size, 0x62);
    p.dest_write_cap = a.write_cap;
    p.dest_start_index = a.first_index;
    p.is_start = start;
    p.is_last = last;
    const std::string what = size == max - 3 ? "max-3" : std::to_string(size);
    s.ask<CreateCourierEnvelopesFromPayloadReply>("from_payload " + what + " bytes" + flags_label(start, last),
                                                  std::move(p));
  };
  for (bool start : {true, false})
    for (bool last : {true, false}) from_payload(0, start, last);
  from_payload(10, true, true);
  from_payload(10, false, false);
  from_payload(max - 3, true, false);  // two chunks

  // Multi-payload: the issue's case, then a stream of three calls carrying the buffer.
  auto multi = [&](const std::string& label, std::vector<std::size_t> sizes, bool start, bool last,
                   std::optional<Bytes> buffer) {
    CreateCourierEnvelopesFromMultiPayload m;
    const RawChannel* channels[] = {&a, &b};
    for (std::size_t i = 0; i < sizes.size(); ++i)
      m.destinations.push_back({filled(sizes[i], 0x63), channels[i % 2]->write_cap, channels[i % 2]->first_index});
    m.is_start = start;
    m.is_last = last;
    m.buffer = std::move(buffer);
    return s.ask<CreateCourierEnvelopesFromMultiPayloadReply>(label + flags_label(start, last), std::move(m));
  };
  multi("multi two small", {10, 20}, true, false, std::nullopt);
  multi("multi one empty", {0}, true, true, std::nullopt);
  multi("multi one empty", {0}, false, false, std::nullopt);
  multi("multi no destinations", {}, true, true, std::nullopt);
  multi("multi foreign buffer, empty payload", {0}, false, true, filled(50, 0xee));
  auto m1 = multi("multi stream 1/3", {10}, true, false, std::nullopt);
  auto m2 = multi("multi stream 2/3", {5}, false, false, m1 ? m1->buffer : std::nullopt);
  multi("multi stream 3/3", {7}, false, true, m2 ? m2->buffer : std::nullopt);

  auto tombstones = [&](const std::string& label, std::uint32_t count, bool start, bool last, std::optional<Bytes> buffer) {
    CreateCourierEnvelopesFromTombstoneRange t;
    t.dest_write_cap = b.write_cap;
    t.dest_start_index = b.first_index;
    t.max_count = count;
    t.is_start = start;
    t.is_last = last;
    t.buffer = std::move(buffer);
    return s.ask<CreateCourierEnvelopesFromTombstoneRangeReply>(label + flags_label(start, last), std::move(t));
  };
  tombstones("tombstones 1", 1, true, true, std::nullopt);
  tombstones("tombstones 0 with a buffer", 0, false, false, filled(20, 1));
  auto t1 = tombstones("tombstone stream 1/2", 1, true, false, std::nullopt);
  tombstones("tombstone stream 2/2", 1, false, true, t1 ? t1->buffer : std::nullopt);
}

// The timing-independent outcomes of mixnet round trips (issue 12): box exists -> 10,
// unwritten box with no-retry -> 1, tombstoned box -> 11. Independent operations of a phase are
// sent together, so the phases cost one round trip each on the real mixnet.
void mixnet_replies(Side& s, std::chrono::milliseconds timeout) {
  const RawChannel c = s.keypair(9), d = s.keypair(10);
  NextMessageBoxIndex n;
  n.message_box_index = c.first_index;
  auto next = s.client.call<NextMessageBoxIndexReply>(std::move(n));
  if (!next) throw std::runtime_error(s.name + ": next_message_box_index failed");
  const Bytes c1 = next->next_message_box_index;
  // sim_ops' encrypt helpers wait 5 s; kpclientd's MKEM takes longer on a loaded machine.
  auto encrypt_write = [&](const RawChannel& ch, const Bytes& index, const Bytes& plaintext) {
    EncryptWrite r;
    r.plaintext = plaintext;
    r.write_cap = ch.write_cap;
    r.message_box_index = index;
    auto reply = s.client.call<EncryptWriteReply>(std::move(r), timeout);
    if (!reply || reply->error_code != 0) throw std::runtime_error(s.name + ": encrypt_write failed");
    return Encrypted{std::move(reply->message_ciphertext), std::move(reply->envelope_descriptor), *reply->envelope_hash,
                     std::move(reply->next_message_box_index)};
  };
  auto encrypt_read = [&](const RawChannel& ch, const Bytes& index) {
    EncryptRead r;
    r.read_cap = ch.read_cap;
    r.message_box_index = index;
    auto reply = s.client.call<EncryptReadReply>(std::move(r), timeout);
    if (!reply || reply->error_code != 0) throw std::runtime_error(s.name + ": encrypt_read failed");
    return Encrypted{std::move(reply->message_ciphertext), std::move(reply->envelope_descriptor), *reply->envelope_hash,
                     std::move(reply->next_message_box_index)};
  };

  auto start = [&](StartResendingEncryptedMessage r) {
    const QueryId id = *r.query_id;
    s.client.send(Request{std::move(r)});
    return id;
  };
  // Replies come in any order; each is shaped as it arrives and recorded in request order.
  auto collect = [&](const std::vector<std::pair<std::string, QueryId>>& pending) {
    std::vector<std::optional<std::map<std::string, std::string>>> got(pending.size());
    const auto deadline = Clock::now() + timeout;
    for (std::size_t left = pending.size(); left > 0;) {
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (wait.count() <= 0) break;
      auto response = s.client.receive(wait);
      if (!response) break;
      if (!std::holds_alternative<StartResendingEncryptedMessageReply>(*response)) continue;
      for (std::size_t i = 0; i < pending.size(); ++i) {
        if (!got[i] && reply_query_id(*response) == pending[i].second) {
          got[i] = s.shaper.shape(s.client.last_body);
          std::cerr << s.name << ": " << pending[i].first << std::endl;
          --left;
        }
      }
    }
    for (std::size_t i = 0; i < pending.size(); ++i)
      s.shapes.emplace_back(pending[i].first, got[i] ? *got[i] : std::map<std::string, std::string>{{"<reply>", "none"}});
  };
  // Encrypt first, then send: an encrypt call's wait would set a write's early reply aside.
  auto first = write_request(c, encrypt_write(c, c.first_index, bytes_of("first")));
  auto tombstone = write_request(c, encrypt_write(c, c1, {}));
  auto unwritten = read_request(d, encrypt_read(d, d.first_index), d.first_index, true);
  std::vector<std::pair<std::string, QueryId>> phase1{{"write a fresh box", start(std::move(first))},
                                                      {"tombstone a fresh box", start(std::move(tombstone))},
                                                      {"read an unwritten box, no retry", start(std::move(unwritten))}};
  collect(phase1);
  auto again = write_request(c, encrypt_write(c, c.first_index, bytes_of("second")), true);
  auto tombstoned = read_request(c, encrypt_read(c, c1), c1, true);
  std::vector<std::pair<std::string, QueryId>> phase2{
      {"write other bytes to a written box, no idempotent", start(std::move(again))},
      {"read a tombstoned box", start(std::move(tombstoned))}};
  collect(phase2);
}

// Every geometry field by value: the sim must announce what kpclientd announces for the same
// Sphinx geometry (UserForwardPayloadLength 2000, as scripts/mixnet configures).
std::map<std::string, std::string> geometry_shape(const ConnectionStatusEvent& status) {
  std::map<std::string, std::string> out;
  if (const auto& p = status.pigeonhole_geometry) {
    out["MaxPlaintextPayloadLength"] = std::to_string(p->MaxPlaintextPayloadLength);
    out["CourierQueryReadLength"] = std::to_string(p->CourierQueryReadLength);
    out["CourierQueryWriteLength"] = std::to_string(p->CourierQueryWriteLength);
    out["CourierQueryReplyReadLength"] = std::to_string(p->CourierQueryReplyReadLength);
    out["CourierQueryReplyWriteLength"] = std::to_string(p->CourierQueryReplyWriteLength);
    out["NIKEName"] = p->NIKEName;
    out["SignatureSchemeName"] = p->SignatureSchemeName;
  }
  if (const auto& g = status.sphinx_geometry) {
    out["UserForwardPayloadLength"] = std::to_string(g->UserForwardPayloadLength);
    out["PacketLength"] = std::to_string(g->PacketLength);
    out["NrHops"] = std::to_string(g->NrHops);
  }
  return out;
}

// Compares the two sides label by label; prints every difference; returns the unexplained ones.
int compare(const Side& real, const Side& sim) {
  int unexplained = 0;
  if (real.shapes.size() != sim.shapes.size()) {
    std::cout << "MISMATCH number of replies: kpclientd " << real.shapes.size() << ", sim " << sim.shapes.size() << "\n";
    ++unexplained;
  }
  for (std::size_t i = 0; i < std::min(real.shapes.size(), sim.shapes.size()); ++i) {
    const auto& [label, r] = real.shapes[i];
    if (label != sim.shapes[i].first) {
      std::cout << "MISMATCH reply " << i << " is '" << label << "' from kpclientd, '" << sim.shapes[i].first << "' from the sim\n";
      return unexplained + 1;
    }
    const auto& s = sim.shapes[i].second;
    std::map<std::string, std::pair<std::string, std::string>> diffs;
    for (const auto& [k, v] : r)
      if (!s.count(k) || s.at(k) != v) diffs[k] = {v, s.count(k) ? s.at(k) : "<absent>"};
    for (const auto& [k, v] : s)
      if (!r.count(k)) diffs[k] = {"<absent>", v};
    for (const auto& [key, values] : diffs) {
      const Intended* why = nullptr;
      for (const Intended& in : kIntended)
        if (label.rfind(in.label_prefix, 0) == 0 && key == in.key) why = &in;
      std::cout << (why ? "intended " : "MISMATCH ") << label << ": " << key << ": kpclientd " << values.first
                << ", sim " << values.second;
      if (why) std::cout << " (" << why->reason << ")";
      std::cout << "\n";
      if (!why) ++unexplained;
    }
  }
  std::cout << real.shapes.size() << " replies compared, " << unexplained << " unexplained differences\n";
  return unexplained;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: kpthin_sim_diff THINCLIENT_TOML (the real kpclientd's)\n";
    return 2;
  }
  try {
    auto target = load_config(argv[1]);
    if (!target) throw std::runtime_error(target.status().message());
    SimProcess sim_process;
    Side real("kpclientd", *target), sim("sim", sim_process.target());
    for (Side* side : {&real, &sim}) {
      side->shapes.emplace_back("connection_status_event geometry", geometry_shape(side->client.status));
      const auto& g = side->client.status.pigeonhole_geometry;
      if (!g) throw std::runtime_error(side->name + " sent no Pigeonhole geometry");
      local_requests(*side, g->MaxPlaintextPayloadLength);
    }
    for (Side* side : {&real, &sim}) {
      try {
        mixnet_replies(*side, side == &real ? 240s : 10s);
      } catch (const std::exception& e) {
        side->shapes.emplace_back("mixnet replies", std::map<std::string, std::string>{{"<error>", e.what()}});
      }
    }
    if (std::getenv("KPTHIN_SIM_DIFF_VERBOSE")) {
      for (const auto& [label, shape] : real.shapes) {
        std::cout << label << ":";
        for (const auto& [k, v] : shape) std::cout << " " << k << "=" << v;
        std::cout << "\n";
      }
    }
    return compare(real, sim) == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cout << "sim_diff: " << e.what() << "\n";
    return 1;
  }
}
