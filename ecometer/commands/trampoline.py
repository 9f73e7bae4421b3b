"""The first moments of ``ecometer run``'s command: a fresh interpreter that prepares, then execs it.

ecometer runs threads (the sampler, the work-file reader...) when it starts the command, and a
child forked from a process with threads may run nothing but async-signal-safe calls before
``exec``: Python code there (``preexec_fn``) can hang on a lock another thread held at the fork
(one run in four under libfaketime). So the command is started with ``subprocess.Popen``'s
own C code (new process group by ``process_group=0``, no Python in the forked child), as a
small fresh interpreter (``python -I -S -c <this file>``, standard library only, nothing of
ecometer) that then:

* asks the kernel for a parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGTERM)``, Linux) and
  ends at once if ecometer is already gone;
* makes its process group the terminal's foreground group when ecometer handed it one;
* restores the signal dispositions Python changed (SIGPIPE, SIGXFSZ ignored; SIGINT) to default;
* execs the command (same process: same pid and process group). A file the kernel cannot
  exec (``ENOEXEC``: a script without ``#!``) is run by ``/bin/sh``, as a shell does (not a binary
  for another machine: that stays an error, exit 126). Any other
  failure is written (its errno, as text) to the error pipe, closed on a successful exec, so
  that ecometer reports "command not found" exactly as before.

Arguments: ``ERR_FD PARENT_PID TTY_FD|- EXECUTABLE ARG0 ARGS...``.
"""

from __future__ import annotations

import errno
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def parent_death_signal(parent: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # ecometer died before the line above
        os.kill(os.getpid(), signal.SIGKILL)


def take_terminal(fd: int) -> None:
    old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.tcsetpgrp(fd, os.getpgrp())
    except OSError:
        pass
    finally:
        signal.signal(signal.SIGTTOU, old)


def looks_binary(path: str) -> bool:
    """A NUL byte in the first 80 bytes: a program for another machine, not a script (bash's test)."""
    try:
        with open(path, "rb") as fh:
            return b"\0" in fh.read(80)
    except OSError:
        return True


def exec_command(err_fd: int, executable: str, argv: list[str]) -> None:
    """Exec ``argv`` from ``executable``; ENOEXEC: through /bin/sh; other errors: errno to ``err_fd``."""
    try:
        os.execv(executable, argv)
    except OSError as exc:
        if exc.errno == errno.ENOEXEC and not looks_binary(executable):
            try:
                os.execv("/bin/sh", ["/bin/sh", executable, *argv[1:]])
            except OSError as again:
                exc = again
        os.write(err_fd, str(exc.errno or errno.EIO).encode("ascii"))
        os._exit(127)


def main(args: list[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    err_fd, parent, tty = int(args[0]), int(args[1]), args[2]
    os.set_inheritable(err_fd, False)  # closed by a successful exec: ecometer then reads end-of-file
    parent_death_signal(parent)
    if tty != "-":
        take_terminal(int(tty))
    for name in ("SIGPIPE", "SIGXFSZ"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    exec_command(err_fd, args[3], args[4:])


if __name__ == "__main__":
    main(sys.argv[1:])
