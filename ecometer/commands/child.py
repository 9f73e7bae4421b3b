"""The command ``ecometer run`` meters: started so that it never outlives ecometer.

* It runs in its own process group, so a signal ecometer forwards reaches the whole tree
  (``sh -c 'python job.py; echo'`` stops ``job.py`` too).
* On Linux it gets a parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGTERM)``, set by the small
  interpreter that execs it, :mod:`ecometer.commands.trampoline`; no Python code runs between fork and
  exec, which is unsafe while ecometer's threads run): if ecometer dies, even by SIGKILL, the
  kernel sends it SIGTERM. A script without ``#!`` is run by ``/bin/sh``, as a shell does.
* A stopping signal ecometer forwarded (SIGTERM, SIGINT, SIGHUP, SIGQUIT) that the command has
  not ended after :data:`STOP_GRACE_S` (``--kill-after``) is escalated to SIGKILL of its group,
  and said so; processes it leaves running in its group (``sleep 30 &``) are stopped when it ends.
* A small guard process (:mod:`ecometer.commands.watchdog`) holds a pipe from ecometer:
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
import errno
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger("ecometer.measuring.run")

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
#: Seconds a command has to end after a stopping signal ecometer forwarded (SIGTERM, SIGINT,
#: SIGHUP, SIGQUIT) before its process group is sent SIGKILL (``ecometer run --kill-after``).
STOP_GRACE_S = 10.0
#: Signals that ask the command to stop: escalated to SIGKILL after the grace period. (Others,
#: e.g. SIGUSR1 that schedulers send as a warning, are only forwarded.)
SETTLE_S = 0.5  # seconds the rest of a group has to end by itself once the command ended
STOPPING = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, n))


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


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
        from ecometer.commands import watchdog

        read_end, write_end = os.pipe()
        try:
            self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and script
                [sys.executable, "-I", "-S", "-c", Path(watchdog.__file__).read_text(encoding="utf-8"),
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
    """The metered command, in its own process group (see the module doc), started without any
    Python code between fork and exec (:mod:`ecometer.commands.trampoline`): safe while threads run."""

    def __init__(
        self,
        command: list[str],
        env: dict[str, str],
        terminal: int | None,
        executable: str | None = None,
        output: int | None = None,
        stdio: tuple[Any, Any, Any] | None = None,
    ) -> None:
        """``executable``: the command's resolved path (default: ``command[0]``, searched in PATH);
        ``output``: a descriptor for the command's stdout and stderr (default: ecometer's own);
        ``stdio``: the command's ``(stdin, stdout, stderr)`` instead (files or ``subprocess``
        constants)."""
        from ecometer.commands import trampoline

        executable = executable or shutil.which(command[0]) or command[0]
        self.terminal = terminal
        err_read, err_write = os.pipe()
        tty = str(terminal) if terminal is not None else "-"
        stdin, stdout, stderr = stdio or (None, output, output)
        trampoline = [sys.executable, "-I", "-S", "-c", Path(trampoline.__file__).read_text(encoding="utf-8")]
        try:
            self.proc = subprocess.Popen(  # noqa: S603 - our own interpreter, then the user's command
                [*trampoline, str(err_write), str(os.getpid()), tty, executable, *command],
                env=env,
                pass_fds=(err_write,),
                process_group=0,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
            )
        finally:
            os.close(err_write)
        self.pgid = self.proc.pid
        if terminal is not None:
            _set_foreground(terminal, self.pgid)  # also here: whichever runs first wins the race
        self.returncode: int | None = None
        try:
            _raise_exec_error(err_read, self.proc, command[0])
        except OSError:
            if terminal is not None:
                _set_foreground(terminal, os.getpgrp())  # the terminal back from the group that never ran
            raise

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

    def stop_leftovers(self, grace_s: float) -> bool:
        """After the command ended: stop what it left running in its process group (a background
        child): SIGTERM, then SIGKILL after ``grace_s`` seconds. True if anything was left. (Members
        still ending, e.g. on a signal the whole group got, have :data:`SETTLE_S` to do so first.)"""
        if _wait_group(self.pgid, SETTLE_S):
            return False
        for signum in (signal.SIGTERM, signal.SIGCONT):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pgid, signum)
        if not _wait_group(self.pgid, grace_s):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pgid, signal.SIGKILL)
            _wait_group(self.pgid, 2.0)
        return True

    def kill_group(self) -> None:
        """Stop the whole group now (ecometer is leaving on an error while the command runs)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, signal.SIGTERM)
            os.killpg(self.pgid, signal.SIGCONT)


