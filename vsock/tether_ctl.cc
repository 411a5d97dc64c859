// tether-ctl: a debug client for the tether protocol, for humans and tests.
//
//   tether-ctl [--connect ENDPOINT] ping | ls | wait ID | kill ID SIGNAL | stat PATH
//   tether-ctl [--connect ENDPOINT] resize ID ROWS COLS
//   tether-ctl [--connect ENDPOINT] run|exec [-i] [-t] [--id ID] [--block] [-e K=V]... [-w DIR]
//              [-u USER] [--size ROWSxCOLS] [--resize-after MS:ROWSxCOLS] -- ARGV...
//   tether-ctl [--connect ENDPOINT] attach [--block] ID
//   tether-ctl [--connect ENDPOINT] cp-out PATH > x.tar | cp-in DIR < x.tar
//   tether-ctl log FILE      decode a persistent output log: stdout, stderr, then "exit N"
//
// ENDPOINT: unix:<path> (a containerVM's tether port socket), vsock:<cid>:<port>; default
// $TETHER_CTL_ENDPOINT. run/exec/attach stream stdio and exit with the session's exit code.
#include <unistd.h>

#include <csignal>
#include <iostream>
#include <fstream>
#include <map>

#include "vsock/codec.h"
#include "vsock/host_connection.h"
#include "vsock/log_record.h"

namespace {

using namespace vic;
using namespace vic::vsock;

struct Args {
  std::string endpoint;
  std::string command;
  bool stdinOpen = false, tty = false, block = false;
  std::string id, workdir, user;
  std::vector<std::string> env;
  uint16_t rows = 0, cols = 0;
  int resizeAfterMs = 0;  // tests: resize the session's tty this long after it starts
  uint16_t resizeRows = 0, resizeCols = 0;
  std::vector<std::string> rest;
};

void parseSize(const std::string& v, uint16_t& rows, uint16_t& cols) {
  rows = static_cast<uint16_t>(std::atoi(v.c_str()));
  cols = static_cast<uint16_t>(std::atoi(v.substr(v.find('x') + 1).c_str()));
}

Result<Args> parseArgs(int argc, char** argv) {
  Args a;
  if (const char* env = std::getenv("TETHER_CTL_ENDPOINT")) a.endpoint = env;
  int i = 1;
  for (; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "--connect" && i + 1 < argc) a.endpoint = argv[++i];
    else if (s == "-i") a.stdinOpen = true;
    else if (s == "-t") a.tty = true;
    else if (s == "--block") a.block = true;
    else if (s == "--id" && i + 1 < argc) a.id = argv[++i];
    else if (s == "-e" && i + 1 < argc) a.env.emplace_back(argv[++i]);
    else if (s == "-w" && i + 1 < argc) a.workdir = argv[++i];
    else if (s == "-u" && i + 1 < argc) a.user = argv[++i];
    else if (s == "--size" && i + 1 < argc) parseSize(argv[++i], a.rows, a.cols);
    else if (s == "--resize-after" && i + 1 < argc) {
      std::string v = argv[++i];
      a.resizeAfterMs = std::atoi(v.c_str());
      parseSize(v.substr(v.find(':') + 1), a.resizeRows, a.resizeCols);
    }
    else if (s == "--") { ++i; break; }
    else if (a.command.empty()) a.command = s;
    else a.rest.push_back(s);
  }
  for (; i < argc; ++i) a.rest.emplace_back(argv[i]);
  if (a.command.empty()) return Error(Errc::kInvalidArgument, "no command (ping, ls, run, exec, attach, wait, kill, stat)");
  if (a.endpoint.empty() && a.command != "log") return Error(Errc::kInvalidArgument, "no endpoint: use --connect or TETHER_CTL_ENDPOINT");
  return a;
}

void writeAll(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w <= 0) return;
    p += w;
    n -= static_cast<size_t>(w);
  }
}

asio::awaitable<void> copyOut(TetherConnection::Ptr c, ChannelId ch, int fd) {
  std::vector<uint8_t> buf(64 * 1024);
  while (true) {
    auto n = co_await c->read(ch, buf);
    if (!n || *n == 0) co_return;
    writeAll(fd, buf.data(), *n);
  }
}

