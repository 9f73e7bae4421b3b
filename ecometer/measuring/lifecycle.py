"""Keeping records safe across signals, interpreter exit and fork.

The runs of every meter (:class:`ecometer.measuring.run.Run`) register here while they run.

* SIGTERM (and SIGINT outside a ``with`` block) finalise every running meter as
  ``"interrupted"`` and save its record, then hand the signal to the handler that was
  installed before (so the process still ends the way it would have).
* A signal that comes while a run is finishing (from the start of its ``stop()`` until its
  record is saved: :func:`hold`, :func:`release`) waits: the run is told to hurry (a distributed gather stops
  waiting and saves what it has), and the signal is delivered again once the record is
  saved. A second signal therefore never aborts a save.
* At interpreter exit, meters still running are finalised as ``"interrupted"``.
* In a child created by ``fork()`` after a meter started, inherited meters go inert: the
  child has no sampler thread and must not write the parent's record.

Handlers are installed only from the main thread, once: when the first meter is created or
started there (:func:`install_handlers`). A run started in a worker thread before any meter
was created on the main thread cannot install them; it says so in its record (:data:`UNPROTECTED`).
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
import weakref
from typing import Any, Protocol

log = logging.getLogger("ecometer.measuring.lifecycle")


class Finalisable(Protocol):
    """A running run: finalised on a signal or at exit; inert once ``forked`` is set."""

    forked: bool

    def finalise_on(self, status: str, reason: str) -> Any: ...

    def hurry(self) -> None: ...


_active: weakref.WeakSet[Any] = weakref.WeakSet()
# re-entrant: a signal handler runs on the main thread, possibly while it holds this lock
_lock = threading.RLock()
_previous: dict[int, Any] = {}
_installed = False
_pid = os.getpid()
_finishing: list[Any] = []  # runs saving their record now: signals wait for them
_pending: list[int] = []  # signals that came meanwhile, delivered again once they are saved


#: what a run started in a worker thread says when no handler could be installed
UNPROTECTED = (
    "the meter was started in a worker thread and no ecometer signal handler is installed (Python installs "
    "them only from the main thread): SIGTERM ends the process without finalising this record, leaving only "
    "its checkpoint (up to checkpoint_interval_s old); create the meter on the main thread, or call "
    "ecometer.measuring.lifecycle.install_handlers() there"
)


def install_handlers() -> bool:
    """Install the SIGTERM/SIGINT handlers now, if this is the main thread (once); True if installed.

    Called when a meter is created (so a meter created on the main thread and started in a
    worker thread is protected) and when a run starts; call it yourself from the main thread
    when every meter is created in worker threads.
    """
    global _installed
    with _lock:
        if _installed:
            return True
        if threading.current_thread() is not threading.main_thread():
            return False
        _installed = True
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            _previous[signum] = signal.getsignal(signum)
            signal.signal(signum, _on_signal)
        except (ValueError, OSError) as exc:  # not the main thread of the main interpreter
            log.debug("cannot install a handler for %s: %s", signum, exc)
    return True


def register(run: Finalisable) -> bool:
    """Finalise ``run`` on a signal or at exit from now on; False if no signal handler could be installed."""
    with _lock:
        _active.add(run)
    return install_handlers()


def unregister(run: Finalisable) -> None:
    with _lock:
        _active.discard(run)


def running() -> list[Any]:
    with _lock:
        return list(_active)


def hold(run: Finalisable) -> None:
    """``run`` starts finishing: signals handled here wait (and tell it to hurry) until :func:`release`."""
    with _lock:
        _finishing.append(run)


def release(run: Finalisable) -> None:
    """``run``'s record is saved: the signals that came meanwhile are delivered again, once each."""
    with _lock:
        if run in _finishing:
            _finishing.remove(run)
        pending = list(dict.fromkeys(_pending)) if not _finishing else []
        if not _finishing:
            _pending.clear()
    for signum in pending:
        log.debug("delivering %s again, now that the record is saved", signal.Signals(signum).name)
        os.kill(os.getpid(), signum)


def _on_signal(signum: int, frame: Any) -> None:
    name = signal.Signals(signum).name
    with _lock:
        busy = list(_finishing)
        if busy:
            _pending.append(signum)
    if busy:
        log.warning("received %s while saving the record: it takes effect once the record is saved", name)
        for run in busy:
            run.hurry()
        return
    if signum == signal.SIGINT and _previous.get(signum) is signal.default_int_handler:
        # KeyboardInterrupt unwinds the stack: ``with`` blocks finalise as interrupted, and the
        # atexit hook catches explicit-style meters. Nothing to do here.
        signal.default_int_handler(signum, frame)
        return
    for run in running():
        run.finalise_on("interrupted", f"received {name}")
    previous = _previous.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
    elif previous == signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


@atexit.register
def _at_exit() -> None:
    if os.getpid() != _pid:
        return
    for run in running():
        run.finalise_on("interrupted", "the interpreter exited while the meter was running")


def _after_fork_in_child() -> None:
    global _pid, _lock
    _pid = os.getpid()
    _lock = threading.RLock()  # another thread may have held it at fork: it would never be released here
    for run in list(_active):
        run.forked = True
    _active.clear()
    _finishing.clear()  # the parent's saves are the parent's
    _pending.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
