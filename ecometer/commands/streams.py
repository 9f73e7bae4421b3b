"""Standard streams a caller closed (``ecometer run ... 2>&-``): reopened on the null device.

A process started with descriptor 0, 1 or 2 closed has ``sys.stderr`` (or stdout, stdin) set
to None by Python, so every message would raise; and the next file it opens would take that
descriptor, so its own messages, or a command it runs, would write into that file. As shells
and daemons do, each closed standard descriptor is opened on ``os.devnull`` before anything
else: what would go there is discarded, as the caller asked, and nothing else is disturbed.
"""

from __future__ import annotations

import os
import sys

_STREAMS = ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w"))


def ensure_standard_streams() -> list[int]:
    """Open each closed standard descriptor on the null device (and give ``sys`` a stream for it);
    returns the descriptors that were closed."""
    closed = []
    for fd, name, mode in _STREAMS:
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            os.set_inheritable(fd, True)  # os.open makes close-on-exec descriptors: the command must get it
            closed.append(fd)
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, mode, encoding="utf-8", errors="backslashreplace", closefd=False))  # noqa: SIM115
    return closed
