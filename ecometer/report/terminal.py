"""A live status line that owns its row of the terminal, beside a command that writes to it.

``ecometer run`` shows power, energy and water on one line while the metered command runs,
and the command writes to the same terminal. So that neither smears the other:

* the command's stdout and stderr go to a pseudo-terminal of their own (:class:`OutputRelay`;
  the command still sees a terminal, of the same size, and keeps the real one as stdin), whose
  output ecometer copies to the real terminal;
* before each piece of the command's output the status line is erased (``\\r\\x1b[K``), and it
  is drawn again only when the command's cursor is at the start of a line (never after a
  partial line such as a progress bar's);
* the line is cut to the terminal's width (less one column, so it never wraps).

The line is only shown when both stdout and stderr are terminals (:func:`wanted`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import sys
import threading
import time

log = logging.getLogger("ecometer.measuring.run")

ERASE = "\r\x1b[K"  #: back to column 0, erase to the end of the line
_READ = 65536  # bytes read from the command's terminal at once
_DRAIN_IDLE_S = 0.2  # after the command ended: stop copying once its terminal is quiet this long
_SIZE_EVERY_S = 0.5  # how often the real terminal's size is copied to the command's


def wanted() -> bool:
    """True when a live line belongs on this terminal: stdout and stderr are both terminals."""
    try:
        return os.isatty(sys.stdout.fileno()) and os.isatty(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        return False


def fit(text: str, columns: int) -> str:
    """``text`` cut to at most ``columns - 1`` characters (an ellipsis marks the cut)."""
    room = max(columns - 1, 1)
    return text if len(text) <= room else text[: room - 1] + "…"


def columns(fd: int, default: int = 80) -> int:
    """The width of the terminal on ``fd`` in columns (``default`` when it cannot be read)."""
    try:
        return os.get_terminal_size(fd).columns or default
    except OSError:
        return default


class LiveLine:
    """The status row on the terminal ``fd``: :meth:`show` a status, :meth:`passthrough` the
    command's output (the status erased first, drawn again after a complete line), :meth:`close`."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._lock = threading.Lock()
        self._status: str | None = None  # the latest status asked for
        self._drawn = False  # the status is on the screen now
        self._line_start = True  # the command's cursor is at column 0

    def show(self, status: str) -> None:
        """Draw ``status`` (cut to the terminal's width) unless the command left a partial line."""
        with self._lock:
            self._status = status
            if self._line_start:
                self._draw()

    def passthrough(self, data: bytes) -> None:
        """Copy the command's ``data`` to the terminal, the status erased before and redrawn after."""
        if not data:
            return
        with self._lock:
            shown = self._drawn
            if shown:
                self._write(ERASE.encode())
                self._drawn = False
            self._write(data)
            self._line_start = data.endswith((b"\n", b"\r"))
            if shown and self._line_start:
                self._draw()

    def say(self, message: str) -> None:
        """A line of ecometer's own above the status (the status erased first, drawn again after)."""
        with self._lock:
            shown = self._drawn
            if shown:
                self._write(ERASE.encode())
                self._drawn = False
            self._write((("" if self._line_start else "\n") + message + "\n").encode("utf-8", "replace"))
            self._line_start = True
            if shown:
                self._draw()

    def close(self) -> None:
        """Erase the status and end a partial line of the command's, so what follows starts a line."""
        with self._lock:
            if self._drawn:
                self._write(ERASE.encode())
                self._drawn = False
            if not self._line_start:
                self._write(b"\n")
                self._line_start = True
            self._status = None

    def _draw(self) -> None:
        if self._status is None:
            return
        self._write((ERASE + fit(self._status, columns(self.fd))).encode("utf-8", "replace"))
        self._drawn = True

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(self.fd, view)
            except InterruptedError:
                continue
            except OSError as exc:  # the terminal went away: nothing more to show
                log.debug("live line: cannot write to the terminal (%s)", exc)
                return
            view = view[written:]


class OutputRelay:
    """A pseudo-terminal for the command's stdout and stderr, copied through ``line``.

    :attr:`slave` is the descriptor to give the command (closed here by :meth:`started`);
    a thread copies what the command writes, and follows the real terminal's size.
    """

    def __init__(self, line: LiveLine) -> None:
        import pty

        self.line = line
        self.master, self.slave = pty.openpty()
        self._size: bytes | None = None
        self._follow_size()
        _raw_output(self.slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ecometer-output", daemon=True)
        self._thread.start()

    def started(self) -> None:
        """The command has its copy of the terminal: close ours (its end then marks the end of output)."""
        if self.slave >= 0:
            os.close(self.slave)
            self.slave = -1

    def _loop(self) -> None:
        next_size = time.monotonic() + _SIZE_EVERY_S
        while True:
            idle = _DRAIN_IDLE_S if self._stop.is_set() else _SIZE_EVERY_S
            try:
                ready = select.select([self.master], [], [], idle)[0]
                data = os.read(self.master, _READ) if ready else None
            except OSError:  # every copy of the other end is closed
                return
            if data is None and self._stop.is_set():
                return
            if time.monotonic() >= next_size:  # also while the command writes without a pause
                self._follow_size()
                next_size = time.monotonic() + _SIZE_EVERY_S
            if data is None:
                continue
            if not data:
                return
            self.line.passthrough(data)

    def _follow_size(self) -> None:
        """Give the command's terminal the real terminal's size (when it changed)."""
        import fcntl
        import termios

        try:
            size = fcntl.ioctl(self.line.fd, termios.TIOCGWINSZ, b"\0" * 8)
            if size != self._size:
                fcntl.ioctl(self.master, termios.TIOCSWINSZ, size)
                self._size = size
        except OSError as exc:
            log.debug("live line: cannot copy the terminal's size (%s)", exc)

    def close(self) -> None:
        """After the command ended: copy what is left of its output, then close its terminal."""
        self.started()
        self._stop.set()
        self._thread.join(timeout=5.0)
        with contextlib.suppress(OSError):
            os.close(self.master)


def _raw_output(fd: int) -> None:
    """No output processing on the command's terminal: the real terminal does it (``\\n`` -> ``\\r\\n``)."""
    import termios

    try:
        attrs = termios.tcgetattr(fd)
        attrs[1] &= ~termios.OPOST
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
    except termios.error as exc:
        log.debug("live line: output processing left on (%s)", exc)
