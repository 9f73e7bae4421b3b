"""``ecometer bench`` and ``ecometer.bench``: the grid, the verdict's arithmetic, real subprocess
benches of tiny commands, resuming after a kill, and power limits through a scripted NVML."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ecometer.bench import bench
from ecometer.bench.grid import (
    POWER_LIMIT,
    command_for,
    configurations,
    parse_param,
    parse_params,
    round_order,
    unused_params,
)
from ecometer.bench.runner import ConfigRuns
from ecometer.bench.stats import robust_z, t_quantile
from ecometer.bench.targets import BenchInterrupted
from ecometer.bench.verdict import build_verdict, pareto
from ecometer.errors import UsageError
from ecometer.record.estimate import Estimate
from ecometer.record.model import Component, RunRecord

PY = sys.executable


# ---- the grid ------------------------------------------------------------------------------------
def test_params_are_typed_and_bad_ones_refused() -> None:
    p = parse_param("batch_size=8,32")
    assert p.values == (8, 32) and p.texts == ("8", "32")
    assert parse_param("precision=fp32,bf16").values == ("fp32", "bf16")
    for bad in ("batch_size", "=1,2", "b=1,,2", "b=1,1", "2x=1", f"{POWER_LIMIT}=abc", f"{POWER_LIMIT}=-5"):
        with pytest.raises(UsageError):
            parse_param(bad)
    with pytest.raises(UsageError, match="given twice"):
        parse_params(["a=1", "a=2"])


def test_parameter_scans_as_hyperfine_makes_them() -> None:
    from ecometer.bench.grid import scan_param

    assert scan_param("t", "1", "4").values == (1, 2, 3, 4)
    assert scan_param("t", "8", "32", "8").texts == ("8", "16", "24", "32")
    assert scan_param("x", "0", "1", "0.25").values == (0.0, 0.25, 0.5, 0.75, 1.0)
    assert scan_param("x", "1", "2", "0.3").values == (1.0, 1.3, 1.6, 1.9)
    for bad in (("t", "4", "1"), ("t", "1", "4", "0"), ("t", "a", "4"), ("t", "0", "1e9")):
        with pytest.raises(UsageError):
            scan_param(*bad)
    assert [p.name for p in parse_params(["a=1,2"], [("b", "1", "3", "1")])] == ["a", "b"]
    with pytest.raises(UsageError, match="given twice"):
        parse_params(["a=1"], [("a", "1", "2", "1")])


def test_configurations_commands_and_unused_parameters() -> None:
    params = parse_params(["bs=8,32", "prec=fp32,bf16", "note=x"])
    configs = configurations(params)
    assert [c.label for c in configs][:2] == ["bs=8, prec=fp32, note=x", "bs=8, prec=bf16, note=x"]
    assert len({c.key for c in configs}) == 4
    template = ["python", "-c", "d = {}; print({bs})", "--precision={prec}", "{other}"]
    assert command_for(template, configs[3]) == ["python", "-c", "d = {}; print(32)", "--precision=bf16", "{other}"]
    assert unused_params(template, params) == ["note"]
    assert unused_params(["x"], parse_params([f"{POWER_LIMIT}=100"])) == []  # the bench's own parameter


def test_random_order_is_a_seeded_permutation_per_round() -> None:
    configs = configurations(parse_params(["a=1,2,3,4,5,6"]))
    one = [c.key for c in round_order(configs, "random", 7, 1)]
    assert one == [c.key for c in round_order(configs, "random", 7, 1)]
    assert sorted(one) == sorted(c.key for c in configs)
    assert any([c.key for c in round_order(configs, "random", 7, r)] != one for r in range(2, 6))
    assert [c.key for c in round_order(configs, "interleaved", 7, 3)] == [c.key for c in configs]


# ---- statistics ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("dof", "t95"), [(1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776), (9, 2.262), (30, 2.042)])
def test_t_quantile_matches_the_tables(dof: int, t95: float) -> None:
    assert t_quantile(0.95, dof) == pytest.approx(t95, abs=5e-4)


def test_robust_z_flags_the_run_far_from_its_siblings() -> None:
    z = robust_z([1.0, 1.01, 0.99, 1.0, 1.5])
    assert abs(z[-1]) > 3.5 and all(abs(v) < 3.5 for v in z[:-1])
    assert robust_z([2.0, 2.0]) == [0.0, 0.0]


# ---- the verdict on records with exact (counter) energies ----------------------------------------
def _record(energy_j: float, work: float = 10.0, duration_s: float = 1.0, attempt: int = 1, **load: float) -> RunRecord:
    meta = {"bench": {"attempt": attempt, "load": {"wall_s": duration_s, "user_s": 0.5, "system_s": 0.0, **load}}}
    comp = Component("gpu", energy_j, "counter", Estimate.exact(energy_j))
    return RunRecord(name="t", status="ok", duration_s=duration_s, components={"gpu": comp}, work={"item": work},
                     work_unit="item", meta=meta)  # fmt: skip


def _state(key: str, energies: list[float], durations: list[float] | None = None) -> ConfigRuns:
    config = configurations(parse_params([f"c={key}"]))[0]
    durations = durations or [1.0] * len(energies)
    recs = [_record(e, duration_s=d, attempt=i + 1) for i, (e, d) in enumerate(zip(energies, durations, strict=True))]
    return ConfigRuns(config, records=recs)


def test_verdict_figures_and_probabilities_from_exact_runs() -> None:
    a, b = _state("a", [10.0, 10.0, 10.0]), _state("b", [20.0, 22.0, 18.0], [0.5, 0.5, 0.5])
    v = build_verdict([a, b], lambda c: c.label)
    ea, eb = v.configs[0].energy, v.configs[1].energy
    assert v.per == "item"
    assert (ea.central, ea.low, ea.high) == (1.0, 1.0, 1.0)  # counters, no spread: exact
    assert eb.central == pytest.approx(2.0)
    # the repetitions' interval: mean +/- t(2) s / sqrt(3) = 2 +/- 4.303 * 0.2 / 1.732
    assert eb.low == pytest.approx(2.0 - 4.303 * 0.2 / 3**0.5, rel=0.05)
    assert eb.high == pytest.approx(2.0 + 4.303 * 0.2 / 3**0.5, rel=0.05)
    key_a, key_b = v.configs[0].key, v.configs[1].key
    assert v.probabilities[(key_a, key_b)] > 0.99
    assert v.probabilities[(key_a, key_b)] + v.probabilities[(key_b, key_a)] == pytest.approx(1.0)
    assert v.configs[0].p_best > 0.99
    assert set(v.pareto_time) == {key_a, key_b}  # b is faster, a leaner: both on the front


def test_equal_configurations_are_a_coin_toss_and_outliers_are_flagged_with_their_figure() -> None:
    a, b = _state("a", [10.0, 11.0, 9.0, 10.0, 10.5]), _state("b", [10.0, 11.0, 9.0, 10.0, 10.5])
    b.records[1] = _record(40.0, attempt=2)
    busy = _state("c", [10.0, 10.0, 10.0])
    busy.records[2] = _record(10.0, attempt=3, other_cores=1.5 + 0.1 * (os.cpu_count() or 1))
    v = build_verdict([a, _state("a2", [10.0, 11.0, 9.0, 10.0, 10.5]), b, busy], lambda c: c.label)
    assert v.probabilities[(v.configs[0].key, v.configs[1].key)] == pytest.approx(0.5, abs=0.03)
    spread = [o for o in v.outliers if o.kind == "spread"]
    assert [(o.config, o.attempt) for o in spread] == [(b.config.key, 2)]
    assert "energy 4.00 J" in spread[0].text and "above the median" in spread[0].text
    flagged = [o for o in v.outliers if o.kind == "busy"]
    assert [(o.config, o.attempt) for o in flagged] == [(busy.config.key, 3)] and "CPU cores" in flagged[0].text


def test_pareto_front() -> None:
    assert pareto({"a": (1, 3), "b": (2, 2), "c": (3, 3), "d": (2, 2)}) == ["a", "b", "d"]


# ---- the command: real subprocesses --------------------------------------------------------------
JOB = (
    "import os, sys, time\n"
    "n, mode = int(sys.argv[1]), sys.argv[2]\n"
    "if mode == 'bad':\n"
    "    sys.stderr.write('cannot load weights\\n'); sys.exit(3)\n"
    "time.sleep(0.05 * n)\n"
    "open(os.environ['ECOMETER_WORK_FILE'], 'a').write(f'{10 * n} query\\n0.{n} accuracy\\n')\n"
)


def ecometer(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PY, "-m", "ecometer", *args], capture_output=True, text=True, timeout=timeout)


def test_cli_bench_grid_failures_exports_and_corpus(tmp_path: Path) -> None:
    out = tmp_path / "b"
    res = ecometer("bench", "--param", "n=1,2", "--param", "mode=ok,bad", "--param", "unused=x", "--runs", "2",
                   "--order", "interleaved", "--work-unit", "query", "--quality", "accuracy", "--site", "us-average",
                   "--out", str(out), "--", PY, "-c", JOB, "{n}", "{mode}")  # fmt: skip
    assert res.returncode == 1, res.stderr  # two configurations never ran successfully
    assert "parameter 'unused' is not used" in res.stderr
    assert "every run failed" in res.stdout and "exit status 3" in res.stdout and "cannot load weights" in res.stdout
    data = json.loads((out / "results.json").read_text())
    ok = [r for r in data["results"] if r["exit_codes"] and r["exit_codes"][0] == 0]
    assert len(ok) == 2 and len(data["results"]) == 4
    for r in ok:  # hyperfine's fields, then ours
        assert {"command", "mean", "stddev", "median", "user", "system", "min", "max", "times", "exit_codes",
                "parameters"} <= set(r)  # fmt: skip
        assert len(r["times"]) == 2 and r["energy_j"]["low"] <= r["energy_j"]["mean"] <= r["energy_j"]["high"]
        assert r["water_l"] is not None and r["quality"]["mean"] in (0.1, 0.2)
    failed = [r for r in data["results"] if r not in ok]
    assert all(f["failures"][0]["exit_code"] == 3 and "cannot load weights" in f["failures"][0]["stderr_tail"]
               for f in failed)  # fmt: skip
    assert data["comparison"] and data["pareto_energy_quality"] is not None
    header = (out / "results.csv").read_text().splitlines()[0].split(",")
    assert header[:8] == ["command", "mean", "stddev", "median", "user", "system", "min", "max"]
    assert "parameter_n" in header and "energy_j_mean" in header
    assert (out / "bars.png").stat().st_size > 1000 and (out / "pareto.png").stat().st_size > 1000
    runs = sorted((out / "runs").glob("*.json"))
    assert len(runs) == 4 and len(list((out / "failed").glob("*.json"))) == 4
    rec = json.loads(runs[0].read_text())
    assert rec["meta"]["n"] == 1 and rec["meta"]["mode"] == "ok" and rec["meta"]["bench"]["attempt"] == 1
    # the corpus is taken as it is
    cal = ecometer("calibrate", str(out / "runs"), "--metric", "it_energy_j", "--per", "query", "--no-classes",
                   "--bands", "2", "--method", "equal-width")  # fmt: skip
    assert cal.returncode == 0, cal.stderr
    score = ecometer("score", str(out / "runs"), "--standard", "ecometer-inference")
    assert score.returncode in (0, 1), score.stderr


def test_cli_bench_errors_before_running(tmp_path: Path) -> None:
    res = ecometer("bench", "--param", "n=1,1", "--out", str(tmp_path / "x"), "--", "true")
    assert res.returncode == 2 and "given twice" in res.stderr and not (tmp_path / "x").exists()
    res = ecometer("bench", "--quality", "acc", "--", "true")
    assert res.returncode == 2 and "--quality needs --work-unit" in res.stderr
    res = ecometer("bench", "--interval", "0", "--out", str(tmp_path / "y"), "--", "true")
    assert res.returncode == 2 and "--interval '0'" in res.stderr and not (tmp_path / "y").exists()


def test_a_killed_bench_continues_where_it_stopped(tmp_path: Path) -> None:
    out = tmp_path / "b"
    args = [PY, "-m", "ecometer", "bench", "--param", "t=3,0.2", "--runs", "2", "--order", "fixed",
            "--no-charts", "--out", str(out), "--", "sleep", "{t}"]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    second = out / "logs" / "c01-t-3-002.out"  # opened as the second run starts
    while not second.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # into its 3 s (a margin of 2.7 s however loaded the machine is)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "run the same command again to continue" in err
    first = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")}
    assert len(first) == 1 and len(list((out / "interrupted").glob("*.json"))) == 1
    again = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "1 run(s) already done" in again.stderr
    runs = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")}
    assert len(runs) == 4 and all(runs[name] == mtime for name, mtime in first.items())  # kept, not redone
    statuses = {json.loads(p.read_text())["status"] for p in (out / "runs").glob("*.json")}
    assert statuses == {"ok"}
    other = ecometer("bench", "--param", "t=0.1", "--out", str(out), "--", "sleep", "{t}")  # another plan
    assert other.returncode == 2 and "holds another bench" in other.stderr


# ---- the library face ----------------------------------------------------------------------------
def test_library_bench_with_callables_and_resume(tmp_path: Path) -> None:
    calls: list[str] = []

    def make(name: str, n: int):
        def fn() -> dict[str, float]:
            calls.append(name)
            sum(range(n))
            return {"sample": 100.0}

        return fn

    fns = {"small": make("small", 10_000), "large": make("large", 400_000)}
    result = bench(fns, runs=2, warmup=1, work_unit="sample", out=tmp_path / "b", charts=False, order="fixed")
    assert calls == ["small"] * 3 + ["large"] * 3  # one warm-up, two runs each
    assert [c.runs for c in result.verdict.configs] == [2, 2]
    assert result.verdict.per == "sample" and "P(" in str(result)
    calls.clear()
    bench(fns, runs=3, work_unit="sample", out=tmp_path / "b", charts=False, order="fixed")
    assert calls == ["small", "large"]  # one more run each; the first two kept

    def broken() -> None:
        raise RuntimeError("out of memory")

    res = bench({"ok": make("ok", 10), "broken": broken}, runs=2, out=tmp_path / "c", charts=False)
    bad = [c for c in res.verdict.configs if c.all_failed]
    assert len(bad) == 1 and "RuntimeError: out of memory" in bad[0].failures[0].stderr_tail


def test_a_signal_during_a_callable_stops_the_bench_and_it_continues(tmp_path: Path) -> None:
    calls = []

    def fn() -> float:
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        return 1.0

    with pytest.raises(BenchInterrupted):
        bench({"a": fn}, runs=3, out=tmp_path / "b", charts=False)
    assert len(list((tmp_path / "b" / "runs").glob("*.json"))) == 1
    assert len(list((tmp_path / "b" / "interrupted").glob("*.json"))) == 1
    res = bench({"a": fn}, runs=3, out=tmp_path / "b", charts=False)
    assert res.verdict.configs[0].runs == 3 and len(calls) == 4


# ---- power limits through a scripted NVML ---------------------------------------------------------
class FakeNvml:
    """The NVML calls the power limits make, on GPUs with a 100-300 W range (mW inside)."""

    class NVMLError(Exception):
        value = 999

    def __init__(self, gpus: int = 2, limit_mw: int = 250_000) -> None:
        self.limits = [limit_mw] * gpus
        self.sets: list[tuple[int, int]] = []

    def nvmlInit(self) -> None: ...
    def nvmlShutdown(self) -> None: ...
    def nvmlDeviceGetCount(self) -> int:
        return len(self.limits)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
        return i

    def nvmlDeviceGetPowerManagementLimit(self, h: int) -> int:
        return self.limits[h]

    def nvmlDeviceGetPowerManagementLimitConstraints(self, h: int) -> tuple[int, int]:
        return 100_000, 300_000

    def nvmlDeviceSetPowerManagementLimit(self, h: int, mw: int) -> None:
        self.sets.append((h, mw))
        self.limits[h] = mw


def _nvml(fake: FakeNvml):
    from ecometer.sensors.nvml_device import Nvml

    return Nvml(fake)


def test_power_limit_out_of_range_is_an_error_before_anything_runs(tmp_path: Path) -> None:
    fake, calls = FakeNvml(), []
    with pytest.raises(UsageError, match=r"350 W is outside GPU 0's range 100 W to 300 W"):
        bench(lambda power_limit_w: calls.append(power_limit_w), params={POWER_LIMIT: [200, 350]},
              out=tmp_path / "b", nvml=_nvml(fake), charts=False)  # fmt: skip
    assert calls == [] and fake.sets == [] and not list((tmp_path / "b").glob("runs/*.json"))


def test_power_limits_are_set_per_configuration_and_restored(tmp_path: Path) -> None:
    fake = FakeNvml()
    seen = []

    def fn(power_limit_w: float) -> float:
        seen.append((power_limit_w, list(fake.limits)))
        return 1.0

    res = bench(fn, params={POWER_LIMIT: [150, 200]}, runs=2, order="interleaved", out=tmp_path / "b",
                nvml=_nvml(fake), charts=False)  # fmt: skip
    assert all(limits == [w * 1000] * 2 for w, limits in seen) and len(seen) == 4
    assert fake.limits == [250_000, 250_000]  # restored
    for path in (tmp_path / "b" / "runs").glob("*.json"):
        meta = json.loads(path.read_text())["meta"]
        w = float(meta[POWER_LIMIT])
        assert meta["bench"]["power_limit_enforced_w"] == {"0": w, "1": w}
    assert res.problems == []
    plan = json.loads((tmp_path / "b" / "bench.json").read_text())
    assert plan["power_limits"]["0"] == {"original_w": 250.0, "range_w": [100.0, 300.0]}


def test_power_limits_are_restored_when_the_bench_is_stopped(tmp_path: Path) -> None:
    fake = FakeNvml(gpus=1)

    def fn(power_limit_w: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        bench(fn, params={POWER_LIMIT: [120]}, out=tmp_path / "b", nvml=_nvml(fake), charts=False)
    assert fake.limits == [250_000] and (0, 120_000) in fake.sets


# ---- the schedule and the stopping rule, with a scripted target -----------------------------------
class ScriptedTarget:
    """No process at all: each run 'measures' the next energy of its configuration's script."""

    def __init__(self, energies: dict[str, list[float]]) -> None:
        self.energies = {k: list(v) for k, v in energies.items()}

    def identity(self) -> dict[str, object]:
        return {"scripted": sorted(self.energies)}

    def describe(self, config) -> str:
        return config.label