// Copies our stdin to the session. Regular files cannot be polled, so they are read directly.
asio::awaitable<void> copyIn(TetherConnection::Ptr c, ChannelId ch) {
  std::vector<uint8_t> buf(64 * 1024);
  auto ex = co_await asio::this_coro::executor;
  asio::posix::stream_descriptor in(ex, ::dup(0));
  bool pollable = true;
  while (true) {
    size_t n = 0;
    if (pollable) {
      auto [ec, got] = co_await in.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
      if (ec == asio::error::operation_not_supported || ec.value() == EPERM) {
        pollable = false;
        continue;
      }
      if (ec) break;
      n = got;
    } else {
      ssize_t r = ::read(0, buf.data(), buf.size());
      if (r <= 0) break;
      n = static_cast<size_t>(r);
    }
    if (!co_await c->write(ch, std::span(buf.data(), n))) co_return;
  }
  c->closeWrite(ch);
}

asio::awaitable<int> exitOf(TetherConnection::Ptr c, const std::string& id) {
  Request wait = Wait{id};
  auto w = co_await c->call(wait);
  if (!w) {
    std::cerr << "tether-ctl: wait: " << w.error().message() << "\n";
    co_return 125;
  }
  auto& e = std::get<ExitStatus>(*w);
  if (!e.error.empty()) std::cerr << e.error << "\n";
  co_return e.exitCode;
}

asio::awaitable<int> streamSession(TetherConnection::Ptr c, const Args& a, bool exec, bool attach) {
  ChannelSet chs;
  chs.stdoutCh = *c->openChannel();
  if (!a.tty) chs.stderrCh = *c->openChannel();
  if (a.stdinOpen) chs.stdinCh = *c->openChannel();
  std::string id = a.id.empty() ? (attach && !a.rest.empty() ? a.rest[0] : exec ? "exec" : "main") : a.id;
  SessionSpec spec;
  spec.id = id;
  spec.argv = a.rest;
  spec.tty = a.tty;
  spec.openStdin = a.stdinOpen;
  spec.stdinOnce = a.stdinOpen;
  spec.runBlock = a.block;
  spec.env = a.env;
  spec.workdir = a.workdir;
  spec.user = a.user;
  spec.rows = a.rows;
  spec.cols = a.cols;
  Request req = attach ? Request(Attach{id, chs}) : exec ? Request(Exec{spec, chs}) : Request(Launch{spec, chs});
  Request unblock = Unblock{id};
  auto r = co_await c->call(req);
  if (!r) {
    std::cerr << "tether-ctl: " << r.error().message() << "\n";
    co_return 125;
  }
  if (a.block) (void)co_await c->call(unblock);
  auto ex = co_await asio::this_coro::executor;
  if (chs.stdinCh) asio::co_spawn(ex, copyIn(c, chs.stdinCh), asio::detached);
  if (chs.stderrCh) asio::co_spawn(ex, copyOut(c, chs.stderrCh, 2), asio::detached);
  if (a.resizeAfterMs > 0) {
    asio::co_spawn(ex, [c, id, a]() -> asio::awaitable<void> {
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(a.resizeAfterMs));
      co_await t.async_wait(asio::use_awaitable);
      Request resize = Resize{id, a.resizeRows, a.resizeCols};
      auto resized = co_await c->call(resize);
      if (!resized) std::cerr << "tether-ctl: resize: " << resized.error().message() << "\n";
    }, asio::detached);
  }
  co_await copyOut(c, chs.stdoutCh, 1);
  co_return co_await exitOf(c, id);
}

// Streams a tar between our stdio and the container while the request is outstanding.
asio::awaitable<int> copyFiles(TetherConnection::Ptr c, bool out, const std::string& path) {
  auto ch = c->openChannel();
  if (!ch) co_return 1;
  Request req = out ? Request(ReadFiles{path, *ch}) : Request(WriteFiles{path, *ch});
  auto ex = co_await asio::this_coro::executor;
  auto finished = std::make_shared<bool>(false);
  if (out) {
    asio::co_spawn(ex, [c, ch = *ch, finished]() -> asio::awaitable<void> {
      co_await copyOut(c, ch, 1);
      *finished = true;
    }, asio::detached);
  } else {
    asio::co_spawn(ex, copyIn(c, *ch), asio::detached);
    *finished = true;
  }
  auto r = co_await c->call(req);
  while (r && !*finished && c->alive()) {  // the end of stream precedes the response; let it drain
    asio::steady_timer t(ex, std::chrono::milliseconds(5));
    co_await t.async_wait(asio::use_awaitable);
  }
  if (!r) {
    std::cerr << "tether-ctl: " << r.error().message() << "\n";
    co_return 1;
  }
  co_return 0;
}

