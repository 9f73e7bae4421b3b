"""Derive the training corpus of ``ecometer-training`` from published figures (issue 24).

    python -m benchmarks.training_corpus [--shared ../shared/data] [--check]

Inputs (read-only, from the shared reference data; their origins in its README):

- MLPerf Training v4.0/v4.1 power summaries (MLCommons, Apache-2.0): measured energy to train,
  time to train and mean system power per system and benchmark. Copied unchanged to
  ``ecometer/data/corpora/mlperf-training/``.
- Epoch AI, Notable AI Models (24 Feb 2025, CC BY 4.0): training compute (FLOP), hardware,
  hardware quantity, training time and an estimated training power draw per model.
- Meta's Llama model cards (GPU hours, stated power): the held-out cross-check.

What is derived, and how:

1. IT power per H100 under training, *measured*: MLPerf's mean system power per accelerator on
   its multi-node H100 systems (AC power at the wall, v4.0 and v4.1): the median, with the
   smallest and largest as the range.
2. Epoch's power draw is a model (the same 1,542 W per H100 for every H100 run: accelerator TDP
   with server and data-centre overheads). The ratio *measured IT / Epoch* on H100 turns every
   Epoch power figure into IT power (the same overhead model for all hardware is Epoch's).
3. IT energy of each model = Epoch power x ratio x training time. Runs whose FLOP per joule of
   IT energy exceeds :data:`CEILING_GFLOP_PER_J` are dropped as impossible for any listed
   accelerator (their compute includes a base model's pre-training: fine-tunes).
4. Cross-check (held out): Llama 3.x compute (Epoch) / (model-card GPU hours x the measured IT
   power per H100) against the corpus figure for the same model.

Writes ``ecometer/data/corpora/training-runs/epoch-notable-it-energy.csv`` and the MLPerf
copies; ``--check`` only compares the shipped files with a fresh derivation.
"""

from __future__ import annotations

import argparse
import csv
import io
import statistics
import sys
from pathlib import Path

from benchmarks._common import ROOT

OUT = ROOT / "ecometer" / "data" / "corpora"
MLPERF_FILES = ("training_v4.0_power_summary_derived.csv", "training_v4.1_power_summary_derived.csv")
#: above this, FLOP per joule of IT energy is out of reach of every accelerator in the table
#: (an H100 SXM peaks at 989 dense BF16 TFLOPS at 700 W: 1,413 GFLOP/J of GPU energy alone)
CEILING_GFLOP_PER_J = 1000.0
COLUMNS = [
    "model",
    "organization",
    "publication_date",
    "hardware",
    "hardware_quantity",
    "training_hours",
    "training_flop",
    "epoch_power_w",
    "it_power_w",
    "it_energy_kwh",
    "gflop_per_it_joule",
]


def mlperf_it_watts_per_h100(shared: Path) -> tuple[float, float, float, list[str]]:
    """(median, low, high) AC system power per H100 in MLPerf Training multi-node runs, W; rows used."""
    watts, used = [], []
    for name in MLPERF_FILES:
        for row in csv.DictReader((shared / "mlperf-power" / name).open(encoding="utf-8")):
            if "H100" not in row["accelerator"] or "dc-power" in row["organization"].lower():
                continue  # DC rows are measured after the power supplies: not IT energy at the wall
            if int(row["number_of_nodes"]) < 2:
                continue  # one node: no network, storage or fabric; a training job at scale has them
            gpus = int(row["number_of_nodes"]) * int(row["accelerators_per_node"])
            watts.append(float(row["mean_system_power_kW"]) * 1000.0 / gpus)
            used.append(f"{row['mlperf_training_version']} {row['system']} {row['benchmark']}")
    return statistics.median(watts), min(watts), max(watts), used


def epoch_rows(shared: Path) -> list[dict[str, str]]:
    path = shared / "training" / "notable_ai_models_24_02_2025.csv"
    keep = []
    for row in csv.DictReader(path.open(encoding="utf-8")):
        if all(row[k].strip() for k in ("Training power draw (W)", "Training compute (FLOP)", "Training time (hours)")):
            if row["Hardware quantity"].strip() and row["Training hardware"].strip():
                keep.append(row)
    return keep


def derive(shared: Path) -> tuple[list[dict[str, object]], dict[str, object]]:
    """The corpus rows and the facts of the derivation (ratio, ranges, drops, cross-check)."""
    it_w, it_lo, it_hi, used = mlperf_it_watts_per_h100(shared)
    rows = epoch_rows(shared)
    epoch_h100 = [
        float(r["Training power draw (W)"]) / float(r["Hardware quantity"])
        for r in rows
        if "H100" in r["Training hardware"]
    ]
    epoch_w = statistics.median(epoch_h100)
    ratio = it_w / epoch_w
    out, dropped = [], []
    for r in rows:
        flop, hours = float(r["Training compute (FLOP)"]), float(r["Training time (hours)"])
        power = float(r["Training power draw (W)"])
        kwh = power * ratio * hours / 1000.0
        gflop_j = flop / (kwh * 3.6e6) / 1e9
        if gflop_j > CEILING_GFLOP_PER_J:
            dropped.append(f"{r['Model']} ({gflop_j:,.0f} GFLOP/J)")
            continue
        out.append(
            {
                "model": r["Model"].strip(),
                "organization": r["Organization"].strip(),
                "publication_date": r["Publication date"].strip(),
                "hardware": r["Training hardware"].strip(),
                "hardware_quantity": f"{float(r['Hardware quantity']):g}",
                "training_hours": f"{hours:g}",
                "training_flop": f"{flop:.4g}",
                "epoch_power_w": f"{power:.6g}",
                "it_power_w": f"{power * ratio:.6g}",
                "it_energy_kwh": f"{kwh:.6g}",
                "gflop_per_it_joule": f"{gflop_j:.4g}",
            }
        )
    facts = {
        "mlperf_it_w_per_h100": it_w,
        "mlperf_range_w": (it_lo, it_hi),
        "mlperf_rows": used,
        "epoch_w_per_h100": epoch_w,
        "ratio": ratio,
        "spread": max(it_hi / it_w - 1.0, 1.0 - it_lo / it_w),
        "dropped": dropped,
        "cross_check": cross_check(shared, it_w, out),
    }
    return out, facts


