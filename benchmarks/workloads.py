"""Real workloads for the benchmarks, each reporting the work it did in named units.

Every workload is a function ``fn(seconds=None, steps=None, device="cpu", **params) -> Done``:
run for about ``seconds`` (checked between steps) or exactly ``steps`` steps, and return how
many work units were done (``Done.units``, unit in :data:`WORKLOADS`). For measurements that
must keep model building and warm-up outside the measured window, :func:`build` returns a
:class:`Job` whose :meth:`Job.run` does the same thing on an already built model.

No downloads: models use random weights and synthetic data. GPU workloads synchronise the
device before returning, so a caller's clock and energy reads cover the GPU work.

Workloads (unit):
  cpu_matmul (matmul)       numpy float64 matrix products
  cpu_train (sample)        a small torch MLP trained with SGD on CPU
  gpu_matmul (matmul)       torch matrix products in fp32, tf32, bf16 or fp16
  transformer_train (token) a small nn.TransformerEncoder language model on synthetic tokens
  inference (query)         batched forward passes of a randomly initialised transformer
  bursty (matmul)           gpu_matmul bursts alternating with idle gaps
  burst (matmul)            one GPU burst of a given length (short-window benchmarks)
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

PRECISIONS = ("fp32", "tf32", "bf16", "fp16")


@dataclass
class Done:
    """Work done by one workload run: ``units`` of ``unit`` in ``steps`` steps over ``seconds``."""

    units: float
    unit: str
    steps: int
    seconds: float
    params: dict[str, Any] = field(default_factory=dict)


class Job:
    """A built workload: call :meth:`run` (after optional warm-up) to do measured work."""

    unit = "item"

    def __init__(self, device: str = "cpu", **params: Any) -> None:
        self.device = device
        self.params = dict(params)
        self.units_per_step = 1.0

    def step(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def sync(self) -> None:
        """Wait for queued device work (no-op on CPU)."""
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.synchronize()

    @contextlib.contextmanager
    def context(self) -> Iterator[None]:
        """Precision settings active while stepping (see :func:`use_precision`)."""
        yield

    def run(self, seconds: float | None = None, steps: int | None = None, check_every: int = 1) -> Done:
        """Run ``steps`` steps, or steps until ``seconds`` have passed; sync; report work."""
        if (seconds is None) == (steps is None):
            raise ValueError("give exactly one of seconds or steps")
        done = 0
        t0 = time.perf_counter()
        with self.context():
            if steps is not None:
                for _ in range(int(steps)):
                    self.step()
                done = int(steps)
            else:
                assert seconds is not None
                while True:
                    self.step()
                    done += 1
                    if done % check_every == 0:
                        self.sync()
                        if time.perf_counter() - t0 >= seconds:
                            break
            self.sync()
        elapsed = time.perf_counter() - t0
        return Done(done * self.units_per_step, self.unit, done, elapsed, dict(self.params))


# ---- precision ----------------------------------------------------------------------------
@contextlib.contextmanager
def use_precision(name: str) -> Iterator[Any]:
    """Set torch's matmul precision for ``name`` and yield the tensor dtype to use.

    fp32: strict IEEE fp32 (TF32 off); tf32: fp32 tensors with TF32 tensor cores;
    bf16/fp16: half-precision tensors. Restores the previous flags on exit.
    """
    import torch

    if name not in PRECISIONS:
        raise ValueError(f"precision {name!r}: expected one of {PRECISIONS}")
    old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    tf32 = name == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    try:
        yield {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[name]
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def _autocast(device: str, name: str) -> contextlib.AbstractContextManager[Any]:
    import torch

    if name in ("bf16", "fp16"):
        dtype = torch.bfloat16 if name == "bf16" else torch.float16
        kind = "cuda" if device.startswith("cuda") else "cpu"
        if kind == "cpu" and name == "fp16":
            dtype = torch.bfloat16  # fp16 autocast on CPU is poorly supported; bf16 instead
        return torch.autocast(kind, dtype=dtype)
    return contextlib.nullcontext()


# ---- CPU ----------------------------------------------------------------------------------
class CpuMatmul(Job):
    unit = "matmul"

    def __init__(self, device: str = "cpu", n: int = 384, **params: Any) -> None:
        import numpy as np

        super().__init__(device, n=n, **params)
        rng = np.random.default_rng(0)
        self.a = rng.standard_normal((n, n))
        self.b = rng.standard_normal((n, n))
        self.gflop_per_unit = 2.0 * n**3 / 1e9

    def step(self) -> None:
        self.c = self.a @ self.b


class CpuTrain(Job):
    unit = "sample"

    def __init__(self, device: str = "cpu", batch_size: int = 64, width: int = 256, **params: Any) -> None:
        import torch

        super().__init__(device, batch_size=batch_size, width=width, **params)
        torch.manual_seed(0)
        self.model = torch.nn.Sequential(
            torch.nn.Linear(128, width),
            torch.nn.ReLU(),
            torch.nn.Linear(width, width),
            torch.nn.ReLU(),
            torch.nn.Linear(width, 10),
        )
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01)
        self.x = torch.randn(batch_size, 128)
        self.y = torch.randint(0, 10, (batch_size,))
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.units_per_step = float(batch_size)

    def step(self) -> None:
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()


# ---- GPU (torch; also runs on CPU in small sizes for smoke tests) --------------------------
class TorchMatmul(Job):
    unit = "matmul"

    def __init__(
        self, device: str = "cuda", precision: str = "bf16", n: int = 8192, per_step: int = 4, **params: Any
    ) -> None:
        import torch

        super().__init__(device, precision=precision, n=n, per_step=per_step, **params)
        self._prec = precision
        with use_precision(precision) as dtype:
            gen = torch.Generator(device="cpu").manual_seed(0)
            self.a = torch.randn(n, n, generator=gen).to(device=device, dtype=dtype)
            self.b = torch.randn(n, n, generator=gen).to(device=device, dtype=dtype)
        self.per_step = per_step
        self.units_per_step = float(per_step)
        self.gflop_per_unit = 2.0 * n**3 / 1e9

    def context(self) -> contextlib.AbstractContextManager[Any]:
        return use_precision(self._prec)

    def step(self) -> None:
        for _ in range(self.per_step):
            self.c = self.a @ self.b


def _tiny_lm(vocab: int, d_model: int, layers: int, heads: int, seq_len: int, device: str) -> Any:
    import torch
    from torch import nn

    class TinyLM(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(vocab, d_model)
            self.pos = nn.Parameter(torch.zeros(1, seq_len, d_model))
            layer = nn.TransformerEncoderLayer(
                d_model, heads, dim_feedforward=4 * d_model, dropout=0.0, batch_first=True, norm_first=True
            )
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.head = nn.Linear(d_model, vocab)
            mask = torch.triu(torch.full((seq_len, seq_len), float("-inf")), diagonal=1)
            self.register_buffer("mask", mask)

        def forward(self, tokens: Any) -> Any:
            h = self.embed(tokens) + self.pos[:, : tokens.shape[1]]
            h = self.encoder(h, mask=self.mask[: tokens.shape[1], : tokens.shape[1]], is_causal=True)
            return self.head(h)

    torch.manual_seed(0)
    return TinyLM().to(device)


class TransformerTrain(Job):
    """A small causal transformer LM trained with AdamW on random tokens (unit: token)."""

    unit = "token"

    def __init__(
        self,
        device: str = "cuda",
        precision: str = "bf16",
        batch_size: int = 32,
        seq_len: int = 256,
        d_model: int = 512,
        layers: int = 4,
        heads: int = 8,
        vocab: int = 8192,
        **params: Any,
    ) -> None:
        import torch

        super().__init__(
            device,
            precision=precision,
            batch_size=batch_size,
            seq_len=seq_len,
            d_model=d_model,
            layers=layers,
            vocab=vocab,
            **params,
        )
        self._prec = precision
        self.model = _tiny_lm(vocab, d_model, layers, heads, seq_len, device)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=3e-4)
        gen = torch.Generator(device="cpu").manual_seed(1)
        self.tokens = torch.randint(0, vocab, (batch_size, seq_len + 1), generator=gen).to(device)
        self.loss_fn = torch.nn.CrossEntropyLoss()
        self.units_per_step = float(batch_size * seq_len)
        self.vocab = vocab

    def context(self) -> contextlib.AbstractContextManager[Any]:
        return use_precision(self._prec)

    def step(self) -> None:
        x, y = self.tokens[:, :-1], self.tokens[:, 1:]
        self.opt.zero_grad(set_to_none=True)
        with _autocast(self.device, self._prec):
            logits = self.model(x)
            loss = self.loss_fn(logits.reshape(-1, self.vocab).float(), y.reshape(-1))
        loss.backward()
        self.opt.step()


class Inference(Job):
    """Batched forward passes of a randomly initialised transformer (unit: query = one sequence)."""

    unit = "query"

    def __init__(
        self,
        device: str = "cuda",
        precision: str = "bf16",
        batch_size: int = 64,
        seq_len: int = 128,
        d_model: int = 512,
        layers: int = 6,
        heads: int = 8,
        vocab: int = 8192,
        **params: Any,
    ) -> None:
        import torch

        super().__init__(
            device,
            precision=precision,
            batch_size=batch_size,
            seq_len=seq_len,
            d_model=d_model,
            layers=layers,
            **params,
        )
        self._prec = precision
        self.model = _tiny_lm(vocab, d_model, layers, heads, seq_len, device).eval()
        gen = torch.Generator(device="cpu").manual_seed(2)
        self.tokens = torch.randint(0, vocab, (batch_size, seq_len), generator=gen).to(device)
        self.units_per_step = float(batch_size)

    def context(self) -> contextlib.AbstractContextManager[Any]:
        return use_precision(self._prec)

    def step(self) -> None:
        import torch

        with torch.inference_mode(), _autocast(self.device, self._prec):
            self.out = self.model(self.tokens)[:, -1].argmax(-1)


class Bursty(TorchMatmul):
    """Matrix bursts of ``burst_s`` seconds separated by idle gaps of ``gap_s`` (unit: matmul)."""

    def __init__(
        self,
        device: str = "cuda",
        precision: str = "bf16",
        n: int = 8192,
        burst_s: float = 0.3,
        gap_s: float = 0.3,
        **params: Any,
    ) -> None:
        super().__init__(device, precision=precision, n=n, per_step=1, burst_s=burst_s, gap_s=gap_s, **params)
        self.burst_s = burst_s
        self.gap_s = gap_s
        self.k = calibrate(self, burst_s)
        self.units_per_step = float(self.k)

    def step(self) -> None:
        for _ in range(self.k):
            self.c = self.a @ self.b
        self.sync()
        time.sleep(self.gap_s)


class Burst(TorchMatmul):
    """One GPU burst of about ``burst_s`` seconds per step, synchronised (unit: matmul)."""

    def __init__(
        self, device: str = "cuda", precision: str = "bf16", n: int = 4096, burst_s: float = 0.05, **params: Any
    ) -> None:
        super().__init__(device, precision=precision, n=n, per_step=1, burst_s=burst_s, **params)
        self.burst_s = burst_s
        self.k = calibrate(self, burst_s)
        self.units_per_step = float(self.k)

    def step(self) -> None:
        for _ in range(self.k):
            self.c = self.a @ self.b
        self.sync()


def calibrate(job: TorchMatmul, target_s: float, trials: int = 3) -> int:
    """How many of ``job``'s matrix products take about ``target_s`` seconds (at least 1)."""
    with job.context():
        for _ in range(3):  # warm up kernels and clocks
            job.c = job.a @ job.b
        job.sync()
        k = 1
        per = None
        for _ in range(trials):
            t0 = time.perf_counter()
            for _ in range(k):
                job.c = job.a @ job.b
            job.sync()
            dt = time.perf_counter() - t0
            per = dt / k
            k = max(1, round(target_s / max(per, 1e-6)))
    return max(1, k)