asio::awaitable<int> runCommand(const Args& a) {
  auto ep = parseEndpoint(a.endpoint);
  if (!ep) {
    std::cerr << "tether-ctl: " << ep.error().message() << "\n";
    co_return 2;
  }
  auto conn = co_await TetherConnection::connect(*ep);
  if (!conn) {
    std::cerr << "tether-ctl: " << conn.error().message() << "\n";
    co_return 1;
  }
  auto c = *conn;
  int rc = 0;
  if (a.command == "ping") {
    Request ping = Ping{};
    auto r = co_await c->call(ping);
    if (r) std::cout << "protocol " << std::get<PingResult>(*r).protocol << " tether "
                     << std::get<PingResult>(*r).tetherVersion << "\n";
    else rc = (std::cerr << "tether-ctl: " << r.error().message() << "\n", 1);
  } else if (a.command == "ls") {
    Request ls = ListSessions{};
    auto r = co_await c->call(ls);
    if (!r) rc = (std::cerr << "tether-ctl: " << r.error().message() << "\n", 1);
    else for (auto& s : std::get<SessionList>(*r).sessions) {
      std::cout << s.id << "\t" << (s.running ? "running" : "exited")
                << (s.exit ? "\t" + std::to_string(s.exit->exitCode) : "") << "\n";
    }
  } else if (a.command == "run" || a.command == "exec" || a.command == "attach") {
    rc = co_await streamSession(c, a, a.command == "exec", a.command == "attach");
  } else if (a.command == "wait" && a.rest.size() == 1) {
    rc = co_await exitOf(c, a.rest[0]);
    std::cout << rc << "\n";
    rc = 0;
  } else if (a.command == "kill" && a.rest.size() == 2) {
    Request sig = Signal{a.rest[0], std::atoi(a.rest[1].c_str())};
    auto r = co_await c->call(sig);
    if (!r) rc = (std::cerr << "tether-ctl: " << r.error().message() << "\n", 1);
  } else if ((a.command == "cp-out" || a.command == "cp-in") && a.rest.size() == 1) {
    rc = co_await copyFiles(c, a.command == "cp-out", a.rest[0]);
  } else if (a.command == "resize" && a.rest.size() == 3) {
    Request resize = Resize{a.rest[0], static_cast<uint16_t>(std::atoi(a.rest[1].c_str())),
                            static_cast<uint16_t>(std::atoi(a.rest[2].c_str()))};
    auto r = co_await c->call(resize);
    if (!r) rc = (std::cerr << "tether-ctl: " << r.error().message() << "\n", 1);
  } else if (a.command == "stat" && a.rest.size() == 1) {
    Request stat = Stat{a.rest[0]};
    auto r = co_await c->call(stat);
    if (!r) rc = (std::cerr << "tether-ctl: " << r.error().message() << "\n", 1);
    else {
      auto& st = std::get<FileStat>(*r);
      std::cout << st.name << " size=" << st.size << " mode=" << std::oct << st.mode << std::dec << "\n";
    }
  } else {
    std::cerr << "tether-ctl: bad command or arguments: " << a.command << "\n";
    rc = 2;
  }
  c->shutdown();
  co_return rc;
}

}  // namespace

// Decodes a persistent output log file (no connection needed).
int dumpLog(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "tether-ctl: cannot open " << path << "\n";
    return 1;
  }
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto parsed = parseLog(bytes);
  for (const auto& r : parsed.records) {
    auto* p = reinterpret_cast<const uint8_t*>(r.data.data());
    if (r.kind == LogKind::kStdout) writeAll(1, p, r.data.size());
    if (r.kind == LogKind::kStderr) writeAll(2, p, r.data.size());
    if (r.kind == LogKind::kExit) {
      auto e = decodeExitStatus(r.data);
      std::cerr << "exit " << (e ? std::to_string(e->exitCode) : "?")
                << (e && !e->error.empty() ? ": " + e->error : "") << "\n";
    }
  }
  return 0;
}

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  auto args = parseArgs(argc, argv);
  if (!args) {
    std::cerr << "tether-ctl: " << args.error().message() << "\n";
    return 2;
  }
  if (args->command == "log") return args->rest.size() == 1 ? dumpLog(args->rest[0]) : 2;
  asio::io_context io;
  int rc = 1;
  asio::co_spawn(io, runCommand(*args), [&](std::exception_ptr e, int r) {
    rc = e ? 1 : r;
    io.stop();
  });
  io.run();
  return rc;
}
