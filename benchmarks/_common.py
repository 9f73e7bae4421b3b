"""Shared helpers of the benchmarks: environment, NVML counter, thread CPU time, statistics.

Units: joules, watts, seconds; CPU time in seconds; memory in bytes.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import platform
import re
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "reports" / "benchmarks"
RESULT_MARK = "BENCH_RESULT "


# ---- what is installed -------------------------------------------------------------------
def have(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def version_of(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def nvml_gpus() -> list[dict[str, Any]]:
    """NVIDIA GPUs that NVML sees (name, driver, power limits); [] without NVML or GPU."""
    if not have("pynvml"):
        return []
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - no driver here: simply no GPU
        return []
    out = []
    try:
        driver = _s(pynvml.nvmlSystemGetDriverVersion())
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            info: dict[str, Any] = {"index": i, "name": _s(pynvml.nvmlDeviceGetName(h)), "driver": driver}
            try:
                info["power_limit_w"] = pynvml.nvmlDeviceGetPowerManagementLimit(h) / 1000.0
                lo, hi = pynvml.nvmlDeviceGetPowerManagementLimitConstraints(h)
                info["power_limit_range_w"] = [lo / 1000.0, hi / 1000.0]
            except pynvml.NVMLError as exc:
                info["power_limit_w"] = f"unavailable ({exc})"
            try:
                info["cuda_driver_version"] = pynvml.nvmlSystemGetCudaDriverVersion()
            except pynvml.NVMLError:
                pass
            out.append(info)
    finally:
        pynvml.nvmlShutdown()
    return out


def torch_cuda() -> bool:
    """Whether torch is importable and sees a CUDA device."""
    if not have("torch"):
        return False
    import torch

    return bool(torch.cuda.is_available())


def _s(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_tag(gpus: list[dict[str, Any]] | None = None) -> str:
    """``nvidia-h100`` style tag for GPU machines, ``cpu-<n>core`` otherwise."""
    gpus = nvml_gpus() if gpus is None else gpus
    if gpus:
        name = gpus[0]["name"].lower()
        m = re.search(r"\b([a-z]\d{2,4}[a-z]?)\b", name.replace("nvidia", ""))
        return f"nvidia-{m.group(1) if m else re.sub(r'[^a-z0-9]+', '-', name).strip('-')}"
    return f"cpu-{os.cpu_count()}core"


def environment(gpus: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Machine, CPU, GPU, driver and the versions of the measured tools."""
    import psutil

    gpus = nvml_gpus() if gpus is None else gpus
    env: dict[str, Any] = {
        "machine": platform.machine(),
        "os": f"{platform.system()} {platform.release()}",
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "memory_bytes": psutil.virtual_memory().total,
        "rapl_readable": _rapl_readable(),
        "gpus": gpus,
        "versions": {
            "python": platform.python_version(),
            "torch": version_of("torch"),
            "numpy": version_of("numpy"),
            "ecometer": _ecometer_version(),
            "codecarbon": version_of("codecarbon"),
            "zeus": version_of("zeus") or version_of("zeus-ml"),
            "nvidia-ml-py": version_of("nvidia-ml-py"),
            "psutil": version_of("psutil"),
        },
        "timestamp_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if have("torch"):
        import torch

        env["torch_cuda"] = torch.version.cuda
    return env


def _ecometer_version() -> str | None:
    try:
        from ecometer._version import __version__

        return __version__
    except ImportError:
        return None


def _rapl_readable() -> bool:
    base = Path("/sys/class/powercap")
    try:
        for zone in base.glob("intel-rapl:*"):
            if os.access(zone / "energy_uj", os.R_OK):
                return True
    except OSError:
        pass
    return False


def missing_report(need_gpu: bool = False) -> list[str]:
    """One line per missing capability, saying how to enable it."""
    lines = []
    if need_gpu and not nvml_gpus():
        lines.append("no NVIDIA GPU visible through NVML: GPU parts are skipped")
    if not have("codecarbon"):
        lines.append("codecarbon not installed: its column is skipped (pip install codecarbon==3.3.2)")
    if not have("zeus"):
        lines.append("zeus not installed: its column is skipped (pip install zeus==0.16.0)")
    if not have("torch"):
        lines.append("torch not installed: torch workloads are skipped (pip install torch)")
    return lines


# ---- the reference: NVML total-energy counter ------------------------------------------
class NvmlCounter:
    """Reads ``nvmlDeviceGetTotalEnergyConsumption`` (mJ) of one GPU, in joules."""

    def __init__(self, index: int = 0) -> None:
        import pynvml

        self._nvml = pynvml
        pynvml.nvmlInit()
        self.handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        self.index = index

    def read_j(self) -> float:
        return self._nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle) / 1000.0

    def read_at(self) -> tuple[float, float]:
        """``(monotonic s, J)`` with the time taken halfway through the call."""
        a = time.monotonic()
        e = self.read_j()
        b = time.monotonic()
        return (a + b) / 2.0, e

    def close(self) -> None:
        try:
            self._nvml.nvmlShutdown()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


# ---- CPU time and memory -----------------------------------------------------------------
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _thread_clock_id(tid: int) -> int:
    # Linux MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED): ((~tid) << 3) | CPUCLOCK_PERTHREAD_MASK | 2
    return ((~tid) << 3) | 4 | 2