def _scripted_bench(tmp_path: Path, energies: dict[str, list[float]], **options):
    from ecometer.bench import Bench, BenchOptions

    params = parse_params([f"c={','.join(energies)}"])
    b = Bench(ScriptedTarget(energies), params, BenchOptions(**options), tmp_path / "b")
    order: list[str] = []

    def measure_one(config, attempt: int, extra: dict) -> None:
        if attempt < 0:
            order.append(f"warm-{config.values['c']}")
            return
        order.append(str(config.values["c"]))
        energy = b.target.energies[str(config.values["c"])].pop(0)
        b.state[config.key].records.append(_record(energy, attempt=attempt))

    b.run_all(measure_one)
    return b, order


def test_orders_fixed_interleaved_and_random(tmp_path: Path) -> None:
    e = {"a": [1.0] * 3, "b": [1.0] * 3}
    _, fixed = _scripted_bench(tmp_path / "f", e, runs=3, warmup=1, order="fixed")
    assert fixed == ["warm-a", "a", "a", "a", "warm-b", "b", "b", "b"]
    _, inter = _scripted_bench(tmp_path / "i", e, runs=3, warmup=1, order="interleaved")
    assert inter == ["warm-a", "warm-b", "a", "b", "a", "b", "a", "b"]
    _, rand = _scripted_bench(tmp_path / "r", {k: [1.0] * 6 for k in "abcd"}, runs=6, order="random", seed=3)
    rounds = [rand[i : i + 4] for i in range(0, 24, 4)]
    assert all(sorted(r) == list("abcd") for r in rounds) and len({tuple(r) for r in rounds}) > 1
    _, again = _scripted_bench(tmp_path / "r2", {k: [1.0] * 6 for k in "abcd"}, runs=6, order="random", seed=3)
    assert again == rand


