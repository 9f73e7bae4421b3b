"""Efficiency sweep: which precision, batch size or GPU power limit does the same work for less?

    python -m benchmarks.sweep                      # GPU: precision, batch size, power limit
    python -m benchmarks.sweep --quick              # shorter points (5.5 s each)
    python -m benchmarks.sweep --workload transformer_train --standard ecometer-training
    python -m benchmarks.sweep --cpu                # tiny CPU fallback for a local smoke test

One axis at a time around a base point (bf16, batch 64, the GPU's default power limit):
precision fp32 / tf32 / bf16; batch size 8 / 64 / 256; power limit 100 / 70 / 50 % of the
maximum (clamped to the driver's minimum; set with ``nvmlDeviceSetPowerManagementLimit``,
which needs root; the original limit is restored in a ``finally``, on SIGTERM too). Each
point runs the workload for a fixed time under an ``ecometer.Meter`` whose record carries
meta {precision, batch_size, power_limit_w, model_params, task}, the work done (queries or
tokens, plus training FLOP), a footprint for ``--site`` and an assessment against the
built-in standard. Charts and tables come from the same machinery as ``ecometer compare``
(``ecometer.commands.cli.main(["compare", ...])``), one per axis.

Writes ``reports/benchmarks/<tag>/sweep/``: records/*.json, <axis>.png, sweep.md, sweep.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import signal
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import _common as C
from benchmarks import workloads as W

BASE = {"precision": "bf16", "batch_size": 64}
STANDARD_FOR = {"inference": "ecometer-inference", "transformer_train": "ecometer-training"}


class PowerLimit:
    """GPU ``index``'s power limit, set (clamped to the driver's range) and always put back,
    through the bench's power limits (:class:`ecometer.bench.power.PowerLimits`, on ecometer's
    NVML layer). ``nvml``: an :class:`ecometer.sensors.nvml_device.Nvml` (default the real one)."""

    def __init__(self, index: int = 0, nvml: Any = None) -> None:
        from ecometer.bench.power import PowerLimits

        self.limits = PowerLimits([index], nvml)
        self.index = index
        self.original_mw = self.limits.original_mw[index]
        self.min_mw, self.max_mw = self.limits.range_mw[index]
        self.default_mw = self.limits.devices[0].power_management_default_limit_mw()

    def set_w(self, watts: float) -> float:
        return self.limits.set(min(max(watts * 1000, self.min_mw), self.max_mw) / 1000)[self.index]

    def restore(self) -> None:
        problems = self.limits.restore()
        if problems:
            raise RuntimeError("; ".join(problems))


def model_params(job: W.Job) -> int:
    model = getattr(job, "model", None)
    return int(sum(p.numel() for p in model.parameters())) if model is not None else 0


def points(args: argparse.Namespace, power: PowerLimit | None) -> list[dict[str, Any]]:
    """The sweep points: one axis varied at a time around the base."""
    if args.cpu:
        precisions = ["fp32", "bf16"]
        batches = [4, 16]
        base = {"precision": "fp32", "batch_size": 4}
    else:
        precisions = ["fp32", "tf32", "bf16"]
        batches = [8, 64, 256]
        base = dict(BASE)
    pts: list[dict[str, Any]] = []
    for p in precisions:
        pts.append({**base, "precision": p, "axes": ["precision"]})
    for b in batches:
        pt = {**base, "batch_size": b, "axes": ["batch_size"]}
        same = next((x for x in pts if x["precision"] == pt["precision"] and x["batch_size"] == b), None)
        if same:
            same["axes"].append("batch_size")
        else:
            pts.append(pt)
    if power is not None:
        max_w = power.default_mw / 1000.0
        for frac in (1.0, 0.7, 0.5):
            watts = max(max_w * frac, power.min_mw / 1000.0)
            if frac == 1.0:
                for x in pts:
                    if x["precision"] == base["precision"] and x["batch_size"] == base["batch_size"]:
                        x["axes"].append("power_limit_w")
                        x["power_target_w"] = watts
                continue
            pts.append({**base, "power_target_w": watts, "axes": ["power_limit_w"]})
    return pts


def run_point(
    pt: dict[str, Any], args: argparse.Namespace, power: PowerLimit | None, rec_dir: Path, log: Any
) -> dict[str, Any]:
    import ecometer

    device = "cpu" if args.cpu else "cuda"
    params: dict[str, Any] = dict(W.WORKLOADS[args.workload].smoke_params) if args.cpu else {}
    params.update({"precision": pt["precision"], "batch_size": pt["batch_size"]})
    job = W.build(args.workload, device, **params)
    limit_w = None
    if power is not None:
        limit_w = round(power.set_w(pt.get("power_target_w", power.default_mw / 1000.0)))
    job.run(seconds=args.warmup_s)
    nparams = model_params(job)
    name = f"{args.workload}-{pt['precision']}-b{pt['batch_size']}" + (f"-{limit_w:.0f}W" if limit_w else "")
    meta = {
        "task": "training" if args.workload == "transformer_train" else "inference",
        "workload": args.workload,
        "precision": pt["precision"],
        "batch_size": pt["batch_size"],
        "power_limit_w": limit_w,
        "model_params": nparams,
        "hardware": (C.nvml_gpus() or [{"name": C.cpu_model()}])[0]["name"] if not args.cpu else C.cpu_model(),
    }
    std = args.standard if args.standard != "none" else None
    site = args.site if args.site != "none" else None
    path = rec_dir / f"{name}.json"
    meter = ecometer.measure(name, out=str(path), work_unit=job.unit, meta=meta, site=site, standard=std)
    meter.start()
    done = job.run(seconds=args.seconds)
    meter.add_work(done.units, job.unit)
    if args.workload == "transformer_train":
        meter.add_work(6.0 * nparams * done.units, "flop")  # dense-transformer training FLOP estimate
    rec = meter.stop()
    grade = None
    not_rated: list[str] = []
    if rec.assessment is not None:
        grade = getattr(rec.assessment, "grade", None)
        not_rated = list(getattr(rec.assessment, "not_rated", []) or [])
    per_unit = rec.energy_j / done.units if done.units else None
    log(
        f"  {name}: {rec.duration_s:.1f} s, {rec.energy_j:.0f} J, {done.units:.0f} {job.unit}, "
        f"{per_unit:.4g} J/{job.unit}, grade {grade}"
    )
    return {
        "name": name,
        "record": str(path.relative_to(rec_dir.parent)),
        "axes": pt["axes"],
        "meta": meta,
        "duration_s": rec.duration_s,
        "energy_j": rec.energy_j,
        "gpu_j": rec.components["gpu"].energy_j if "gpu" in rec.components else None,
        "methods": rec.methods,
        "units": done.units,
        "unit": job.unit,
        "j_per_unit": per_unit,
        "units_per_s": done.units / rec.duration_s if rec.duration_s else None,
        "grade": grade,
        "not_rated": not_rated,
    }


def compare_charts(results: list[dict[str, Any]], out_dir: Path, args: argparse.Namespace, log: Any) -> dict[str, Any]:
    """One ``ecometer compare`` chart and table per axis, through the CLI's own code."""
    try:
        from ecometer.commands import cli
    except ImportError as exc:  # pragma: no cover - part of the package
        return {"error": f"ecometer.commands.cli unavailable: {exc}"}
    out: dict[str, Any] = {}
    for axis in ("precision", "batch_size", "power_limit_w"):
        paths = [str(out_dir / r["record"]) for r in results if axis in r["axes"]]
        if len(paths) < 2:
            continue
        png = out_dir / f"{axis}.png"
        argv = ["compare", *paths, "--by", axis, "--out", str(png), "--table"]
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            try:
                code = cli.main(argv)
            except SystemExit as exc:  # argparse errors
                code = int(exc.code or 2)
        out[axis] = {"exit": code, "chart": png.name if png.exists() else None, "table": buf.getvalue().strip()}
        log(f"  compare --by {axis}: exit {code}, chart {png.name if png.exists() else 'not written'}")
    return out