def _raise_exec_error(err_read: int, proc: subprocess.Popen[bytes], name: str) -> None:
    """Wait until the command was exec'd (end of file on the error pipe); an errno there is raised
    as the ``OSError`` that starting it gave (the trampoline then exits and is reaped)."""
    chunks = []
    try:
        while chunk := os.read(err_read, 64):
            chunks.append(chunk)
    finally:
        os.close(err_read)
    if not chunks:
        return
    proc.wait()
    code = int(b"".join(chunks).decode("ascii", "replace") or errno.EIO)
    raise OSError(code, os.strerror(code), name)


def _group_alive(pgid: int) -> bool:
    """Whether process group ``pgid`` has a member (our own exited children in it are reaped first:
    as PID 1 of a container, ecometer inherits the command's orphans)."""
    with contextlib.suppress(ChildProcessError, OSError):
        while os.waitpid(-pgid, os.WNOHANG)[0] > 0:
            pass
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_group(pgid: int, timeout_s: float) -> bool:
    """Wait up to ``timeout_s`` for process group ``pgid`` to have no member; True if it has none."""
    end = time.monotonic() + timeout_s
    while _group_alive(pgid):
        if time.monotonic() >= end:
            return False
        time.sleep(0.02)
    return True


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except (ProcessLookupError, PermissionError):
        return None


class SignalRelay:
    """Catches :data:`TERMINATING` signals while a command runs and its record is saved.

    Each signal is noted; while the command runs it is forwarded to it (one that arrives
    before the command started is forwarded once it has). After the command exited, signals
    are only noted (:attr:`late`): the record is finished and saved first. A stopping signal
    (:data:`STOPPING`) the command has not ended ``grace_s`` seconds after is escalated:
    SIGKILL to its whole process group (:attr:`escalated` says so).
    """

    def __init__(self, grace_s: float = STOP_GRACE_S) -> None:
        self.received: list[int] = []  # while the command ran (or before it started)
        self.late: list[int] = []  # after it exited
        self.grace_s = grace_s
        self.escalated: str | None = None  # what was said when SIGKILL was sent
        self._child: Child | None = None
        self._done = False
        self._timer: threading.Timer | None = None
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
            self._forward(signum)

    def command_ended(self) -> None:
        self._done = True
        if self._timer is not None:
            self._timer.cancel()

    def _on_signal(self, signum: int, frame: Any) -> None:
        if self._done:
            self.late.append(signum)
            return
        self.received.append(signum)
        if self._child is not None:
            self._forward(signum)

    def _forward(self, signum: int) -> None:
        assert self._child is not None
        self._child.forward(signum)
        if signum in STOPPING and self._timer is None and not self._done:
            self._timer = threading.Timer(self.grace_s, self._escalate, args=(signum,))
            self._timer.daemon = True
            self._timer.start()

    def _escalate(self, signum: int) -> None:
        child = self._child
        if self._done or child is None or child.returncode is not None:
            return
        self.escalated = (
            f"the command did not end within {self.grace_s:g} s of {signal_name(signum)}: "
            "SIGKILL sent to its process group (--kill-after)"
        )
        sys.stderr.write(f"ecometer run: {self.escalated}\n")
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pgid, signal.SIGKILL)
