"""Issue 27: the library and small CLI cases: a generator closed early, add_work after stop, an
IPv4-mapped loopback address, ``score --attach`` on a checkpoint. Each failed before its change.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys

import pytest
from test_cli_run import ENV

import ecometer
from ecometer.integrations.prometheus import is_loopback
from ecometer.record.model import load_record
from ecometer.sensors.replay import ReplaySensor


def _sensors():
    return [ReplaySensor([(0, 10.0)])]


def test_a_generator_closed_early_by_its_consumer_is_not_failed(tmp_path):
    def batches():
        with ecometer.measure("gen", sensors=_sensors(), out=tmp_path / "g.json", interval_s=0.01) as m:
            for i in range(100):
                m.add_work(1, "batch")
                yield i

    gen = batches()
    assert [next(gen) for _ in range(3)] == [0, 1, 2]
    gen.close()  # the consumer has what it needs
    rec = load_record(tmp_path / "g.json")
    assert rec.status == "ok" and rec.error is None  # before: "failed", "GeneratorExit: "
    assert rec.work == {"batch": 3.0}
    assert any("closed by its consumer" in w for w in rec.warnings)


def test_a_decorated_generator_is_metered_while_it_is_consumed(tmp_path):
    meter = ecometer.Meter("deco-gen", sensors=_sensors(), out=tmp_path / "d.json", interval_s=0.01)

    @meter
    def steps(n):
        for i in range(n):
            meter.add_work(1, "step")
            yield i

    assert list(steps(4)) == [0, 1, 2, 3]
    rec = load_record(tmp_path / "d.json")
    assert rec.status == "ok" and rec.work == {"step": 4.0}  # before: metered only the generator's creation
    gen = steps(10)
    next(gen)
    gen.close()
    assert meter.record.status == "ok"


def test_add_work_after_stop_warns_once(tmp_path, caplog):
    with ecometer.measure("late", sensors=_sensors(), out=None, interval_s=0.01) as m:
        pass
    with caplog.at_level(logging.WARNING, logger="ecometer"):
        for _ in range(1000):
            m.add_work(1)
    said = [r for r in caplog.records if "not running" in r.getMessage() and r.levelno >= logging.WARNING]
    assert len(said) == 1  # before: 1000 lines


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("::ffff:127.0.0.1", True), ("::ffff:127.1.2.3", True), ("::1", True), ("127.0.0.1", True),
     ("::ffff:10.0.0.1", False), ("0.0.0.0", False), ("::", False), ("fe80::1%lo", False)],
)  # fmt: skip
def test_ipv4_mapped_loopback_is_loopback(host, loopback):
    assert is_loopback(host) is loopback  # before: ::ffff:127.0.0.1 warned it was reachable from other machines


def test_score_attach_on_a_checkpoint_names_it(tmp_path):
    with ecometer.measure("ck", sensors=_sensors(), out=tmp_path / "r.json", interval_s=0.01):
        pass
    partial = tmp_path / "r.json.partial"
    shutil.copy(tmp_path / "r.json", partial)
    done = subprocess.run(
        [sys.executable, "-m", "ecometer", "score", "--standard", "ecometer-training", "--attach", str(partial)],
        env=ENV, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert str(partial) in done.stderr and ": None" not in done.stderr  # before: "...final records: None"


# ---- the Prometheus exporter bounds threads and time ---------------------------------------------------
def test_idle_connections_bound_neither_threads_nor_scrapes(monkeypatch):
    import socket
    import threading
    import time
    import urllib.request

    from ecometer.integrations.bounded_http import BoundedHTTPServer
    from ecometer.integrations.prometheus import serve

    timeout_s = 4.0  # an idle connection's time: a scrape that waited for one takes at least this long
    monkeypatch.setattr(BoundedHTTPServer, "request_timeout_s", timeout_s)
    meter = ecometer.Meter("prom", sensors=_sensors(), out=None, interval_s=0.01)
    before = threading.active_count()
    with serve(meter, port=0) as exporter:
        idle = [socket.create_connection(("127.0.0.1", exporter.port)) for _ in range(400)]
        try:
            time.sleep(0.3)
            assert threading.active_count() - before <= BoundedHTTPServer.workers + 1  # before: one thread each
            t0 = time.monotonic()
            with urllib.request.urlopen(exporter.url, timeout=5) as resp:  # served while 400 idle ones wait
                assert resp.status == 200 and b"ecometer_up" in resp.read()
            assert time.monotonic() - t0 < timeout_s / 2
            idle[0].settimeout(3 * timeout_s)
            t0 = time.monotonic()
            assert idle[0].recv(1) == b""  # closed by the server once its time is up (before: never)
            assert time.monotonic() - t0 < timeout_s + 2.0
        finally:
            for conn in idle:
                conn.close()


def test_a_trickling_client_is_cut_off_at_the_deadline(monkeypatch):
    import socket
    import time

    from ecometer.integrations.bounded_http import BoundedHTTPServer
    from ecometer.integrations.prometheus import serve

    monkeypatch.setattr(BoundedHTTPServer, "request_timeout_s", 1.0)
    meter = ecometer.Meter("prom", sensors=_sensors(), out=None, interval_s=0.01)
    with serve(meter, port=0) as exporter:
        conn = socket.create_connection(("127.0.0.1", exporter.port))
        conn.settimeout(5)
        t0 = time.monotonic()
        try:
            for byte in b"GET /metrics HTTP/1.0\r\nX-Slow: " + b"a" * 100:
                conn.send(bytes([byte]))
                time.sleep(0.05)
        except OSError:
            pass  # reset: the server closed it
        try:
            data = conn.recv(100)
        except OSError:
            data = b""
        assert time.monotonic() - t0 < 4 and not data.startswith(b"HTTP/1.0 200")
        conn.close()


# ---- a meter started in a worker thread ----------------------------------------------------------------
WORKER_STARTED = """
import sys, threading, time
from pathlib import Path
import ecometer
from ecometer.sensors.replay import ReplaySensor
out, created_in = Path(sys.argv[1]), sys.argv[2]
box = {}
if created_in == "main":
    box["m"] = ecometer.measure("w", sensors=[ReplaySensor([(0, 5.0)])], out=out, interval_s=0.01)