def test_runs_go_on_until_the_interval_is_narrow_enough(tmp_path: Path) -> None:
    # a: 10, 10.1, 9.9 -> +/- 4.303 * 0.1 / sqrt(3) = 0.25 J = 2.5 % of 10: done after 3 runs at a 5 % target
    # b: spread out, never within 5 %: stops at max_runs
    energies = {"a": [10.0, 10.1, 9.9, 10.0, 10.0, 10.0], "b": [10.0, 14.0, 6.0, 13.0, 7.0, 12.0]}
    b, order = _scripted_bench(tmp_path, energies, target=0.05, min_runs=2, max_runs=5, order="interleaved")
    assert order.count("a") == 3 and order.count("b") == 5
    assert [len(s.records) for s in b.state.values()] == [3, 5]


def test_a_limit_left_by_a_killed_session_is_restored_to_the_first_original(tmp_path: Path) -> None:
    fake = FakeNvml()
    bench(lambda power_limit_w: 1.0, params={POWER_LIMIT: [150]}, runs=1, out=tmp_path / "b", nvml=_nvml(fake),
          charts=False)  # fmt: skip
    fake.limits = [150_000, 150_000]  # as a SIGKILLed session would leave them
    bench(lambda power_limit_w: 1.0, params={POWER_LIMIT: [150]}, runs=2, out=tmp_path / "b", nvml=_nvml(fake),
          charts=False)  # fmt: skip
    assert fake.limits == [250_000, 250_000]


