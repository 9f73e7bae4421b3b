"""`ecometer run --prometheus`: the metered child scrapes its own live metrics over loopback."""

from __future__ import annotations

import socket
import subprocess
import sys

CHILD = """
import sys, time, urllib.request
time.sleep(0.5)
body = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
print(body)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_run_serves_prometheus_metrics(tmp_path):
    port = free_port()
    out = tmp_path / "run.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ecometer",
            "run",
            "--out",
            str(out),
            "--prometheus",
            f"127.0.0.1:{port}",
            "--prometheus-linger",
            "0",
            "--",
            sys.executable,
            "-c",
            CHILD,
            str(port),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "# TYPE ecometer_energy_joules_total counter" in proc.stdout
    assert 'ecometer_energy_joules_total{component="cpu"' in proc.stdout
    assert out.exists()


def test_run_rejects_bad_prometheus_address(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "ecometer", "run", "--prometheus", "nowhere:notaport", "--", "true"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "prometheus" in proc.stderr.lower() and "Traceback" not in proc.stderr
