#!/usr/bin/env python3
"""Drives a command through a pseudo-terminal like a person at a terminal would.

usage: pty_drive.py ROWS COLS SCRIPT -- COMMAND...
SCRIPT is a list of steps separated by ';;': 'send TEXT' (backslash escapes such as \\r and \\x10 understood), 'expect TEXT'
(waits up to 60 s for TEXT in the output), 'resize ROWS COLS' (sets the window size and sends
SIGWINCH, as a terminal does). Prints everything the command wrote, then exits with its status.
"""
import codecs, fcntl, os, pty, select, signal, struct, sys, termios, time

def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))

def main():
    rows, cols, script = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    cmd = sys.argv[sys.argv.index('--') + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    set_size(fd, rows, cols)
    seen = b''

    def pump(timeout):
        nonlocal seen
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            return True
        try:
            data = os.read(fd, 4096)
        except OSError:
            return False
        if not data:
            return False
        seen += data
        return True

    for step in filter(None, (s.strip() for s in script.split(';;'))):
        verb, _, arg = step.partition(' ')
        if verb == 'send':
            os.write(fd, codecs.decode(arg, 'unicode_escape').encode('latin-1'))
        elif verb == 'expect':
            deadline = time.time() + 60
            while arg.encode() not in seen:
                if time.time() > deadline or not pump(0.2):
                    sys.stdout.write(seen.decode(errors='replace'))
                    sys.exit(f'pty_drive: did not see {arg!r}')
        elif verb == 'resize':
            r, c = arg.split()
            set_size(fd, int(r), int(c))
            os.kill(pid, signal.SIGWINCH)
        elif verb == 'sleep':
            end = time.time() + float(arg)
            while time.time() < end and pump(0.1):
                pass
    deadline = time.time() + 60
    while time.time() < deadline and pump(0.5):
        pass
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(seen.decode(errors='replace'))
    sys.exit(os.waitstatus_to_exitcode(status))

main()