def test_exports_follow_hyperfine_and_hold_no_nan() -> None:
    from ecometer.bench.export import to_csv, to_json, to_markdown

    a = _state("a", [10.0, 11.0])
    a.records[0] = _record(10.0, user_s=float("nan"), system_s=float("nan"), other_cores=float("nan"))
    a.records[1] = _record(11.0, user_s=float("nan"), system_s=float("nan"), other_cores=float("nan"))
    v = build_verdict([a, _state("b", [20.0, 20.0])], lambda c: f"run {c.label}")
    data = json.loads(to_json(v))
    first = data["results"][0]
    assert first["command"] == "run c=a" and first["user"] is None and first["parameters"] == {"c": "a"}
    assert first["mean"] == pytest.approx(1.0) and first["times"] == [1.0, 1.0] and first["exit_codes"] == [0, 0]
    assert first["energy_j"]["mean"] == pytest.approx(1.05) and first["energy_j"]["values"] == [1.0, 1.1]
    md = to_markdown(v).splitlines()
    assert md[0].startswith("| Command | Mean [s] | Min [s] | Max [s] | Relative | Energy [J/item]")
    assert "`run c=a`" in md[2] and "1.05 ± 0.0707" in md[2]
    rows = to_csv(v).splitlines()
    assert rows[0].startswith("command,mean,stddev,median,user,system,min,max,parameter_c,per,energy_j_mean")
    assert rows[1].startswith("run c=a,1.0,0.0,1.0,,")


