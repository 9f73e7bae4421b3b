"""The guard that stops ``ecometer run``'s command if ecometer itself dies (even by SIGKILL).

``ecometer run`` starts this as a separate small process (``python -I -S -c <this file>``,
in its own process group, so signals sent to ecometer's group do not reach it) and keeps
the write end of a pipe to it. It writes the command's process group id as one line once
the command runs, and ``done`` when it has finished with it. If the pipe closes without
``done``, ecometer died: the guard sends SIGTERM to the command's whole process group,
SIGKILL to what is left after ``grace`` seconds, and gives the terminal back to the group
ecometer ran in (when ecometer had handed it to the command). It imports only the
standard library, and nothing of ecometer.

Arguments: ``FD GRACE_S [TTY_PGRP]`` (the pipe's read end, the grace in seconds, and the
process group to give the controlling terminal back to, if any).
"""

from __future__ import annotations

import os
import signal
import sys
import time


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_group(pgid: int, grace_s: float) -> None:
    """SIGTERM to process group ``pgid``, then SIGKILL after ``grace_s`` seconds if any member is left."""
    try:
        os.killpg(pgid, signal.SIGTERM)
        os.killpg(pgid, signal.SIGCONT)  # a stopped member must run to act on SIGTERM
    except OSError:
        return
    end = time.monotonic() + grace_s
    while time.monotonic() < end:
        if not _alive(pgid):
            return
        time.sleep(0.05)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


def give_back_terminal(pgrp: int) -> None:
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return
    try:
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)
        os.tcsetpgrp(fd, pgrp)
    except OSError:
        pass
    finally:
        os.close(fd)


def main(argv: list[str]) -> int:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(signum, signal.SIG_IGN)  # only the pipe tells this guard to act
    fd, grace_s = int(argv[0]), float(argv[1])
    tty_pgrp = int(argv[2]) if len(argv) > 2 else None
    received = b""
    while True:
        try:
            chunk = os.read(fd, 256)
        except InterruptedError:
            continue
        except OSError:
            chunk = b""
        if not chunk:
            break
        received += chunk
    lines = received.decode("ascii", "replace").split()
    if "done" in lines:
        return 0
    groups = [int(x) for x in lines if x.isdigit()]
    if groups:
        sys.stderr.write(f"ecometer run: ecometer ended abruptly; stopping the command (process group {groups[-1]})\n")
        stop_group(groups[-1], grace_s)
    if tty_pgrp is not None:
        give_back_terminal(tty_pgrp)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