def work():
    m = box.get("m") or ecometer.measure("w", sensors=[ReplaySensor([(0, 5.0)])], out=out, interval_s=0.01)
    m.start()
    m.add_work(2, "step")
    Path(str(out) + ".ready").write_text("")
    time.sleep(60)
threading.Thread(target=work, daemon=True).start()
while True:
    time.sleep(0.05)
"""


def test_a_meter_created_on_the_main_thread_and_started_in_a_worker_is_finalised_on_sigterm(tmp_path):
    import signal
    import time

    out = tmp_path / "w.json"
    proc = subprocess.Popen([sys.executable, "-c", WORKER_STARTED, str(out), "main"], env=ENV)
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "w.json.ready").exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == -signal.SIGTERM
    finally:
        proc.kill()
    rec = load_record(out)
    assert not rec.checkpoint and rec.status == "interrupted"  # before: only the .partial, up to 5 s old
    assert rec.work == {"step": 2.0}


def test_a_meter_created_and_started_in_a_worker_says_it_is_unprotected(tmp_path):
    code = (
        "import threading, ecometer\n"
        "from ecometer.sensors.replay import ReplaySensor\n"
        "def work():\n"
        f"    with ecometer.measure('w', sensors=[ReplaySensor([(0, 5.0)])], out={str(tmp_path / 'w.json')!r}):\n"
        "        pass\n"
        "t = threading.Thread(target=work); t.start(); t.join()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert any("started in a worker thread" in w for w in load_record(tmp_path / "w.json").warnings)


# ---- integrations leave nothing behind when the framework's run fails ------------------------------------
def _ecometer_threads() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name.startswith("ecometer") and t.is_alive()]


def test_a_failing_hf_train_leaves_no_hook_nor_sampler(tmp_path):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from conftest import tiny_gpt2

    from ecometer.integrations.hf import EcometerCallback

    torch.manual_seed(0)
    model, data = tiny_gpt2(16, seq_len=8, vocab=50, n_embd=16, n_positions=16)
    calls = {"n": 0}

    def boom(module, args, kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("diverged")

    model.register_forward_pre_hook(boom, with_kwargs=True)
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"), per_device_train_batch_size=4, num_train_epochs=1, report_to="none",
        save_strategy="no", logging_strategy="no", use_cpu=True, disable_tqdm=True, dataloader_num_workers=0,
    )  # fmt: skip
    cb = EcometerCallback(name="boom", sensors=_sensors(), interval_s=0.01)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=data, callbacks=[cb])
    before = len(model._forward_pre_hooks)
    with pytest.raises(RuntimeError, match="diverged"):
        trainer.train()
    assert not cb.fit.active and len(model._forward_pre_hooks) == before  # before: meter and hook left running
    assert not _ecometer_threads()
    assert cb.record.status == "failed" and "diverged" in cb.record.error
    assert load_record(cb.path).status == "failed"


# ---- phases from several threads, asyncio tasks, or nested in themselves -----------------------------------
def _phase_meter(tmp_path):
    return ecometer.measure("ph", sensors=[ReplaySensor([(0, 10.0)])], out=None, interval_s=0.01)


def test_phases_of_concurrent_asyncio_tasks_never_exceed_the_run(tmp_path):
    import asyncio

    async def request(m, i):
        with m.phase("request"):
            await asyncio.sleep(0.2)
            m.add_work(1, "query")

    async def main(m):
        await asyncio.gather(*(request(m, i) for i in range(20)))

    with _phase_meter(tmp_path) as m:
        asyncio.run(main(m))
    rec = m.record
    phase = rec.phases["request"]
    assert phase.count == 20 and phase.work == {"query": 20.0}
    assert phase.duration_s <= rec.duration_s + 1e-9  # before: 20 x 0.2 s in a 0.2 s run
    assert phase.energy_j <= rec.energy_j * (1 + 1e-6)  # before: 216 J inside an 11 J run
    assert any("entered while already open" in w for w in rec.warnings)


def test_work_is_credited_to_the_calling_threads_phase(tmp_path):
    import threading

    barrier = threading.Barrier(2)

    def worker(m, name, n):
        with m.phase(name):
            barrier.wait()
            m.add_work(n, "sample")
            barrier.wait()

    with _phase_meter(tmp_path) as m:
        threads = [threading.Thread(target=worker, args=(m, n, k)) for n, k in (("a", 5), ("b", 7))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    rec = m.record
    assert rec.phases["a"].work == {"sample": 5.0}  # before: 12 (b's work too)
    assert rec.phases["b"].work == {"sample": 7.0}
    assert rec.work == {"sample": 12.0}


def test_a_phase_nested_in_itself_is_counted_once_in_time(tmp_path):
    import time

    with _phase_meter(tmp_path) as m:
        with m.phase("x"):
            with m.phase("x"):
                time.sleep(0.1)
    rec = m.record
    assert rec.phases["x"].count == 2
    assert rec.phases["x"].duration_s <= rec.duration_s + 1e-9  # before: twice the time
    assert rec.phases["x"].energy_j <= rec.energy_j * (1 + 1e-6)