def _sim_state(k: int, true_j: float, rng, n: int, sensor_rel: float) -> ConfigRuns:
    """Runs of a configuration whose true energy per run is ``true_j``: normal run-to-run noise
    (5 %), and one sensor scale error shared by its runs, uniform within the +/- ``sensor_rel``
    the sensor states."""
    bias = rng.uniform(1 - sensor_rel, 1 + sensor_rel)
    config = configurations(parse_params([f"c=s{k}"]))[0]
    recs = []
    for i in range(n):
        e = rng.gauss(true_j, 0.05 * true_j) * bias
        est = Estimate(e, e * (1 - sensor_rel), e * (1 + sensor_rel), distribution="uniform")
        comp = Component(f"dev{k}", e, "integrated", est)  # its own sensor: its own scale error
        recs.append(RunRecord(name="t", status="ok", duration_s=1.0, components={f"dev{k}": comp},
                              work={"item": 1.0}, work_unit="item", meta={"bench": {"attempt": i + 1}}))  # fmt: skip
    return ConfigRuns(config, records=recs)


@pytest.mark.parametrize(("n", "sensor_rel"), [(3, 0.0), (5, 0.1)])
def test_the_95_percent_intervals_hold_about_95_percent_of_the_time(n: int, sensor_rel: float) -> None:
    import random

    rng = random.Random(1000 * n + int(100 * sensor_rel))  # simulated benches, nothing tuned on them
    states = [_sim_state(k, 10.0, rng, n, sensor_rel) for k in range(250)]
    v = build_verdict(states, lambda c: c.label)
    held = sum(c.energy.low <= 10.0 <= c.energy.high for c in v.configs) / len(v.configs)
    assert 0.92 <= held <= 0.98, held


