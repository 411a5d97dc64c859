#include "common/process.h"

#include <poll.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/unique_fd.h"

extern char** environ;

namespace vic {

namespace {
std::vector<char*> cArgs(const std::vector<std::string>& argv) {  // NULL-terminated, for posix_spawnp
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  return args;
}
}  // namespace

Result<ProcessResult> runProcess(const std::vector<std::string>& argv) {
  if (argv.empty()) return Error(Errc::kInvalidArgument, "no program to run");
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return Error::fromErrno("pipe");
  UniqueFd outR(out[0]), outW(out[1]), errR(err[0]), errW(err[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, outW.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, errW.get(), 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  auto args = cArgs(argv);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return Error::fromErrno("running " + argv[0], rc);
  outW.reset();
  errW.reset();
  ProcessResult r;
  pollfd fds[2] = {{outR.get(), POLLIN, 0}, {errR.get(), POLLIN, 0}};
  int open = 2;
  char buf[8192];
  while (open > 0) {
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        fds[i].fd = -1;
        --open;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

Result<std::string> runChecked(const std::vector<std::string>& argv, const std::string& what) {
  auto r = runProcess(argv);
  if (!r) return std::move(r).error().wrap(what);
  if (r->exitCode != 0) {
    std::string msg = r->err.empty() ? r->out : r->err;
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    return Error(Errc::kIo, what + ": " + argv[0] + " exited with " + std::to_string(r->exitCode) + ": " + msg);
  }
  return std::move(r->out);
}

Result<pid_t> spawnProcess(const std::vector<std::string>& argv, const std::string& logFile) {
  if (argv.empty()) return Error(Errc::kInvalidArgument, "no program to run");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, logFile.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  auto args = cArgs(argv);
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return Error::fromErrno("running " + argv[0], rc);
  return pid;
}

namespace {

// The grandchild of spawnDetached: stdio in place, every other descriptor closed on exec but
// `report`, where an exec failure's errno goes.
[[noreturn]] void execDaemon(char* const* args, int in, int log, int report) {
  if (::dup2(in, 0) < 0 || ::dup2(log, 1) < 0 || ::dup2(log, 2) < 0) {
    int e = errno;
    (void)!::write(report, &e, sizeof e);
    ::_exit(127);
  }
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  ::execvp(args[0], args);
  int e = errno;
  (void)!::write(report, &e, sizeof e);
  ::_exit(127);
}

}  // namespace

// fork, setsid, fork: the daemon belongs to no shell and no session of ours. Everything the
// children need is made before the fork, so they only call async-signal-safe functions.
Status spawnDetached(const std::vector<std::string>& argv, const std::string& logFile) {
  if (argv.empty()) return Error(Errc::kInvalidArgument, "no program to run");
  UniqueFd in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  UniqueFd log(::open(logFile.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!in || !log) return Error::fromErrno("opening " + std::string(in ? logFile : "/dev/null") + " for " + argv[0]);
  int pipe[2];
  if (::pipe2(pipe, O_CLOEXEC) != 0) return Error::fromErrno("pipe");
  UniqueFd reportR(pipe[0]), reportW(pipe[1]);
  auto args = cArgs(argv);
  pid_t child = ::fork();
  if (child < 0) return Error::fromErrno("fork");
  if (child == 0) {
    ::setsid();
    pid_t daemon = ::fork();
    if (daemon == 0) execDaemon(args.data(), in.get(), log.get(), reportW.get());
    ::_exit(daemon < 0 ? 127 : 0);
  }
  reportW.reset();
  int intermediate = waitExit(child);
  int err = 0;
  ssize_t n;
  while ((n = ::read(reportR.get(), &err, sizeof err)) < 0 && errno == EINTR) {}
  if (n == sizeof err) return Error::fromErrno("running " + argv[0], err);
  if (intermediate != 0) return Error(Errc::kIo, "starting " + argv[0] + ": fork failed");
  return ok();
}

namespace {
int exitCodeOf(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }
}  // namespace

int waitExit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return exitCodeOf(status);
}

std::optional<int> tryWaitExit(pid_t pid) {
  int status = 0;
  pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == pid) return exitCodeOf(status);
  if (r < 0 && errno == ECHILD) return -1;
  return std::nullopt;
}

}  // namespace vic
