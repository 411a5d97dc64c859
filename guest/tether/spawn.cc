#include "guest/tether/spawn.h"


#include <fcntl.h>
#include <grp.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/files.h"

namespace vic::tether {
namespace {

Result<std::string> prepareWorkdir(const std::string& workdir) {
  std::string dir = workdir.empty() ? "/" : workdir;
  struct stat st{};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return Error(Errc::kInvalidArgument, "mkdir " + dir + ": not a directory");
    return dir;
  }
  // docker creates a missing working directory
  std::string path;
  std::istringstream parts(dir);
  for (std::string part; std::getline(parts, part, '/');) {
    if (part.empty()) continue;
    path += "/" + part;
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return Error::fromErrno("mkdir " + path);
  }
  return dir;
}

std::vector<char*> cStrings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// In the child: never returns. Reports errno on `errFd` if exec fails.
[[noreturn]] void childExec(std::vector<std::string>& argv, const Identity& id, const std::string& exe,
                            std::vector<std::string>& env, const std::string& dir, int stdinFd, int outFd,
                            int errFd2, int slave, int errFd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s = 1; s < NSIG; ++s) signal(s, SIG_DFL);
  setsid();
  if (slave >= 0) {
    ioctl(slave, TIOCSCTTY, 0);
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
  } else {
    dup2(stdinFd, 0);
    dup2(outFd, 1);
    dup2(errFd2, 2);
  }
  int code = 0;
  if (chdir(dir.c_str()) != 0 ||
      setgroups(id.groups.size(), id.groups.data()) != 0 || setgid(id.gid) != 0 || setuid(id.uid) != 0) {
    code = errno;
  } else {
    auto cargv = cStrings(argv);
    auto cenv = cStrings(env);
    execve(exe.c_str(), cargv.data(), cenv.data());
    code = errno;
  }
  [[maybe_unused]] auto n = write(errFd, &code, sizeof code);
  _exit(127);
}

}  // namespace

Status setWindowSize(int ptyFd, uint16_t rows, uint16_t cols) {
  winsize ws{};
  ws.ws_row = rows;
  ws.ws_col = cols;
  if (ioctl(ptyFd, TIOCSWINSZ, &ws) != 0) return Error::fromErrno("resizing tty");
  return ok();
}

Result<Process> spawnSession(const vsock::SessionSpec& spec, const std::string& hostname, StartFailure& failure) {
  auto fail = [&](int code, const Error& e) {
    failure = {code, e.message()};
    return e;
  };
  auto id = resolveUser(spec.user, spec.groups, readFile("/etc/passwd"), readFile("/etc/group"));
  if (!id) return fail(126, id.error());
  auto env = buildEnv(spec, *id, hostname);
  if (spec.argv.empty()) return fail(127, Error(Errc::kInvalidArgument, "no command specified"));
  auto exe = lookPath(spec.argv[0], envValue(env, "PATH"));
  if (!exe) return fail(exitCodeFor(exe.error()), exe.error());
  auto dir = prepareWorkdir(spec.workdir);
  if (!dir) return fail(126, dir.error());

  Process p;
  int slave = -1;
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  if (spec.tty) {
    int master = -1;
    winsize ws{};
    ws.ws_row = spec.rows ? spec.rows : 24;
    ws.ws_col = spec.cols ? spec.cols : 80;
    if (openpty(&master, &slave, nullptr, nullptr, &ws) != 0) return fail(126, Error::fromErrno("openpty"));
    p.pty.reset(master);
    fcntl(master, F_SETFD, FD_CLOEXEC);
  } else {
    if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return fail(126, Error::fromErrno("pipe"));
    if (spec.openStdin) {
      if (pipe2(in, O_CLOEXEC) != 0) return fail(126, Error::fromErrno("pipe"));
    } else {
      in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    }
    p.stdoutR.reset(out[0]);
    p.stderrR.reset(err[0]);
    p.stdinW.reset(in[1]);
  }
  int errPipe[2];
  if (pipe2(errPipe, O_CLOEXEC) != 0) return fail(126, Error::fromErrno("pipe"));
  std::vector<std::string> argv = spec.argv;
  pid_t pid = fork();
  if (pid == 0) childExec(argv, *id, *exe, env, *dir, in[0], out[1], err[1], slave, errPipe[1]);
  for (int fd : {slave, in[0], out[1], err[1], errPipe[1]}) {
    if (fd >= 0) close(fd);
  }
  if (pid < 0) {
    close(errPipe[0]);
    return fail(126, Error::fromErrno("fork"));
  }
  int childErrno = 0;
  ssize_t n = read(errPipe[0], &childErrno, sizeof childErrno);  // EOF: exec succeeded
  close(errPipe[0]);
  if (n == sizeof childErrno) {
    int status = 0;
    waitpid(pid, &status, 0);
    std::string what = "exec: \"" + spec.argv[0] + "\": " + std::strerror(childErrno);
    return fail(childErrno == ENOENT ? 127 : 126, Error(Errc::kInvalidArgument, what));
  }
  p.pid = pid;
  for (int fd : {p.pty.get(), p.stdoutR.get(), p.stderrR.get(), p.stdinW.get()}) {
    if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  return p;
}

}  // namespace vic::tether