def test_the_pairwise_probabilities_are_calibrated_on_simulated_pairs() -> None:
    import random

    rng = random.Random(29)  # pairs whose true difference is drawn from -10 % to +10 %, 5 runs each
    preds = []
    for _ in range(150):
        d = rng.uniform(-0.1, 0.1)
        v = build_verdict([_sim_state(0, 10.0, rng, 5, 0.0), _sim_state(1, 10.0 * (1 + d), rng, 5, 0.0)],
                          lambda c: c.label)  # fmt: skip
        preds.append((v.probabilities[(v.configs[0].key, v.configs[1].key)], d > 0))
    sure = [truth for p, truth in preds if p > 0.9]
    unsure = [truth for p, truth in preds if 0.3 <= p <= 0.7]
    assert len(sure) > 20 and sum(sure) / len(sure) >= 0.88
    assert len(unsure) > 10 and 0.25 <= sum(unsure) / len(unsure) <= 0.75
    brier = sum((p - truth) ** 2 for p, truth in preds) / len(preds)
    assert brier < 0.12  # a coin toss scores 0.25


def test_the_bench_loads_no_numpy_or_matplotlib_between_runs(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from ecometer.bench import bench\n"
        "seen = []\n"
        "def f(n):\n"
        "    seen.append(sorted(m for m in ('numpy', 'matplotlib', 'torch', 'pandas') if m in sys.modules))\n"
        "    return 1.0\n"
        f"bench(f, params={{'n': [1, 2]}}, runs=3, target=0.5, min_runs=2, max_runs=3, work_unit='sample',\n"
        f"      out={str(tmp_path / 'b')!r}, charts=False)\n"
        "assert seen and all(s == [] for s in seen), seen\n"
    )
    res = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr


