"""A small GPT-2 trained through the Hugging Face callback gets a grade from ecometer-training (issue 24).

    python -m benchmarks.gpt2_grade [--seconds 75] [--smoke] [--out DIR]

GPT-2 small (12 layers, 768 wide, 124M parameters; random weights from the config, nothing
downloaded) is trained with ``transformers.Trainer`` on random tokens (sequence 512, batch 16,
bf16 on a GPU) for ``--seconds`` (default 75: the standard needs 60 s), metered by
:class:`ecometer.integrations.hf.EcometerCallback` with the site ``us-average`` and the standard
``ecometer-training``. FLOPs are counted for the user (one step measured, then scaled by
tokens). Prints and writes the grade, its probabilities, FLOP per joule with its interval, how
the FLOPs were counted and the Trainer's own ``total_flos``. ``--smoke``: a tiny model on the
CPU for a few seconds (not rated: too short; the score says what would rate it).

Writes ``gpt2_grade.json`` and ``gpt2_grade.md`` under ``reports/benchmarks/<tag>/``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from benchmarks._common import REPORTS, environment, machine_tag, markdown_table, nvml_gpus, write_json


def trainer_for(args: argparse.Namespace, cuda: bool, out: Path) -> tuple[Any, Any]:
    import torch
    import transformers

    from ecometer.integrations.hf import EcometerCallback

    layers, width, seq, batch = (2, 64, 64, 4) if args.smoke else (12, 768, 512, 16)
    cfg = transformers.GPT2Config(n_layer=layers, n_embd=width, n_head=max(width // 64, 1), n_positions=seq)

    class Tokens(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 1_000_000

        def __getitem__(self, i: int) -> dict[str, Any]:
            g = torch.Generator().manual_seed(i)
            ids = torch.randint(0, cfg.vocab_size, (seq,), generator=g)
            return {"input_ids": ids, "labels": ids}

    class StopAfter(transformers.TrainerCallback):
        def __init__(self, seconds: float) -> None:
            self.seconds, self.t0 = seconds, 0.0

        def on_train_begin(self, *a: Any, **k: Any) -> None:
            self.t0 = time.monotonic()

        def on_step_end(self, a: Any, state: Any, control: Any, **k: Any) -> None:
            if time.monotonic() - self.t0 >= self.seconds:
                control.should_training_stop = True

    targs = transformers.TrainingArguments(
        output_dir=str(out / "gpt2-run"),
        per_device_train_batch_size=batch,
        max_steps=10**7,
        learning_rate=1e-4,
        bf16=cuda,
        use_cpu=not cuda,
        report_to="none",
        save_strategy="no",
        logging_strategy="no",
        disable_tqdm=True,
        dataloader_num_workers=2 if cuda else 0,
    )
    cb = EcometerCallback(name="gpt2-small", work_unit="token", site="us-average", standard="ecometer-training")
    model = transformers.GPT2LMHeadModel(cfg)
    trainer = transformers.Trainer(
        model=model, args=targs, train_dataset=Tokens(), callbacks=[cb, StopAfter(args.seconds)]
    )
    return trainer, cb


def result_of(cb: Any) -> dict[str, Any]:
    rec = cb.record
    a = rec.assessment
    m = a.metrics["flop_per_joule"]
    return {
        "duration_s": rec.duration_s,
        "energy_j": rec.energy_j,
        "components": {n: {"energy_j": c.energy_j, "method": c.method} for n, c in rec.components.items()},
        "tokens": rec.work.get("token"),
        "flop": rec.work.get("flop"),
        "flop_method": rec.meta.get("work_estimates", {}).get("flop", {}).get("method"),
        "trainer_total_flos": rec.meta.get("trainer_total_flos"),
        "gflop_per_j": m.value,
        "interval": [m.low, m.high],
        "grade": a.grade,
        "probabilities": a.probabilities,
        "not_rated": a.not_rated,
        "to_be_rated": a.to_be_rated,
        "notes": m.notes,
        "record": cb.path,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=75.0)
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    cuda = torch.cuda.is_available() and not args.smoke
    if args.smoke:
        args.seconds = min(args.seconds, 3.0)
    gpus = nvml_gpus() if cuda else []
    out = args.out or REPORTS / machine_tag(gpus)
    out.mkdir(parents=True, exist_ok=True)
    trainer, cb = trainer_for(args, cuda, out)
    trainer.train()
    r = result_of(cb)
    odds = ", ".join(f"{g} {p:.0%}" for g, p in (r["probabilities"] or {}).items())
    methods = ", ".join(f"{n} {c['method']}" for n, c in r["components"].items())
    rows = [
        ["duration", f"{r['duration_s']:.1f} s"],
        ["IT energy", f"{r['energy_j']:.4g} J ({methods})"],
        ["tokens", f"{r['tokens']:,.0f}"],
        ["FLOPs", f"{r['flop']:.4g} ({r['flop_method']}); Trainer total_flos {r['trainer_total_flos'] or 0:.4g}"],
        ["GFLOP/J", f"{r['gflop_per_j']:.4g} [{r['interval'][0]:.4g}, {r['interval'][1]:.4g}]"],
        [
            "grade",
            f"{r['grade'] or 'not rated'} ({odds})" + ("; " + "; ".join(r["not_rated"]) if r["not_rated"] else ""),
        ],
    ]
    rows += [["to be rated", step] for step in r["to_be_rated"]]
    text = (
        "# GPT-2 small through the HF callback, graded by ecometer-training\n\n"
        f"Command: `python -m benchmarks.gpt2_grade{' --smoke' if args.smoke else ''}`; "
        f"{'GPU ' + str(gpus) if cuda else 'CPU'}.\n\n" + markdown_table(["", "value"], rows) + "\n"
    )
    name = "gpt2_grade_smoke" if args.smoke else "gpt2_grade"
    (out / f"{name}.md").write_text(text, encoding="utf-8")
    write_json(out / f"{name}.json", {"environment": environment(gpus), "result": r})
    print(text)  # noqa: T201 - a benchmark script reports on stdout
    return 0 if (r["grade"] is not None or args.smoke) else 1


if __name__ == "__main__":
    raise SystemExit(main())