def markdown(res: dict[str, Any], env: dict[str, Any]) -> str:
    v = env["versions"]
    gpus = ", ".join(g["name"] for g in env.get("gpus", [])) or "none"
    lines = [
        "# Efficiency sweep",
        "",
        f"Machine: {env['cpu_model']} ({env['logical_cpus']} CPUs), GPU: {gpus}; torch {v['torch']}, ecometer {v['ecometer']}.",
        f"Command: `{res['command']}` ({res['wall_s']:.0f} s wall). Workload `{res['workload']}` for {res['seconds']:g} s per point;"
        f" site `{res['site']}`, standard `{res['standard']}`.",
        "",
    ]
    if res.get("skipped"):
        lines += ["Skipped: " + "; ".join(res["skipped"]) + ".", ""]
    rows = [
        [
            r["name"],
            ", ".join(r["axes"]),
            r["meta"]["precision"],
            str(r["meta"]["batch_size"]),
            f"{r['meta']['power_limit_w']:.0f}" if r["meta"]["power_limit_w"] else "default",
            f"{r['duration_s']:.1f}",
            f"{r['energy_j']:.0f}",
            f"{r['units_per_s']:.4g}",
            f"{r['j_per_unit']:.4g}",
            str(r["grade"]) if r["grade"] else "not rated: " + "; ".join(r.get("not_rated") or ["no assessment"]),
        ]
        for r in res["points"]
    ]
    unit = res["points"][0]["unit"] if res["points"] else "unit"
    lines += [
        C.markdown_table(
            [
                "point",
                "axis",
                "precision",
                "batch",
                "power limit (W)",
                "s",
                "IT energy (J)",
                f"{unit}/s",
                f"J/{unit}",
                "grade",
            ],
            rows,
        ),
        "",
    ]
    for axis, c in (res.get("compare") or {}).items():
        if not isinstance(c, dict):
            continue
        lines += [f"## By {axis} (`ecometer compare --by {axis}`)", ""]
        if c.get("chart"):
            lines += [f"![{axis}]({c['chart']})", ""]
        if c.get("table"):
            lines += [c["table"], ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", default="inference", choices=sorted(STANDARD_FOR))
    ap.add_argument("--seconds", type=float, default=None, help="measured seconds per point (default 8, quick 5.5)")
    ap.add_argument("--warmup-s", type=float, default=1.0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--cpu", action="store_true", help="tiny CPU fallback (no power limits)")
    ap.add_argument("--no-power", action="store_true", help="do not touch the GPU power limit")
    ap.add_argument("--site", default="us-average", help="site preset for the footprint ('none' to skip)")
    ap.add_argument(
        "--standard", default=None, help="standard to assess with (default: the workload's built-in; 'none' to skip)"
    )
    ap.add_argument("--tag", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    args.standard = args.standard or STANDARD_FOR[args.workload]

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, flush=True)

    t0 = time.monotonic()
    env = C.environment()
    skipped: list[str] = []
    if not args.cpu and not (env["gpus"] and C.torch_cuda()):
        skipped.append("no CUDA GPU visible (NVML + torch): running the CPU fallback")
        args.cpu = True
    if not C.have("torch"):
        raise SystemExit("sweep needs torch (pip install torch)")
    args.seconds = args.seconds or (1.0 if args.cpu else 5.5 if args.quick else 8.0)
    tag = args.tag or C.machine_tag(env["gpus"])
    out_dir = Path(args.out) if args.out else C.REPORTS / tag / "sweep"
    rec_dir = out_dir / "records"
    rec_dir.mkdir(parents=True, exist_ok=True)
    for old in rec_dir.glob("*.json"):
        old.unlink()

    power: PowerLimit | None = None
    if not args.cpu and not args.no_power:
        try:
            power = PowerLimit(0)
            power.set_w(power.original_mw / 1000.0)  # probe: setting needs root
        except Exception as exc:  # noqa: BLE001 - report and sweep the other axes
            skipped.append(f"power limit not settable ({type(exc).__name__}: {exc}); run as root to sweep it")
            power = None

    def on_term(signum: int, frame: Any) -> None:
        raise SystemExit(f"signal {signum}")

    old_term = signal.signal(signal.SIGTERM, on_term)
    results: list[dict[str, Any]] = []
    try:
        for pt in points(args, power):
            results.append(run_point(pt, args, power, rec_dir, log))
    finally:
        if power is not None:
            power.restore()
            log(f"power limit restored to {power.original_mw / 1000:.0f} W")
        signal.signal(signal.SIGTERM, old_term)
    res: dict[str, Any] = {
        "benchmark": "sweep",
        "command": " ".join(["python -m benchmarks.sweep", *sys.argv[1:]]),
        "workload": args.workload,
        "seconds": args.seconds,
        "site": args.site,
        "standard": args.standard,
        "skipped": skipped,
        "points": results,
    }
    res["compare"] = compare_charts(results, out_dir, args, log)
    res["wall_s"] = time.monotonic() - t0
    C.write_json(out_dir / "sweep.json", {**res, "environment": env})
    md = markdown(res, env)
    (out_dir / "sweep.md").write_text(md, encoding="utf-8")
    log(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