def test_without_permission_to_set_limits_nothing_runs(tmp_path: Path) -> None:
    class NotRoot(FakeNvml):
        NVML_ERROR_NO_PERMISSION = 4

        class NVMLError(Exception):
            value = 4

        def nvmlDeviceSetPowerManagementLimit(self, h: int, mw: int) -> None:
            raise self.NVMLError("Insufficient Permissions")

    fake, calls = NotRoot(), []
    with pytest.raises(UsageError, match=r"root to set limits: .*Insufficient Permissions"):
        bench(lambda power_limit_w: calls.append(1), params={POWER_LIMIT: [200]}, out=tmp_path / "b",
              nvml=_nvml(fake), charts=False)  # fmt: skip
    assert calls == []


def test_a_command_that_cannot_start_is_a_failed_run_with_its_record(tmp_path: Path) -> None:
    res = ecometer("bench", "--runs", "1", "--no-charts", "--out", str(tmp_path / "b"), "--", "no-such-command-xyz")
    assert res.returncode == 1 and "every run failed" in res.stdout and "exit status 127" in res.stdout
    failed = list((tmp_path / "b" / "failed").glob("*.json"))
    assert len(failed) == 2 and "no-such-command-xyz" in json.loads(failed[0].read_text())["error"]


def test_the_sweep_benchmark_sets_limits_through_the_bench_layer() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # benchmarks/ is not installed
    from benchmarks.sweep import PowerLimit

    class WithDefault(FakeNvml):
        def nvmlDeviceGetPowerManagementDefaultLimit(self, h: int) -> int:
            return 280_000

    fake = WithDefault(gpus=1)
    power = PowerLimit(0, nvml=_nvml(fake))
    assert (power.original_mw, power.min_mw, power.max_mw, power.default_mw) == (250_000, 100_000, 300_000, 280_000)
    assert power.set_w(50) == 100.0 and power.set_w(1000) == 300.0  # clamped to the range
    power.restore()
    assert fake.limits == [250_000]


