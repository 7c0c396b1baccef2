#include "copy_stream.hpp"

#include "box_pipeline.hpp"
#include "exit_codes.hpp"
#include "interrupt.hpp"
#include "output.hpp"
#include "progress.hpp"

namespace kpthin::cli {

TempChannel new_temp_channel(Session& session) {
  SecretBytes seed = random_seed();
  Result<Keypair> keypair =
      session.retrying([&] { return session.pigeonhole().new_keypair(seed, session.local_timeout()); });
  if (!keypair) fail_status(keypair.status(), "creating the temporary channel for the copy");
  return {keypair->write_cap, keypair->first_message_index};
}

void write_copy_stream(Session& session, const SecretBytes& temp_write_cap, Bytes index,
                       const std::vector<Bytes>& elements, std::size_t first,
                       const std::function<void(std::size_t, const Bytes&)>& on_progress) {
  BoxWriter writer(session, temp_write_cap, std::move(index), ResendOptions{});
  writer.what = "writing the copy stream";
  Progress progress("copy stream boxes", elements.size());
  writer.on_confirmed = [&](const Bytes& next_index, std::uint64_t count) {
    progress.update(first + count);
    on_progress(first + static_cast<std::size_t>(count), next_index);
  };
  for (std::size_t i = first; i < elements.size(); ++i) writer.write(view(elements[i]));
  writer.finish();
}

void run_copy_command(Session& session, const SecretBytes& temp_write_cap) {
  ResendOptions options;
  options.interrupt = &cancel_flag();
  info("asking the courier to copy the stream");
  Status status = session.retrying([&] {
    return session.pigeonhole().start_resending_copy_command(temp_write_cap, std::nullopt, options,
                                                             session.wait_timeout());
  });
  if (status.ok()) return;
  ExitCode code = exit_code_for(status);
  if (code == ExitCode::kTimeout || code == ExitCode::kInterrupted || code == ExitCode::kDaemonUnreachable) {
    fail_status(status, "the copy command did not finish");
  }
  info("the courier's copy failed: " + status.message() + " (detail of the failure below)");
  fail(ExitCode::kCopyFailed, "the courier's copy failed, nothing was written to the destination: " +
                                  user_reason(status) + "; check the destination position (a box already written?)");
}

}  // namespace kpthin::cli
