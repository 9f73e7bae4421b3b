"""The command ``ecometer run`` meters: started so that it never outlives ecometer.

* It runs in its own process group, so a signal ecometer forwards reaches the whole tree
  (``sh -c 'python job.py; echo'`` stops ``job.py`` too).
* On Linux it gets a parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGTERM)``, set between
  fork and exec): if ecometer dies, even by SIGKILL, the kernel sends it SIGTERM.
* A small guard process (:mod:`ecometer.commands._watchdog`) holds a pipe from ecometer:
  if ecometer dies without saying it is done, the guard stops the command's whole process
  group (SIGTERM, then SIGKILL after a grace period), grandchildren included.
* On a terminal (ecometer's stdin is the terminal and ecometer is in its foreground), the
  command's group is made the terminal's foreground group, as a shell does: it can read the
  terminal, and Ctrl-C / Ctrl-\\ reach it directly. If it stops (Ctrl-Z), ecometer takes the
  terminal back and stops too, so the shell sees the job stopped; ``fg`` resumes both.

:class:`SignalRelay` catches every terminating signal sent to ecometer while it runs the
command and saves the record, and forwards each one to the command's process group.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger("ecometer.run")

#: Signals whose default action ends a process and that a user or a scheduler sends on purpose.
#: (SIGKILL cannot be caught; SIGPIPE and SIGXFSZ are ignored by Python; faults such as SIGSEGV
#: are not forwarded.)
TERMINATING = tuple(
    getattr(signal, name)
    for name in (
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGTERM",
        "SIGUSR1",
        "SIGUSR2",
        "SIGALRM",
        "SIGVTALRM",
        "SIGPROF",
        "SIGXCPU",
        "SIGPWR",
    )
    if hasattr(signal, name)
)
#: Seconds the guard waits after SIGTERM before SIGKILL, when ecometer died abruptly.
KILL_GRACE_S = 5.0
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _prctl() -> Callable[..., int] | None:
    """libc's ``prctl`` (Linux), ready to call between fork and exec, or None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        fn = ctypes.CDLL(None, use_errno=True).prctl
        fn.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
        fn.restype = ctypes.c_int
        return fn
    except (OSError, AttributeError) as exc:
        log.debug("no prctl: the command gets no parent-death signal (%s)", exc)
        return None


def foreground_terminal() -> int | None:
    """stdin's descriptor if it is a terminal whose foreground group is ours, else None."""
    if not on_main_thread():
        return None
    try:
        fd = sys.stdin.fileno()
        if os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp():
            return fd
    except (OSError, ValueError, AttributeError):
        pass
    return None


def on_main_thread() -> bool:
    """Signal handlers and terminal hand-over work only from the main thread."""
    return threading.current_thread() is threading.main_thread()


def _set_foreground(fd: int, pgrp: int) -> None:
    """Make ``pgrp`` the terminal's foreground group (SIGTTOU ignored meanwhile, as shells do)."""
    old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.tcsetpgrp(fd, pgrp)
    except OSError as exc:
        log.debug("cannot hand the terminal to process group %s: %s", pgrp, exc)
    finally:
        signal.signal(signal.SIGTTOU, old)