def thread_cpu_s() -> dict[int, float]:
    """CPU time (s) of every live thread of this process, by Linux thread id.

    Uses each thread's CPU clock (ns resolution) where the kernel allows it, else
    ``/proc/self/task/<tid>/stat`` (clock-tick resolution).
    """
    out: dict[int, float] = {}
    try:
        tids = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        return out
    for tid in tids:
        try:
            out[tid] = time.clock_gettime(_thread_clock_id(tid))
            continue
        except (OSError, OverflowError):
            pass
        try:
            with open(f"/proc/self/task/{tid}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            out[tid] = (int(fields[11]) + int(fields[12])) / _CLK_TCK
        except (OSError, IndexError, ValueError):
            continue
    return out


def peak_rss_bytes() -> int:
    """Peak resident set size of this process image so far (bytes).

    From ``VmHWM`` in /proc/self/status: ``ru_maxrss`` would carry over the parent's peak
    across fork+exec and hide the growth of a small worker.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss_bytes() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


# ---- workers -----------------------------------------------------------------------------
def compiled_copy(dest: Path) -> Path:
    """Copy the ecometer package under ``dest`` and byte-compile it, as ``pip install`` would.

    Returns the folder to put first on PYTHONPATH. A source checkout run with
    PYTHONDONTWRITEBYTECODE (CI, the device machines) would otherwise compile ecometer's
    modules in every fresh process, a cost no installed package has; CodeCarbon's and Zeus's
    installed files have their .pyc.
    """
    import compileall
    import shutil

    target = dest / "ecometer"
    shutil.copytree(ROOT / "ecometer", target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    compileall.compile_dir(str(target), quiet=1)
    return dest


def run_worker(
    module: str,
    args: Sequence[str],
    timeout_s: float = 300.0,
    env: dict[str, str] | None = None,
    path_first: Path | None = None,
) -> dict[str, Any]:
    """Run ``python -m <module> <args>`` in a fresh process; return its result line as a dict.

    ``path_first`` goes before the repository on PYTHONPATH (see :func:`compiled_copy`).
    A failed worker returns ``{"error": ...}`` with the tail of its output instead of raising.
    """
    full_env = dict(os.environ)
    first = [str(path_first)] if path_first else []
    full_env["PYTHONPATH"] = os.pathsep.join(p for p in [*first, str(ROOT), full_env.get("PYTHONPATH", "")] if p)
    full_env.setdefault("PYTHONUNBUFFERED", "1")
    if env:
        full_env.update(env)
    cmd = [sys.executable, "-m", module, *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, cwd=ROOT, env=full_env)
    except subprocess.TimeoutExpired as exc:
        tail = (exc.stdout or b"")[-2000:] if isinstance(exc.stdout, bytes) else (exc.stdout or "")[-2000:]
        return {"error": f"worker timed out after {timeout_s:.0f} s", "output_tail": str(tail)}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_MARK):
            result = json.loads(line[len(RESULT_MARK) :])
            if proc.returncode != 0:
                result.setdefault("error", f"worker exit code {proc.returncode}")
            return result
    tail = (proc.stdout[-1500:] + "\n" + proc.stderr[-2500:]).strip()
    return {"error": f"worker exit code {proc.returncode} without a result line", "output_tail": tail}


def emit(result: dict[str, Any]) -> None:
    """Print the worker's one result line."""
    sys.stdout.write(RESULT_MARK + json.dumps(_finite(result), allow_nan=False) + "\n")
    sys.stdout.flush()


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_finite(data), indent=1, allow_nan=False) + "\n", encoding="utf-8")
    return path


# ---- statistics --------------------------------------------------------------------------
def median(xs: Sequence[float | None]) -> float | None:
    vals = sorted(x for x in xs if x is not None)
    if not vals:
        return None
    n = len(vals)
    return vals[n // 2] if n % 2 else 0.5 * (vals[n // 2 - 1] + vals[n // 2])


def spread(xs: Sequence[float | None]) -> tuple[float | None, float | None]:
    vals = [x for x in xs if x is not None]
    return (min(vals), max(vals)) if vals else (None, None)


def fmt(x: float | None, digits: int = 3, pct: bool = False) -> str:
    if x is None:
        return "n/a"
    if pct:
        return f"{x:+.{max(digits - 1, 1)}f} %"
    if x == 0:
        return "0"
    mag = abs(x)
    if mag >= 1000 or mag < 0.001:
        return f"{x:.{digits}g}"
    return f"{x:.{digits}g}" if mag < 1 else f"{x:.{max(digits - len(str(int(mag))), 0)}f}"


def fmt_range(xs: Sequence[float | None], digits: int = 3, pct: bool = False, scale: float = 1.0) -> str:
    """``median [min, max]`` of ``xs`` times ``scale``."""
    vals = [x * scale for x in xs if x is not None]
    if not vals:
        return "n/a"
    m = median(vals)
    lo, hi = min(vals), max(vals)
    if len(vals) == 1:
        return fmt(m, digits, pct)
    return f"{fmt(m, digits, pct)} [{fmt(lo, digits, pct)}, {fmt(hi, digits, pct)}]"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def load_text() -> str:
    """The machine's load averages (1, 5, 15 min) and CPU count, for a report on a shared machine."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:  # pragma: no cover - no load average on this platform
        return "load average unknown"
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} CPUs"