# ---- the registry -------------------------------------------------------------------------
@dataclass(frozen=True)
class Workload:
    name: str
    unit: str
    job: Callable[..., Job]
    needs_gpu: bool
    description: str
    smoke_params: dict[str, Any] = field(default_factory=dict)


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in [
        Workload("cpu_matmul", "matmul", CpuMatmul, False, "numpy float64 n x n matrix products", {"n": 128}),
        Workload(
            "cpu_train",
            "sample",
            CpuTrain,
            False,
            "torch MLP (128-256-256-10) trained with SGD on CPU",
            {"batch_size": 32},
        ),
        Workload("gpu_matmul", "matmul", TorchMatmul, True, "torch n x n matrix products", {"n": 128, "per_step": 1}),
        Workload(
            "transformer_train",
            "token",
            TransformerTrain,
            True,
            "causal transformer LM (nn.TransformerEncoder) trained with AdamW on random tokens",
            {"batch_size": 4, "seq_len": 32, "d_model": 64, "layers": 1, "heads": 2, "vocab": 256},
        ),
        Workload(
            "inference",
            "query",
            Inference,
            True,
            "batched forward passes of a random-weight transformer",
            {"batch_size": 8, "seq_len": 32, "d_model": 64, "layers": 1, "heads": 2, "vocab": 256},
        ),
        Workload(
            "bursty",
            "matmul",
            Bursty,
            True,
            "GPU matmul bursts with idle gaps",
            {"n": 128, "burst_s": 0.05, "gap_s": 0.05},
        ),
        Workload(
            "burst", "matmul", Burst, True, "one short synchronised GPU burst per step", {"n": 128, "burst_s": 0.02}
        ),
    ]
}


