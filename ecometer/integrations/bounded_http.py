"""An HTTP server whose threads, queue and time per connection are bounded (the metrics endpoint).

``http.server.ThreadingHTTPServer`` starts one thread per connection and waits for a request
forever: 2,000 idle connections gave 2,004 threads, and a listen backlog of 5 made concurrent
scrapes time out. Here:

* one thread accepts connections and watches them (``selectors``) until their request starts to
  arrive; at most :attr:`BoundedHTTPServer.max_pending` wait so (the oldest is closed beyond);
* requests are served by a fixed pool of :attr:`BoundedHTTPServer.workers` threads; beyond
  ``4 x workers`` requests in hand, a new one is refused (connection closed at once);
* every connection has :attr:`BoundedHTTPServer.request_timeout_s` seconds in all, from its accept
  to its answer, idle or trickling: past that it is closed (each socket operation also times out);
* the listen backlog is :attr:`BoundedHTTPServer.request_queue_size` (128).
"""

from __future__ import annotations

import logging
import selectors
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import HTTPServer
from typing import Any

log = logging.getLogger("ecometer.prometheus")


class BoundedHTTPServer(HTTPServer):
    """See the module doc. Run :meth:`serve` in a thread; :meth:`stop` ends it and frees the port."""

    request_queue_size = 128  #: listen backlog
    workers = 4  #: threads that serve requests
    max_pending = 256  #: accepted connections waiting for their request to arrive
    request_timeout_s = 10.0  #: seconds a connection has in all, from accept to answer

    def __init__(self, address: Any, handler: Any) -> None:
        super().__init__(address, handler)
        self.socket.setblocking(False)
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="ecometer-prometheus-worker")
        self._slots = threading.BoundedSemaphore(4 * self.workers)  # requests queued or being served
        self._lock = threading.Lock()
        self._in_hand: dict[socket.socket, float] = {}  # connection -> deadline, while a worker has it
        self.refused = 0  # connections closed unanswered (overload, or past their time)

    def serve(self) -> None:
        """Accept and watch connections until :meth:`stop`."""
        selector = selectors.DefaultSelector()
        selector.register(self.socket, selectors.EVENT_READ, None)
        pending: dict[socket.socket, float] = {}
        try:
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.2):
                    if key.data is None:
                        self._accept(selector, pending)
                        continue
                    conn = key.fileobj
                    selector.unregister(conn)
                    self._dispatch(conn, key.data, pending.pop(conn))  # type: ignore[arg-type]
                self._expire(selector, pending)
        finally:
            for conn in pending:
                conn.close()
            selector.close()

    def _accept(self, selector: selectors.BaseSelector, pending: dict[socket.socket, float]) -> None:
        try:
            conn, addr = self.socket.accept()
        except OSError:  # gone before it was accepted, or out of descriptors: try again later
            return
        if len(pending) >= self.max_pending:
            oldest = min(pending, key=pending.__getitem__)
            selector.unregister(oldest)
            del pending[oldest]
            oldest.close()
            self.refused += 1
        conn.setblocking(False)
        pending[conn] = time.monotonic() + self.request_timeout_s
        selector.register(conn, selectors.EVENT_READ, addr)

    def _dispatch(self, conn: socket.socket, addr: Any, deadline: float) -> None:
        if not self._slots.acquire(blocking=False):
            conn.close()
            self.refused += 1
            return
        conn.settimeout(max(deadline - time.monotonic(), 0.1))
        with self._lock:
            self._in_hand[conn] = deadline
        try:
            self._pool.submit(self._handle, conn, addr)
        except RuntimeError:  # the pool was shut down meanwhile (stop)
            self._release(conn)

    def _handle(self, conn: socket.socket, addr: Any) -> None:
        try:
            self.finish_request(conn, addr)
        except Exception as exc:  # noqa: BLE001 - one bad client must not stop the server
            log.debug("request from %s failed: %s", addr, exc)
        finally:
            self._release(conn)

    def _release(self, conn: socket.socket) -> None:
        with self._lock:
            self._in_hand.pop(conn, None)
        self.shutdown_request(conn)
        self._slots.release()

    def _expire(self, selector: selectors.BaseSelector, pending: dict[socket.socket, float]) -> None:
        now = time.monotonic()
        for conn in [c for c, deadline in pending.items() if deadline <= now]:
            selector.unregister(conn)
            del pending[conn]
            conn.close()
            self.refused += 1
        with self._lock:
            late = [c for c, deadline in self._in_hand.items() if deadline <= now]
        for conn in late:  # a trickling client: its worker's next read or write fails, and it is freed
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self) -> None:
        """End :meth:`serve` (the caller joins its thread) and the workers; then :meth:`server_close`."""
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
