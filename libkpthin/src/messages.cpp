#include "kpthin/messages.hpp"

#include "message_keys.hpp"

namespace kpthin {

namespace {

template <class Message>
std::optional<QueryId> query_id_of(const Message& message) {
  if constexpr (requires { message.query_id; }) {
    return message.query_id;
  } else {
    return std::nullopt;
  }
}

}  // namespace

const char* request_key(const Request& request) { return detail::kRequestKeys[request.index()]; }

std::optional<QueryId> request_query_id(const Request& request) {
  return std::visit([](const auto& m) { return query_id_of(m); }, request);
}

const char* response_key(const Response& response) { return detail::kResponseKeys[response.index()]; }

std::optional<QueryId> response_query_id(const Response& response) {
  return std::visit([](const auto& m) { return query_id_of(m); }, response);
}

}  // namespace kpthin
