"""Built-in demo workloads: real work (not sleeps) that finishes in a given number of seconds.

* :func:`numpy_matmul`: dense float32 matrix products with numpy (counts ``matmul`` and
  ``flop``: ``2 n^3`` per product).
* :func:`torch_train`: a small multilayer perceptron trained on synthetic data with torch, on
  the CPU or a CUDA device (counts ``sample`` and ``flop``: the usual estimate of 6 FLOP per
  parameter per training sample, 2 forward and 4 backward), with ``forward``/``backward``/
  ``optimizer`` phases inside each step.

Each takes a meter-like object (``phase(name)`` context manager and ``add_work(n, unit)``)
and a time budget in seconds, and returns what it did. torch is imported only by
:func:`torch_train`; nothing is downloaded (weights are random, data synthetic).
"""

from __future__ import annotations

import contextlib
import importlib.util
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

#: training FLOP per parameter per sample (2 forward + 4 backward): a definition of the estimate
TRAIN_FLOP_PER_PARAM = 6.0


class MeterLike(Protocol):
    def phase(self, name: str) -> contextlib.AbstractContextManager[Any]: ...

    def add_work(self, amount: float = 1, unit: str | None = None) -> None: ...


@dataclass
class WorkloadResult:
    """What a workload did: its name, units of work per unit name, seconds spent, facts."""

    name: str
    work: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    facts: dict[str, Any] = field(default_factory=dict)


def torch_available() -> bool:
    """Whether torch can be imported here (without importing it)."""
    return importlib.util.find_spec("torch") is not None


def mlp_param_count(width: int = 512, inputs: int = 256, classes: int = 10) -> int:
    """Parameters of the MLP trained by :func:`torch_train` (weights and biases)."""
    return inputs * width + width + width * width + width + width * classes + classes


def numpy_matmul(meter: MeterLike, seconds: float, size: int = 384, seed: int = 0) -> WorkloadResult:
    """Multiply ``size``x``size`` float32 matrices for about ``seconds``; one ``matmul`` per product."""
    import numpy as np

    rng = np.random.default_rng(seed)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    count = 0
    t0 = time.perf_counter()
    with meter.phase("numpy-matmul"):
        while time.perf_counter() - t0 < seconds:
            for _ in range(4):
                c = a @ b
                a = c * np.float32(1.0 / size)  # keep values bounded
            count += 4
            meter.add_work(4, "matmul")
            meter.add_work(4 * 2.0 * size**3, "flop")
    elapsed = time.perf_counter() - t0
    gflop = 2.0 * size**3 * count / 1e9
    work = {"matmul": float(count), "flop": gflop * 1e9}
    return WorkloadResult("numpy-matmul", work, elapsed, {"size": size, "gflop": gflop})


def torch_train(
    meter: MeterLike,
    seconds: float,
    device: str = "cpu",
    batch_size: int = 64,
    width: int = 512,
    seed: int = 0,
) -> WorkloadResult:
    """Train a 3-layer MLP on synthetic classification data for about ``seconds`` on ``device``."""
    import torch

    dev = torch.device(device)
    with meter.phase(f"torch-setup-{dev.type}"):
        model, opt, loss_fn, x, y = _mlp_setup(torch, dev, batch_size, width, seed)
    n_params = sum(p.numel() for p in model.parameters())
    samples = 0
    steps = 0
    loss_value = float("nan")
    t0 = time.perf_counter()
    with meter.phase(f"torch-train-{dev.type}"):
        while time.perf_counter() - t0 < seconds:
            i = (steps % 16) * batch_size
            loss = train_step(meter, model, opt, loss_fn, (x[i : i + batch_size], y[i : i + batch_size]))
            steps += 1
            samples += batch_size
            meter.add_work(batch_size, "sample")
            meter.add_work(TRAIN_FLOP_PER_PARAM * n_params * batch_size, "flop")
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        loss_value = float(loss.detach().cpu()) if steps else loss_value
    elapsed = time.perf_counter() - t0
    facts = {"device": dev.type, "params": n_params, "batch_size": batch_size, "steps": steps, "final_loss": loss_value}
    work = {"sample": float(samples), "flop": TRAIN_FLOP_PER_PARAM * n_params * samples}
    return WorkloadResult(f"torch-train-{dev.type}", work, elapsed, facts)


def train_step(meter: MeterLike, model: Any, opt: Any, loss_fn: Any, batch: tuple[Any, Any]) -> Any:
    """One training step on ``batch`` (inputs, labels) in the phases ``forward``, ``backward`` and
    ``optimizer``; returns the loss."""
    xb, yb = batch
    with meter.phase("forward"):
        loss = loss_fn(model(xb), yb)
    with meter.phase("backward"):
        opt.zero_grad(set_to_none=True)
        loss.backward()
    with meter.phase("optimizer"):
        opt.step()
    return loss


def _mlp_setup(torch: Any, dev: Any, batch_size: int, width: int, seed: int) -> tuple[Any, Any, Any, Any, Any]:
    """Model, optimiser, loss and synthetic data on ``dev``, warmed up by one step (not counted)."""
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(256, width),
        torch.nn.ReLU(),
        torch.nn.Linear(width, width),
        torch.nn.ReLU(),
        torch.nn.Linear(width, 10),
    ).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.randn(batch_size * 16, 256, device=dev)
    y = torch.randint(0, 10, (batch_size * 16,), device=dev)
    loss_fn(model(x[:batch_size]), y[:batch_size]).backward()  # first call: kernels and allocator warm up
    opt.zero_grad(set_to_none=True)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return model, opt, loss_fn, x, y
