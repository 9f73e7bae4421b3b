"""A short, plain description of the host, for records and ``ecometer info``."""

from __future__ import annotations

import os
import platform
import socket
import sys
from typing import Any


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (Linux, x86 or Arm) or the platform module."""
    from ecometer.sensors.cpu_model import read_cpuinfo

    name = read_cpuinfo().model_name
    return name if name != "unknown" else platform.processor() or "unknown"


def describe_host() -> dict[str, Any]:
    """Host facts: name, OS, CPU model, logical CPUs, memory (bytes), Python, container/VM hints."""
    from ecometer.sensors.usage import total_memory_bytes

    return {
        "hostname": socket.gethostname(),
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "memory_bytes": total_memory_bytes(),
        "python": sys.version.split()[0],
        "pid": os.getpid(),
        "container": os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv"),
    }
