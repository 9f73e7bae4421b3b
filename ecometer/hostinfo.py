"""A short, plain description of the host, for records and ``ecometer info``."""

from __future__ import annotations

import os
import platform
import socket
import sys
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (Linux) or the platform module."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def describe_host() -> dict[str, Any]:
    """Host facts: name, OS, CPU model, logical CPUs, memory (bytes), Python, container/VM hints."""
    import psutil

    return {
        "hostname": socket.gethostname(),
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "memory_bytes": psutil.virtual_memory().total,
        "python": sys.version.split()[0],
        "pid": os.getpid(),
        "container": os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv"),
    }
