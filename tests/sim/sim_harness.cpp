#include "sim_harness.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "kpthin/frame.hpp"

namespace kpsim_test {

using namespace kpthin;

namespace {

std::atomic<int> g_counter{0};

int connect_unix(const std::string& address) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  socklen_t length;
  if (!address.empty() && address[0] == '@') {
    std::memcpy(addr.sun_path + 1, address.data() + 1, address.size() - 1);
    length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size());
  } else {
    std::memcpy(addr.sun_path, address.data(), address.size());
    length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size() + 1);
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), length) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int connect_tcp(const std::string& address) {
  const auto colon = address.rfind(':');
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  if (::getaddrinfo(address.substr(0, colon).c_str(), address.substr(colon + 1).c_str(), &hints, &result) != 0) return -1;
  int fd = -1;
  for (addrinfo* ai = result; ai; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd >= 0 && ::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(result);
  return fd;
}

bool wait_readable(int fd, Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return false;
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(left)) > 0;
}

void write_all(int fd, const std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("write to simulator failed");
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

}  // namespace

QueryId fresh_query_id() {
  QueryId id{};
  randombytes_buf(id.data(), id.size());
  return id;
}

std::optional<QueryId> reply_query_id(const Response& response) { return response_query_id(response); }

SecretBytes seed_of(std::uint8_t byte) { return SecretBytes(Bytes(32, byte)); }

SimProcess::SimProcess(std::vector<std::string> extra_args) {
  const int n = g_counter++;
  const std::string tag = std::to_string(::getpid()) + "-" + std::to_string(n);
  control_path_ = "@kpsim-test-ctl-" + tag;
  stderr_path_ = "/tmp/kpsim-test-" + tag + ".log";
  std::vector<std::string> args = {KPSIM_BINARY, "--control", control_path_, "--log-level", "debug"};
  bool has_listen = false;
  for (const auto& a : extra_args) has_listen = has_listen || a == "-t" || a == "--listen-tcp" || a == "-u";
  if (!has_listen) {
    args.push_back("--listen-unix");
    args.push_back("@kpsim-test-" + tag);
  }
  args.insert(args.end(), extra_args.begin(), extra_args.end());

  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    const int err = ::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (err >= 0) ::dup2(err, STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  // Wait (bounded) for the one ready line.
  std::string line;
  const auto deadline = Clock::now() + 10s;
  while (line.find('\n') == std::string::npos) {
    if (!wait_readable(out[0], deadline)) break;
    char buf[256];
    const ssize_t got = ::read(out[0], buf, sizeof buf);
    if (got <= 0) break;
    line.append(buf, static_cast<std::size_t>(got));
  }
  ::close(out[0]);
  std::istringstream in(line);
  std::string word, kind, address;
  in >> word >> kind >> address;
  if (word != "ready") {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    throw std::runtime_error("simulator did not become ready: '" + line + "' " + stderr_text());
  }
  target_.kind = kind == "tcp" ? TransportKind::kTcp : TransportKind::kUnix;
  target_.address = address;
  target_.network = kind == "tcp" ? "tcp" : "";
}

SimProcess::~SimProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  ::unlink(stderr_path_.c_str());
}

std::string SimProcess::control(const std::string& command) {
  const int fd = connect_unix(control_path_);
  if (fd < 0) return "error cannot connect to control socket";
  const std::string line = command + "\n";
  write_all(fd, reinterpret_cast<const std::uint8_t*>(line.data()), line.size());
  std::string reply;
  const auto deadline = Clock::now() + 5s;
  while (reply.find('\n') == std::string::npos && wait_readable(fd, deadline)) {
    char buf[4096];
    const ssize_t got = ::read(fd, buf, sizeof buf);
    if (got <= 0) break;
    reply.append(buf, static_cast<std::size_t>(got));
  }
  ::close(fd);
  if (!reply.empty() && reply.back() == '\n') reply.pop_back();
  return reply;
}

std::uint64_t SimProcess::stat(const std::string& key) {
  std::istringstream in(control("stats"));
  std::string pair;
  while (in >> pair) {
    const auto eq = pair.find('=');
    if (eq != std::string::npos && pair.substr(0, eq) == key) return std::stoull(pair.substr(eq + 1), nullptr, 0);
  }
  return 0;
}