def test_logs_keep_what_a_run_wrote_and_no_empty_files(tmp_path: Path) -> None:
    res = ecometer("bench", "--param", "say=hello", "--runs", "1", "--no-charts", "--out", str(tmp_path / "b"),
                   "--export-markdown", str(tmp_path / "r.md"), "--export-json", str(tmp_path / "r.json"), "--",
                   PY, "-c", "import sys; print(sys.argv[1])", "{say}")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "r.md").read_text() == (tmp_path / "b" / "results.md").read_text()
    assert json.loads((tmp_path / "r.json").read_text())["results"][0]["parameters"] == {"say": "hello"}
    logs = sorted(p.name for p in (tmp_path / "b" / "logs").iterdir())
    assert logs == ["c01-say-hello-001.out"] and "hello" not in res.stdout.split("|")[0]
    assert (tmp_path / "b" / "logs" / logs[0]).read_text() == "hello\n"


def test_a_single_run_is_in_no_comparison() -> None:
    v = build_verdict([_state("a", [10.0]), _state("b", [20.0, 20.0]), _state("c", [30.0, 31.0])], lambda c: c.label)
    a, b, c = v.configs
    assert all(a.key not in pair for pair in v.probabilities) and (b.key, c.key) in v.probabilities
    assert a.p_best is None and b.p_best is None and "in no comparison" in a.notes[0]
    alone = build_verdict([_state("a", [10.0, 11.0])], lambda c: c.label)
    assert alone.configs[0].p_best is None and alone.probabilities == {}


def test_time_is_the_commands_own_not_the_meters_window(tmp_path: Path) -> None:
    rec = _record(10.0, duration_s=0.5, command_s=0.2)
    v = build_verdict([ConfigRuns(configurations(parse_params(["c=a"]))[0], records=[rec, rec])], lambda c: "x")
    assert v.configs[0].duration_s == [0.2, 0.2] and v.configs[0].time.central == pytest.approx(0.02)  # per item
    res = ecometer("bench", "--runs", "2", "--no-charts", "--out", str(tmp_path / "b"), "--", "sleep", "0.3")
    assert res.returncode == 0, res.stderr
    result = json.loads((tmp_path / "b" / "results.json").read_text())["results"][0]
    records = [json.loads(p.read_text()) for p in (tmp_path / "b" / "runs").glob("*.json")]
    own = sorted(r["meta"]["bench"]["load"]["command_s"] for r in records)
    assert sorted(result["times"]) == own and all(t >= 0.3 for t in own)
    assert all(r["meta"]["bench"]["load"]["command_s"] < r["duration_s"] for r in records)


def test_a_signal_while_limits_are_restored_waits_for_them(tmp_path: Path) -> None:
    class SignalOnRestore(FakeNvml):
        def nvmlDeviceSetPowerManagementLimit(self, h: int, mw: int) -> None:
            if mw == 250_000 and h == 0 and self.limits[0] != 250_000:  # the first restoring call
                os.kill(os.getpid(), signal.SIGTERM)
            super().nvmlDeviceSetPowerManagementLimit(h, mw)

    fake = SignalOnRestore()
    with pytest.raises(BenchInterrupted):
        bench(lambda power_limit_w: 1.0, params={POWER_LIMIT: [150]}, runs=1, out=tmp_path / "b", nvml=_nvml(fake),
              charts=False)  # fmt: skip
    assert fake.limits == [250_000, 250_000]  # both GPUs restored before the signal was taken


def test_configurations_named_by_any_key(tmp_path: Path) -> None:
    res = bench({1: lambda: 1.0, 2.5: lambda: 2.0}, runs=1, out=tmp_path / "b", charts=False)
    assert [c.label for c in res.verdict.configs] == ["config=1", "config=2.5"]