def cross_check(shared: Path, it_w: float, corpus: list[dict[str, object]]) -> list[tuple[str, float, float]]:
    """(model, GFLOP/J from the model card's GPU hours, GFLOP/J in the corpus) for models in both."""
    cards = {
        r["model"]: r for r in csv.DictReader((shared / "training" / "llama_model_card_training_energy.csv").open())
    }
    names = {"Llama 3.1 405B": "Llama 3.1-405B", "Llama 2 70B": "Llama 2-70B", "Llama 3 70B": "Llama 3-70B"}
    by_name = {str(r["model"]): r for r in corpus}
    out = []
    for card, epoch in names.items():
        if card in cards and epoch in by_name:
            flop = float(str(by_name[epoch]["training_flop"]))
            w = it_w if "H100" in cards[card]["hardware"] else it_w * 400.0 / 700.0  # A100: TDP 400 W vs 700 W
            kwh = float(cards[card]["gpu_hours"]) * w / 1000.0
            out.append((card, flop / (kwh * 3.6e6) / 1e9, float(str(by_name[epoch]["gflop_per_it_joule"]))))
    return out


def to_csv(rows: list[dict[str, object]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--check", action="store_true", help="compare the shipped files with a fresh derivation")
    args = ap.parse_args(argv)
    rows, facts = derive(args.shared)
    target = OUT / "training-runs" / "epoch-notable-it-energy.csv"
    text = to_csv(rows)
    if args.check:
        same = target.read_text(encoding="utf-8") == text
        sys.stdout.write("shipped corpus matches the derivation\n" if same else "shipped corpus DIFFERS\n")
        return 0 if same else 1
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    mlperf = OUT / "mlperf-training"
    mlperf.mkdir(parents=True, exist_ok=True)
    for name in MLPERF_FILES:
        (mlperf / name).write_bytes((args.shared / "mlperf-power" / name).read_bytes())
    lo, hi = facts["mlperf_range_w"]  # type: ignore[misc]
    lines = [
        f"corpus: {len(rows)} runs -> {target.relative_to(ROOT)}",
        f"MLPerf IT power per H100 (multi-node, AC): median {facts['mlperf_it_w_per_h100']:.0f} W, "
        f"range {lo:.0f}-{hi:.0f} W over {len(facts['mlperf_rows'])} rows",  # type: ignore[arg-type]
        f"Epoch power per H100: {facts['epoch_w_per_h100']:.0f} W; ratio IT/Epoch {facts['ratio']:.4f}; "
        f"spread +/-{facts['spread']:.1%}",
        f"dropped above {CEILING_GFLOP_PER_J:g} GFLOP/J: {'; '.join(facts['dropped'])}",  # type: ignore[arg-type]
    ]
    lines += [f"cross-check {m}: model card {a:.0f} GFLOP/J, corpus {b:.0f}" for m, a, b in facts["cross_check"]]  # type: ignore[union-attr]
    lines += ["", grade_spread()]
    text = "\n".join(lines) + "\n"
    report = ROOT / "reports" / "published" / "training.md"
    report.write_text(
        "# ecometer-training 0.2.0: its corpus\n\nCommand: `python -m benchmarks.training_corpus`\n\n```\n"
        + text
        + "```\n"
    )
    sys.stdout.write(text)
    return 0


def grade_spread() -> str:
    """How the shipped standard grades its own corpus, by decade of publication and hardware family."""
    from collections import Counter

    from ecometer.standards import load_standard, score
    from ecometer.standards.tables import import_tables, load_spec, spec_files

    spec = load_spec("training-runs")
    std = load_standard("ecometer-training")
    counts: dict[str, Counter[str]] = {}
    for rec in import_tables(spec_files(spec), spec):
        hw = str(rec.meta.get("hardware", ""))
        family = (
            "H100"
            if "H100" in hw
            else "A100"
            if "A100" in hw
            else "TPU"
            if "TPU" in hw
            else "V100"
            if "V100" in hw
            else "other"
        )
        counts.setdefault(family, Counter())[score(rec, std).grade or "not rated"] += 1
    rows = [f"{fam:6} " + ", ".join(f"{g} {n}" for g, n in sorted(c.items())) for fam, c in sorted(counts.items())]
    return "grades of the corpus by hardware (ecometer-training 0.2.0):\n" + "\n".join(rows)


if __name__ == "__main__":
    raise SystemExit(main())