bool SimProcess::wait_stat(const std::string& key, std::uint64_t value, std::chrono::milliseconds deadline) {
  const auto until = Clock::now() + deadline;
  while (Clock::now() < until) {
    if (stat(key) >= value) return true;
    std::this_thread::sleep_for(10ms);  // polling interval, bounded by the deadline
  }
  return stat(key) >= value;
}

bool SimProcess::wait_stat_equal(const std::string& key, std::uint64_t value, std::chrono::milliseconds deadline) {
  const auto until = Clock::now() + deadline;
  while (Clock::now() < until) {
    if (stat(key) == value) return true;
    std::this_thread::sleep_for(10ms);  // polling interval, bounded by the deadline
  }
  return stat(key) == value;
}

int SimProcess::terminate(int signal, std::chrono::milliseconds deadline) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  const auto until = Clock::now() + deadline;
  while (Clock::now() < until) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(10ms);
  }
  return -1;
}

std::string SimProcess::stderr_text() const {
  std::ifstream in(stderr_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

RawClient::RawClient(const DialTarget& target) {
  fd_ = target.kind == TransportKind::kTcp ? connect_tcp(target.address) : connect_unix(target.address);
  if (fd_ < 0) throw std::runtime_error("cannot connect to the simulator at " + target.address);
}

RawClient::~RawClient() {
  if (fd_ >= 0) ::close(fd_);
}

void RawClient::handshake(const InstanceToken& token) {
  auto first = receive();
  if (!first || !std::holds_alternative<ConnectionStatusEvent>(*first)) throw std::runtime_error("no connection_status_event");
  status = std::get<ConnectionStatusEvent>(*first);
  auto second = receive();
  if (!second || !std::holds_alternative<NewPkiDocumentEvent>(*second)) throw std::runtime_error("no new_pki_document_event");
  pki = std::get<NewPkiDocumentEvent>(*second);
  send(SessionToken{token});
  while (true) {
    auto next = receive();
    if (!next) throw std::runtime_error("no session_token_reply");
    if (std::holds_alternative<SessionTokenReply>(*next)) {
      token_reply = std::get<SessionTokenReply>(*next);
      return;
    }
    early.push_back(std::move(*next));
  }
}

void RawClient::send(const Request& request, EnvelopeForm form) { send_raw(make_frame(encode_request(request, form))); }

void RawClient::send_raw(const Bytes& bytes) { write_all(fd_, bytes.data(), bytes.size()); }

std::optional<Response> RawClient::receive(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (buffer_.size() >= 4) {
      const std::size_t length = (std::size_t{buffer_[0]} << 24) | (std::size_t{buffer_[1]} << 16) |
                                 (std::size_t{buffer_[2]} << 8) | buffer_[3];
      if (buffer_.size() >= 4 + length) {
        Bytes body(buffer_.begin() + 4, buffer_.begin() + 4 + static_cast<std::ptrdiff_t>(length));
        buffer_.erase(buffer_.begin(), buffer_.begin() + 4 + static_cast<std::ptrdiff_t>(length));
        auto decoded = decode_response(body);
        if (!decoded.ok()) throw std::runtime_error("simulator sent an undecodable frame: " + decoded.status().message());
        last_body = std::move(body);
        return std::move(decoded.value());
      }
    }
    if (closed_ || !wait_readable(fd_, deadline)) return std::nullopt;
    std::uint8_t chunk[65536];
    const ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
    if (got <= 0) {
      closed_ = true;
      continue;
    }
    buffer_.insert(buffer_.end(), chunk, chunk + got);
  }
}

std::optional<Response> RawClient::receive_until(const std::function<bool(const Response&)>& match,
                                                 std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto next = receive(left);
    if (!next) return std::nullopt;
    if (match(*next)) return next;
    skipped.push_back(std::move(*next));
  }
}

RawChannel raw_keypair(RawClient& client, std::uint8_t seed_byte) {
  NewKeypair request;
  request.seed = seed_of(seed_byte);
  auto reply = client.call<NewKeypairReply>(std::move(request));
  if (!reply || reply->error_code != 0) throw std::runtime_error("new_keypair failed");
  return RawChannel{std::move(reply->write_cap), std::move(reply->read_cap), std::move(reply->first_message_index)};
}

}  // namespace kpsim_test