def build(name: str, device: str = "cpu", **params: Any) -> Job:
    """Build workload ``name`` on ``device`` (``cpu`` or ``cuda``) with its parameters."""
    if name not in WORKLOADS:
        raise ValueError(f"workload {name!r}: expected one of {sorted(WORKLOADS)}")
    if device.startswith("cuda") and name.startswith("cpu_"):
        raise ValueError(f"workload {name!r} runs on CPU only")
    if name in ("cpu_matmul", "cpu_train"):
        device = "cpu"
    elif device == "cpu" and name in ("gpu_matmul", "bursty", "burst"):
        params.setdefault("precision", "fp32")
    return WORKLOADS[name].job(device=device, **params)


def _make(name: str) -> Callable[..., Done]:
    def fn(seconds: float | None = None, steps: int | None = None, device: str = "cpu", **params: Any) -> Done:
        return build(name, device, **params).run(seconds=seconds, steps=steps)

    fn.__name__ = name
    fn.__doc__ = f"{WORKLOADS[name].description} (unit: {WORKLOADS[name].unit}); see the module docstring."
    return fn


cpu_matmul = _make("cpu_matmul")
cpu_train = _make("cpu_train")
gpu_matmul = _make("gpu_matmul")
transformer_train = _make("transformer_train")
inference = _make("inference")
bursty = _make("bursty")
burst = _make("burst")
