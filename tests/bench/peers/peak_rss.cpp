// kpthin_peak_rss CMD ARGS...: runs CMD and, when it ends, writes "peak_rss_kib cpu_seconds" of
// CMD alone to the file named by $KPTHIN_PEAK_RSS_OUT; exits as CMD did.
//
// Why not ask wait4() in the benchmark harness: Linux counts the memory of the image a process
// replaces with execve() in its ru_maxrss, and a child started by Python (fork or vfork, then
// exec) inherits the harness's 15-20 MB that way. This launcher is small, and fork() gives the
// child a fresh maximum, so the figure is the command's own (plus this launcher's ~1 MB floor).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  const char* out_path = std::getenv("KPTHIN_PEAK_RSS_OUT");
  if (argc < 2 || out_path == nullptr) {
    std::fprintf(stderr, "usage: KPTHIN_PEAK_RSS_OUT=FILE kpthin_peak_rss CMD [ARGS...]\n");
    return 2;
  }
  const pid_t pid = ::fork();
  if (pid < 0) return 127;
  if (pid == 0) {
    ::execvp(argv[1], argv + 1);
    std::perror(argv[1]);
    _exit(127);
  }
  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, 0, &usage) < 0) {
  }
  if (FILE* out = std::fopen(out_path, "w")) {
    std::fprintf(out, "%ld %.6f\n", usage.ru_maxrss,
                 static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                     static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6);
    std::fclose(out);
  }
  if (WIFSIGNALED(status)) {
    std::signal(WTERMSIG(status), SIG_DFL);
    std::raise(WTERMSIG(status));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
