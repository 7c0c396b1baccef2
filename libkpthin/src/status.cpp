#include "kpthin/status.hpp"

namespace kpthin {

std::string Status::message() const {
  if (ok()) return context_.empty() ? "ok" : context_;
  std::string text = code_.message();
  if (context_.empty()) return text;
  return context_ + ": " + text;
}

}  // namespace kpthin
