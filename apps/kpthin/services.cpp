// kpthin services: the services of the current PKI document (name, node, queue).
#include "exit_codes.hpp"
#include "global_options.hpp"
#include "output.hpp"
#include "pki_wait.hpp"
#include "session.hpp"

namespace kpthin::cli {
namespace {

struct ServicesOptions {
  std::string name;
};

void run_services(const ServicesOptions& opt, const GlobalOptions& global) {
  Session session(global);
  PkiDocument document = current_pki_document(session);
  std::vector<ServiceInfo> services = opt.name.empty() ? document.all_services() : document.services(opt.name);
  if (services.empty() && !opt.name.empty()) find_service(document, opt.name, "; name one of them, or none to list all");  // throws
  std::string table;
  for (const ServiceInfo& s : services) {
    if (global.json) {
      write_json_line({{"service", s.name},
                       {"node", s.node},
                       {"queue", printable_queue_id(view(s.queue_id))},
                       {"destination_hash", to_hex(view(s.destination_hash))},
                       {"epoch", document.epoch}});
    } else {
      table += s.name + "\t" + s.node + "\t" + printable_queue_id(view(s.queue_id)) + "\n";
    }
  }
  if (!global.json) write_stdout(table);
  info(std::to_string(services.size()) + " service(s) in the PKI document of epoch " + std::to_string(document.epoch));
}

}  // namespace

Command add_services_command(CLI::App& app, const GlobalOptions& global) {
  auto opt = std::make_shared<ServicesOptions>();
  CLI::App* sub = app.add_subcommand("services", "List the services in the current PKI document");
  sub->add_option("NAME", opt->name, "only this service (e.g. echo, courier)");
  sub->footer(R"(Output: one line per service: NAME<TAB>NODE<TAB>QUEUE.

Examples:
  kpthin services
  kpthin --json services courier)");
  return {sub, [opt, &global] { run_services(*opt, global); }};
}

}  // namespace kpthin::cli