class Guard:
    """The guard process that stops the command's group if ecometer dies (see the module doc)."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        from ecometer.commands import _watchdog

        read_end, write_end = os.pipe()
        try:
            self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and script
                [sys.executable, "-I", "-S", "-c", Path(_watchdog.__file__).read_text(encoding="utf-8"),
                 str(read_end), str(KILL_GRACE_S)],  # fmt: skip
                pass_fds=(read_end,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                start_new_session=True,  # signals to ecometer's group or session do not reach it
            )
            self._fd = write_end
        except OSError as exc:
            os.close(write_end)
            log.warning("no guard process (%s): if ecometer is killed, only the command itself is stopped", exc)
        finally:
            os.close(read_end)

    def watch(self, pgid: int) -> None:
        self._say(f"{pgid}\n")

    def release(self, done: bool) -> None:
        """Stop guarding: ``done`` says the command has ended (else the guard stops its group now)."""
        if done:
            self._say("done\n")
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=1.0 if done else KILL_GRACE_S + 1.0)
            except subprocess.TimeoutExpired:
                log.debug("the guard process is still running; left to finish on its own")
            self._proc = None

    def _say(self, text: str) -> None:
        if self._fd is None:
            return
        try:
            os.write(self._fd, text.encode("ascii"))
        except OSError as exc:
            log.debug("guard process unreachable: %s", exc)


class Child:
    """The metered command, in its own process group (see the module doc)."""

    def __init__(
        self, command: list[str], env: dict[str, str], terminal: int | None, stdio: tuple[Any, Any, Any] | None = None
    ) -> None:
        """``stdio``: the command's ``(stdin, stdout, stderr)`` (files or ``subprocess`` constants;
        None: inherited from ecometer)."""
        self.terminal = terminal
        prctl = _prctl()
        parent = os.getpid()

        def setup() -> None:  # in the child, between fork and exec: system calls only
            os.setpgid(0, 0)
            if prctl is not None:
                prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
                if os.getppid() != parent:  # ecometer died before the line above
                    os.kill(os.getpid(), signal.SIGKILL)
            if terminal is not None:
                _set_foreground(terminal, os.getpgrp())

        stdin, stdout, stderr = stdio or (None, None, None)
        self.proc = subprocess.Popen(  # noqa: S603, PLW1509 - the user's command
            command, env=env, preexec_fn=setup, stdin=stdin, stdout=stdout, stderr=stderr
        )
        self.pgid = self.proc.pid
        if terminal is not None:
            _set_foreground(terminal, self.pgid)  # also here: whichever runs first wins the race
        self.returncode: int | None = None

    def forward(self, signum: int) -> None:
        """Send ``signum`` to the command's process group (and to the command if it left the group)."""
        for send, target in ((os.killpg, self.pgid), (os.kill, self.proc.pid)):
            try:
                send(target, signum)
            except (ProcessLookupError, PermissionError):
                continue
            if send is os.killpg and _group_of(self.proc.pid) == self.pgid:
                break  # the command is in its group: already signalled

    def wait(self) -> int:
        """Wait for the command to exit (relaying Ctrl-Z when it owns the terminal); its return code."""
        if hasattr(os, "waitid"):
            flags = os.WEXITED | os.WNOWAIT | (os.WSTOPPED if self.terminal is not None else 0)
            while True:
                try:
                    info = os.waitid(os.P_PID, self.proc.pid, flags)
                except ChildProcessError:
                    break
                if info is not None and info.si_code == os.CLD_STOPPED:
                    os.waitid(os.P_PID, self.proc.pid, os.WSTOPPED | os.WNOHANG)  # consume the stop
                    self._stop_with_it()
                    continue
                break
        self.returncode = self.proc.wait()
        if self.terminal is not None:
            _set_foreground(self.terminal, os.getpgrp())
        return self.returncode

    def _stop_with_it(self) -> None:
        """The command stopped (Ctrl-Z, terminal input in the background): stop too, resume it after."""
        assert self.terminal is not None
        _set_foreground(self.terminal, os.getpgrp())
        os.kill(os.getpid(), signal.SIGSTOP)
        # continued (fg or bg): give the terminal back only if we are in the foreground again
        try:
            if os.tcgetpgrp(self.terminal) == os.getpgrp():
                _set_foreground(self.terminal, self.pgid)
        except OSError:
            pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, signal.SIGCONT)

    def kill_group(self) -> None:
        """Stop the whole group now (ecometer is leaving on an error while the command runs)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, signal.SIGTERM)
            os.killpg(self.pgid, signal.SIGCONT)


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None


class SignalRelay:
    """Catches :data:`TERMINATING` signals while a command runs and its record is saved.

    Each signal is noted; while the command runs it is forwarded to it (one that arrives
    before the command started is forwarded once it has). After the command exited, signals
    are only noted (:attr:`late`): the record is finished and saved first.
    """

    def __init__(self) -> None:
        self.received: list[int] = []  # while the command ran (or before it started)
        self.late: list[int] = []  # after it exited
        self._child: Child | None = None
        self._done = False
        self._previous: dict[int, Any] = {}

    @contextlib.contextmanager
    def blocked(self) -> Iterator[None]:
        """Hold the signals back (threads started inside inherit the block); install on leaving."""
        mask = getattr(signal, "pthread_sigmask", None)
        main = on_main_thread()
        old = mask(signal.SIG_BLOCK, TERMINATING) if mask is not None and main else None
        try:
            yield
            if main:
                self._install()
        finally:
            if old is not None:
                mask(signal.SIG_SETMASK, old)  # pending signals are delivered to our handler now

    def _install(self) -> None:
        for signum in TERMINATING:
            try:
                self._previous[signum] = signal.signal(signum, self._on_signal)
            except (ValueError, OSError) as exc:
                log.debug("cannot catch %s: %s", signal_name(signum), exc)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def attach(self, child: Child) -> None:
        self._child = child
        for signum in self.received:  # arrived while it was being started
            child.forward(signum)

    def command_ended(self) -> None:
        self._done = True

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._done:
            self.late.append(signum)
            return
        self.received.append(signum)
        if self._child is not None:
            self._child.forward(signum)
