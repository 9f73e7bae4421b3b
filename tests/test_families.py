"""Standards from every published family (issue 25): MLPerf Power, every ML.ENERGY task, AI Energy
Score releases, recalibration as a new version."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from ecometer.commands.cli import main
from ecometer.errors import InputError
from ecometer.impact import Site
from ecometer.standards import CalibrationOptions, calibrate, load_standard, score
from ecometer.standards.corpus import load_records, read_entries
from ecometer.standards.metrics import Measure, measure
from ecometer.standards.sites import attach_footprint
from ecometer.standards.tables import import_tables, load_spec, make_entry, spec_from_dict

#: the shared reference data beside the repository (absent in some checkouts: those tests skip)
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MLPERF_V41 = SHARED / "mlperf-power" / "inference-v4.1-summary_results.json"


def shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared reference data not at {path}")
    return path


# ---- MLPerf Inference power ----------------------------------------------------------------------
def mlperf_row(**over) -> dict:
    """One row in the layout of the official summary_results.json (values of a real v4.1 row)."""
    row = {
        "ID": "v4.1-0049",
        "Submitter": "NVIDIA",
        "Availability": "available",
        "Category": "closed",
        "Suite": "datacenter",
        "System": "NVIDIA H200 (8x H200-SXM-141GB, MaxQ, TensorRT)",
        "Platform": "H200-SXM-141GBx8_TRT_MaxQ",
        "Model": "resnet",
        "Scenario": "Offline",
        "Nodes": 1,
        "Accelerator": "NVIDIA H200-SXM-141GB",
        "a#": 8.0,
        "version": "v4.1",
        "has_power": True,
        "Power_Result": 4954.0315467075,
        "Power_Units": "Watts",
        "Performance_Result": 556234.0,
        "Performance_Units": "Samples/s",
    }
    row.update(over)
    if not row["has_power"]:
        row.pop("Power_Result"), row.pop("Power_Units")
    return row


def work_per_joule(record, work: str) -> float:
    return measure(Measure("work_per_joule", unit="1/J", work=work), record).central


def test_mlperf_v41_reproduces_the_published_efficiency_of_every_power_result():
    rows = json.loads(shared(MLPERF_V41).read_text())
    power = [r for r in rows if r.get("Power_Result") is not None]
    entries = import_tables([MLPERF_V41], load_spec("mlperf-inference-power"))
    assert len(power) == 31 and len(entries) == 31
    assert len({e.name for e in entries}) == 31
    units = {"Samples/s": "sample", "Queries/s": "query", "Tokens/s": "token"}
    for row, e in zip(power, entries, strict=True):
        assert e.name == f"{row['ID']}/{row['Model']}/{row['Scenario']}"
        assert e.meta["accelerator"] == row["Accelerator"] and e.meta["accelerators"] == row["a#"]
        assert (e.meta["benchmark"], e.meta["scenario"], e.meta["division"]) == (
            row["Model"],
            row["Scenario"],
            row["Category"],
        )
        if row["Power_Units"] == "Watts":  # samples (queries, tokens) per joule, as published: perf / power
            unit = units[row["Performance_Units"]]
            assert work_per_joule(e, unit) == row["Performance_Result"] / row["Power_Result"]
        else:  # edge single/multi-stream: millijoules per query
            assert row["Power_Units"] == "millijoules"
            assert e.work == {"query": 1.0} and e.energy_j == pytest.approx(row["Power_Result"] / 1000, rel=1e-15)
    assert {e.attachments["reported"]["source"]["title"] for e in entries} == {
        "MLPerf Inference power results (inference-v4.1-summary_results.json)"
    }


def test_a_later_round_in_the_same_layout_imports_with_the_same_spec(tmp_path):
    later = tmp_path / "inference-v5.0-summary_results.json"
    rows = [
        mlperf_row(ID="v5.0-0001", version="v5.0", has_power=False),
        mlperf_row(ID="v5.0-0002", version="v5.0", Accelerator="NVIDIA B200-SXM-180GB", Power_Result=6000.0),
        mlperf_row(
            ID="v5.0-0002",
            version="v5.0",
            Model="llama2-70b-99",
            Scenario="Server",
            Power_Result=9000.0,
            Performance_Result=45000.0,
            Performance_Units="Tokens/s",
        ),
        mlperf_row(
            ID="v5.0-0003",
            version="v5.0",
            Suite="edge",
            Scenario="SingleStream",
            Power_Result=30.0,
            Power_Units="millijoules",
            Performance_Result=0.12,
            Performance_Units="Latency (ms)",
        ),
    ]
    later.write_text(json.dumps(rows))
    entries = import_tables([later], load_spec("mlperf-inference-power"))
    assert [e.name for e in entries] == [
        "v5.0-0002/resnet/Offline",
        "v5.0-0002/llama2-70b-99/Server",
        "v5.0-0003/resnet/SingleStream",
    ]
    assert work_per_joule(entries[0], "sample") == 556234.0 / 6000.0
    assert work_per_joule(entries[1], "token") == 45000.0 / 9000.0 and entries[1].work_unit == "token"
    assert entries[2].energy_j == pytest.approx(0.030) and entries[2].work == {"query": 1.0}
    assert {e.meta["round"] for e in entries} == {"v5.0"}
    assert entries[0].meta["accelerator"] == "NVIDIA B200-SXM-180GB"
    assert "inference-v5.0-summary_results.json" in entries[0].components["it"].source


@pytest.mark.parametrize(
    ("change", "column", "expected"),
    [
        ({"Power_Units": "kW"}, "Power_Units", "['Watts', 'millijoules']"),
        ({"Performance_Units": "Frames/s"}, "Performance_Units", "['Queries/s', 'Samples/s', 'Tokens/s']"),
        ({"Power_Result": "n/a"}, "Power_Result", "a finite number"),
    ],
)
def test_a_table_the_spec_does_not_fit_fails_on_the_row_and_writes_nothing(tmp_path, capsys, change, column, expected):
    table = tmp_path / "summary.json"
    table.write_text(json.dumps([mlperf_row(has_power=False), mlperf_row(), mlperf_row(Model="bert-99", **change)]))
    out = tmp_path / "corpus"
    assert main(["corpus", "import", str(table), "--spec", "mlperf-inference-power", "--out", str(out)]) != 0
    err = capsys.readouterr().err
    assert f"{table}: row 3: column {column!r}" in err and expected in err
    assert not out.exists()


def test_a_table_without_the_where_column_fails_on_its_first_row(tmp_path):
    table = tmp_path / "summary.json"
    table.write_text(json.dumps([{k: v for k, v in mlperf_row().items() if k != "has_power"}]))
    with pytest.raises(InputError, match=r"summary.json: row 1: no column 'has_power'.*table.where"):
        import_tables([table], load_spec("mlperf-inference-power"))


def test_mlperf_standards_per_benchmark_scenario_and_division(tmp_path, capsys):
    rows = [
        mlperf_row(ID=f"v4.1-{i:04d}", Model=model, Scenario=scenario, Category=division, Power_Result=1000.0 + 97 * i)
        for i, (model, scenario, division) in enumerate(
            [(m, s, d) for m in ("resnet", "bert-99") for s in ("Offline", "Server") for d in ("closed", "open")] * 3
        )
    ]
    for r in rows:
        r["Performance_Units"] = "Samples/s" if r["Scenario"] == "Offline" else "Queries/s"
    table = tmp_path / "summary.json"
    table.write_text(json.dumps(rows))
    corpus = tmp_path / "mlperf"
    assert main(["corpus", "import", str(table), "--spec", "mlperf-inference-power", "--out", str(corpus)]) == 0
    std_file = tmp_path / "std.toml"
    for work in ("sample", "query"):
        args = ["calibrate", str(corpus), "--metric", "work_per_joule", "--work", work, "--unit", "1/J", "--bands", "3"]
        assert main([*args, "--class-by", "benchmark,scenario,division", "--out", str(std_file)]) == 0
        text = std_file.read_text()
        scenario = "Offline" if work == "sample" else "Server"
        classes = load_standard(std_file).classes
        assert len(classes) == 5 and sum(c.rated for c in classes.values()) == 4  # benchmark x division, the rest
        assert f'match = {{ benchmark = "bert-99", scenario = "{scenario}", division = "open" }}' in text
    records = load_records([corpus])
    assert all(r.meta["accelerator"] == "NVIDIA H200-SXM-141GB" for r in records)
    entries = read_entries(corpus / "entries.jsonl")
    assert entries[0].meta["accelerators"] == 8.0


# ---- ML.ENERGY: every task ----------------------------------------------------------------------
CHAT = (
    Path(__file__).resolve().parents[1]
    / "ecometer"
    / "data"
    / "corpora"
    / "ml-energy-leaderboard"
    / "lm-arena-chat.json"
)


def task_file(folder: Path, task: str, display: str, n: int = 12, **over) -> Path:
    """A leaderboard file of another task in the LLM layout: the first ``n`` chat configurations."""
    data = json.loads(CHAT.read_text())
    configs = [{**c, **over} for c in data["configurations"][:n]]
    path = folder / f"{task}.json"
    path.write_text(json.dumps({"configurations": configs, "task": task, "task_display_name": display}))
    return path


def diffusion_file(folder: Path) -> Path:
    row = {
        "activated_params_billions": 1.6,
        "avg_power_watts": 530.5,
        "batch_latency_s": 0.64,
        "batch_size": 1,
        "energy_per_image_joules": 341.98,
        "gpu_model": "B200",
        "image_height": 1024,
        "image_width": 1024,
        "inference_steps": 20,
        "model_id": "Efficient-Large-Model/SANA1.5_1.6B_1024px_diffusers",
        "num_gpus": 1,
        "ring_degree": 1,
        "throughput_images_per_sec": 1.55,
        "total_params_billions": 1.6,
        "ulysses_degree": 1,
        "weight_precision": "bfloat16",
    }
    data = {
        "architecture": "diffusion",
        "configurations": [row, {**row, "batch_size": 4, "energy_per_image_joules": 200.0}],
        "task": "text-to-image",
        "task_display_name": "Text to Image",
    }
    path = folder / "text-to-image.json"
    path.write_text(json.dumps(data))
    return path


def test_one_spec_reads_each_llm_task_from_its_file(tmp_path, capsys):
    gpqa = task_file(tmp_path, "gpqa", "GPQA")
    image_chat = task_file(tmp_path, "image-chat", "Image Chat", n=5, max_num_batched_tokens=None)
    out = tmp_path / "corpus"
    args = ["corpus", "import", str(CHAT), str(gpqa), str(image_chat), "--spec", "ml-energy-llm", "--out", str(out)]
    assert main(args) == 0
    entries = load_records([out])
    assert len(entries) == 328 + 12 + 5
    # ids unique across tasks (the chat table itself lists one configuration twice, as published)
    assert len({e.name for e in entries}) == len(entries) - 2
    by_task = {}
    for e in entries:
        by_task.setdefault(e.meta["task"], []).append(e)
    assert {t: len(v) for t, v in by_task.items()} == {"lm-arena-chat": 328, "gpqa": 12, "image-chat": 5}
    for task, file in (
        ("gpqa", "gpqa.json"),
        ("image-chat", "image-chat.json"),
        ("lm-arena-chat", "lm-arena-chat.json"),
    ):
        (source,) = {e.components["gpu"].source for e in by_task[task]}
        assert f"({task})" in source
        (note,) = {e.attachments["reported"]["source"]["note"] for e in by_task[task]}
        assert note.endswith(f"public/data/tasks/{file}")
        assert all(e.name.startswith(f"{task}/") for e in by_task[task])
    assert "GPQA (gpqa)" in capsys.readouterr().out


def test_diffusion_layout_imports_with_its_spec_and_fails_with_the_llm_one(tmp_path):
    table = diffusion_file(tmp_path)
    a, b = import_tables([table], load_spec("ml-energy-text-to-image"))
    assert a.work == {"image": 1.0} and a.energy_j == 341.98 and b.energy_j == 200.0
    assert a.meta["task"] == "text-to-image" and a.meta["architecture"] == "diffusion" and a.name != b.name
    assert "Text to Image (text-to-image)" in a.components["gpu"].source
    for spec in ("ml-energy-llm", "ml-energy-lm-arena-chat"):
        with pytest.raises(InputError, match=r"text-to-image.json: row 1: no column 'tensor_parallel'.*entry.id"):
            import_tables([table], load_spec(spec))


def test_shared_text_to_image_imports():
    table = shared(SHARED / "ml-energy-leaderboard" / "text-to-image.json")
    entries = import_tables([table], load_spec("ml-energy-text-to-image"))
    raw = json.loads(table.read_text())["configurations"]
    assert len(entries) == len(raw) == len({e.name for e in entries})
    assert all(e.energy_j == r["energy_per_image_joules"] for e, r in zip(entries, raw, strict=True))


def test_an_entry_of_a_task_the_standard_does_not_cover_does_not_apply(tmp_path):
    gpqa = task_file(tmp_path, "gpqa", "GPQA", n=3)
    entries = import_tables([CHAT, gpqa], load_spec("ml-energy-llm"))
    chat, other = entries[0], entries[-1]
    assert score(chat, "ecometer-inference").grade is not None
    a = score(other, "ecometer-inference")
    assert not a.applies and not a.rated and a.grade is None
    assert all(m.grade is None for m in a.metrics.values())
    assert "does not apply: ecometer-inference covers task" in str(a) and "'gpqa'" in str(a)
    measured = dataclasses.replace(other, meta={k: v for k, v in other.meta.items() if k != "task"})  # taken
    assert score(measured, "ecometer-inference").applies


# ---- AI Energy Score: the documented recipe, and a later release ---------------------------------
AES_GRADES = "5 stars,4 stars,3 stars,2 stars,1 star"
AES_RECIPE = [
    "--metric",
    "gpu_energy_j",
    "--per",
    "query",
    "--scale",
    "1000",
    "--unit",
    "Wh",
    "--method",
    "equal-width",
]


def test_the_documented_aes_recipe_reproduces_the_166_published_stars(tmp_path, caplog):
    corpus, std_file = tmp_path / "aes", tmp_path / "aes.toml"
    assert main(["corpus", "import", "ai-energy-score-2025-02", "--out", str(corpus)]) == 0
    args = ["calibrate", str(corpus), *AES_RECIPE, "--class-by", "task,size_class", "--min-per-class", "3"]
    assert main([*args, "--grades", AES_GRADES, "--out", str(std_file)]) == 0
    assert "accept_reported = true" in caplog.text  # said loudly, and done
    std = load_standard(std_file)
    assert std.quality.accept_reported
    entries = load_records([corpus])
    grades = [score(e, std) for e in entries]
    assert len(entries) == 166 and all(a.rated for a in grades)
    stars = [int(a.grade.split()[0]) for a in grades]
    assert stars == [e.meta["published_stars"] for e in entries]


def test_a_later_aes_release_with_a_reasoning_column_classes_by_it(tmp_path):
    release = tmp_path / "release"
    release.mkdir()
    rows = ["model,total_gpu_energy,energy_score,class,reasoning"]
    rows += [f"org/small-{i},{0.1 + 0.05 * i:.3f},{5 - i},A,false" for i in range(5)]
    rows += [f"org/think-{i},{1.0 + 0.5 * i:.3f},{5 - i},A,true" for i in range(5)]
    (release / "text_generation.csv").write_text("\n".join(rows) + "\n")
    asr = "".join(f"a/{i},{i + 1},{stars}\n" for i, stars in enumerate((5, 4, 2, 1)))  # 1-4 kWh: equal-width stars
    (release / "asr.csv").write_text("model,total_gpu_energy,energy_score\n" + asr)
    corpus, std_file = tmp_path / "aes", tmp_path / "aes.toml"
    imp = ["corpus", "import", str(release), "--spec", "ai-energy-score", "--source", "AI Energy Score, next release"]
    assert main([*imp, "--out", str(corpus)]) == 0
    args = ["calibrate", str(corpus), *AES_RECIPE, "--class-by", "task,size_class,reasoning", "--min-per-class", "3"]
    assert main([*args, "--grades", AES_GRADES, "--out", str(std_file)]) == 0
    std = load_standard(std_file)
    rules = [c.match for c in std.classes.values() if c.rated]
    assert {"task": "text_generation", "size_class": "A", "reasoning": "true"} in rules
    assert {"task": "text_generation", "size_class": "A", "reasoning": "false"} in rules and {"task": "asr"} in rules
    for e in load_records([corpus]):
        a = score(e, std)
        assert a.rated and int(a.grade.split()[0]) == e.meta["published_stars"], e.name
    assert "next release" in load_records([corpus])[0].components["gpu"].source


# ---- recalibration is a new version ---------------------------------------------------------------
@pytest.fixture(scope="module")
def gpqa_corpus(tmp_path_factory):
    """A corpus of another task in the LLM layout: 187 configurations with 3x longer answers."""
    folder = tmp_path_factory.mktemp("gpqa")
    data = json.loads(CHAT.read_text())
    configs = [{**c, "avg_output_len": 3 * c["avg_output_len"]} for c in data["configurations"][:187]]
    table = folder / "gpqa.json"
    table.write_text(json.dumps({"configurations": configs, "task": "gpqa", "task_display_name": "GPQA"}))
    assert main(["corpus", "import", str(table), "--spec", "ml-energy-llm", "--out", str(folder / "corpus")]) == 0
    return folder / "corpus"


RECAL = ["--standard", "ecometer-inference", "--bands", "7", "--method", "geometric"]


def test_recalibrating_a_standard_writes_its_next_version_with_a_changelog(gpqa_corpus, tmp_path, capsys):
    out = tmp_path / "next.toml"
    args = ["calibrate", str(gpqa_corpus), *RECAL, "--metric", "energy_per_token,energy_per_query", "--out", str(out)]
    assert main(args) == 0
    std, base = load_standard(out), load_standard("ecometer-inference")
    assert (std.name, std.version, std.supersedes) == ("ecometer-inference", "0.3.0", "ecometer-inference 0.2.1")
    cal = std.calibration
    assert cal["records"] == cal["records_given"] == 187 and sum(cal["class_records"].values()) == 187
    assert cal["metrics_kept"] == ["water_per_query"] and "GPQA (gpqa)" in cal["corpus_sources"][0]
    assert "328" not in std.description and "LLM chat" not in std.description
    assert "from 187 records of" in std.description and "GPQA (gpqa)" in std.description
    entry = std.changelog[-1]
    assert entry["version"] == "0.3.0" and entry["date"] == cal["date"]
    assert "from 187 of 187 records" in entry["changes"] and "GPQA (gpqa)" in entry["changes"]
    assert "metrics kept from 0.2.1, not recalibrated: water_per_query" in entry["changes"]
    assert "classes recalibrated: small-H100 (" in entry["changes"]
    assert std.applies_to == {"task": ["gpqa"]} and "applies to task ['gpqa']" in entry["changes"]
    assert std.changelog[:-1] == base.changelog
    # the regrading: every gpqa entry did not apply to 0.2.1 and is graded by 0.3.0
    capsys.readouterr()
    assert main(["standard", "diff", "ecometer-inference", str(out), str(gpqa_corpus)]) == 0
    text = capsys.readouterr().out
    assert "187 of 187 records change overall grade (ecometer-inference 0.2.1 -> ecometer-inference 0.3.0)" in text
    assert text.count("(now rated: was does not apply under ecometer-inference 0.2.1") == 187


def test_recalibration_names_classes_without_records_kept_or_dropped(gpqa_corpus, tmp_path, capsys):
    small_h100 = [
        r for r in load_records([gpqa_corpus]) if r.meta["gpu_model"] == "H100" and r.meta["model_params"] < 2e10
    ]
    base = load_standard("ecometer-inference")
    kept = calibrate(small_h100, "energy_per_token", bands=7, method="geometric", base=base, min_per_class=3)
    others = [c for c in base.classes if c not in ("small-H100", "other")]
    assert kept.calibration["classes_kept"] == others
    assert kept.thresholds_for("energy_per_token", "large-B200") == base.thresholds_for(
        "energy_per_token", "large-B200"
    )
    assert "classes kept from 0.2.1 (no or too few records): " + ", ".join(others) in kept.changelog[-1]["changes"]
    dropped = calibrate(
        small_h100, "energy_per_token", bands=7, method="geometric", base=base, min_per_class=3, empty_classes="drop"
    )
    assert dropped.calibration["classes_dropped"] == others and "classes_kept" not in dropped.calibration
    assert all(not dropped.classes[c].rated and not dropped.classes[c].thresholds for c in others)
    assert "classes dropped (no records; not rated): " in dropped.changelog[-1]["changes"]
    assert dropped.classes["small-H100"].rated
    with pytest.raises(InputError, match="a recalibration is a new version"):
        calibrate(small_h100, "energy_per_token", bands=7, method="geometric", base=base, version="0.2.1")


def test_recalibrating_on_the_tasks_a_standard_covers_keeps_its_scope(tmp_path):
    base = load_standard("ecometer-inference")
    std = calibrate(import_tables([CHAT], load_spec("ml-energy-llm")), "energy_per_token", bands=7, base=base)
    assert std.applies_to == base.applies_to and "applies to" not in std.changelog[-1]["changes"]


def test_recalibrating_water_at_another_site_names_that_site(gpqa_corpus):
    records = load_records([gpqa_corpus])
    for r in records:
        attach_footprint(r, Site.preset("aws-2023", country="USA"))
    metrics = "energy_per_token,energy_per_query,water_per_query"
    std = calibrate(records, metrics, bands=7, method="geometric", base="ecometer-inference", reference_site="aws-2023")
    assert std.reference_site == "aws-2023" and "metrics_kept" not in std.calibration
    assert "reference site aws-2023 (was us-average)" in std.changelog[-1]["changes"]


def test_calibrate_takes_an_options_dataclass():
    recs = [
        make_entry(f"m{i}", 10.0 * (i + 1), component="gpu", work={"token": 10}, meta={"task": "chat"})
        for i in range(10)
    ]
    opts = CalibrationOptions("gpu_energy_j", bands=3, per="token", unit="J", method="equal-width")
    std = calibrate(recs, opts)
    assert std == calibrate(recs, "gpu_energy_j", bands=3, per="token", unit="J", method="equal-width")
    assert std.applies_to == {"task": ["chat"]} and std.quality.accept_reported
    assert calibrate(recs, opts, bands=5).grades == list("ABCDE")


# ---- sensitivity ----------------------------------------------------------------------------------
def test_sensitivity_with_a_chart_of_a_metric_the_proposal_lacks_says_so(tmp_path, capsys):
    chart = tmp_path / "edges.png"
    args = ["standard", "sensitivity", "ecometer-inference", str(CHAT), "--spec", "ml-energy-lm-arena-chat"]
    rc = main([*args, "--metric", "energy_per_token", "--proposed", "ai-energy-score-2025-02", "--chart", str(chart)])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err and not chart.exists()
    assert "has no metric 'energy_per_token'" in err and "gpu_energy_per_1k_queries" in err


def test_sensitivity_says_why_every_record_changes_status(capsys):
    args = ["standard", "sensitivity", "ecometer-inference", str(CHAT), "--spec", "ml-energy-lm-arena-chat"]
    assert main([*args, "--metric", "energy_per_token", "--proposed", "ai-energy-score-2025-02"]) == 0
    text = capsys.readouterr().out.split("other metric grade changes")[0]
    lines = [ln for ln in text.splitlines() if ln.startswith("  ")]
    assert len(lines) == 328
    assert all("(no longer rated: " in ln and "under ai-energy-score-2025-02 2025.2.0: " in ln for ln in lines)
    assert "does not accept reported" not in lines[0]  # the proposal accepts them: the reason is its classes
    edges = "0.05,0.1,0.15,0.2,0.3,0.4"
    assert main([*args, "--metric", "energy_per_token", "--thresholds", edges, "--class", "small-H100"]) == 0
    overall = capsys.readouterr().out.split("other metric grade changes")[0]
    moved = [ln for ln in overall.splitlines() if "(better" in ln or "(worse" in ln]
    assert moved and all("energy_per_token " in ln for ln in moved)


# ---- water: at the run's site, or at the standard's reference site ---------------------------------
def chat_args(*more: str) -> list[str]:
    return ["score", "-s", "ecometer-inference", str(CHAT), "--spec", "ml-energy-lm-arena-chat", "--json", *more]


def first_water(capsys) -> dict:
    return json.loads(capsys.readouterr().out)[0]["metrics"]["water_per_query"]


def test_inference_water_is_graded_at_the_runs_site_with_its_uncertainty(capsys):
    assert main(chat_args("--site", "microsoft-2024", "--country", "IRL")) == 0
    w = first_water(capsys)
    assert w["low"] < w["value"] < w["high"] and len(w["probabilities"]) > 1 and not w["stable"]
    assert "at site microsoft-2024" in w["notes"]
    assert main(chat_args("--reference-site")) == 0
    ref = first_water(capsys)
    assert ref["low"] == ref["value"] == ref["high"] and "at site us-average" in ref["notes"]
    # the U.S.-average water intensity of the edges: 0.550 + 1.170 x 3.142 L/kWh of IT (GPU) energy
    assert main(chat_args()) == 0
    energy_wh = json.loads(capsys.readouterr().out)[0]["metrics"]["energy_per_query"]["value"]
    assert ref["value"] == pytest.approx(energy_wh / 1000 * (0.550 + 1.170 * 3.142), rel=1e-9)


def test_reference_site_is_an_option_the_standard_must_name(capsys):
    assert main(chat_args("--reference-site", "--site", "aws-2023")) == 2
    assert "leave out --site" in capsys.readouterr().err
    aes = str(CHAT.parents[1] / "ai-energy-score-2025-02")
    args = ["score", "-s", "ai-energy-score-2025-02", aes, "--spec", "ai-energy-score-2025-02", "--reference-site"]
    assert main(args) == 2
    assert "names no reference site" in capsys.readouterr().err


def test_an_mlperf_water_standard_names_its_site_and_grades_at_the_runs(tmp_path, capsys):
    rows = [mlperf_row(ID=f"v4.1-{i:04d}", Power_Result=4000.0 + 250 * i) for i in range(6)]
    table = tmp_path / "summary.json"
    table.write_text(json.dumps(rows))
    std_file = tmp_path / "water.toml"
    args = ["calibrate", str(table), "--spec", "mlperf-inference-power", "--metric", "water_total_l", "--per", "sample"]
    args += ["--scale", "1e6", "--unit", "L", "--bands", "3", "--class-by", "benchmark,scenario,division"]
    assert main([*args, "--site", "us-average", "--out", str(std_file)]) == 0
    std = load_standard(std_file)
    assert std.reference_site == "us-average" and "water_total_per_1m_samples" in std.metrics
    score_args = ["score", "-s", str(std_file), str(table), "--spec", "mlperf-inference-power", "--json"]
    capsys.readouterr()
    assert main([*score_args, "--site", "microsoft-2024", "--country", "IRL"]) == 0
    (w,) = json.loads(capsys.readouterr().out)[0]["metrics"].values()
    assert w["low"] < w["high"] and "at site microsoft-2024" in w["notes"]
    assert main([*score_args, "--reference-site"]) == 0
    (w,) = json.loads(capsys.readouterr().out)[0]["metrics"].values()
    assert w["low"] == w["high"] and "at site us-average" in w["notes"]


# ---- the spec rules themselves ---------------------------------------------------------------------
def test_new_spec_rules_round_trip_through_the_recorded_spec():
    for name in ("mlperf-inference-power", "ml-energy-llm", "ai-energy-score"):
        spec = load_spec(name)
        again = spec_from_dict(spec.to_dict(), origin=spec.origin)
        again.files = spec.files
        assert again == spec, name


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"energy_unit": "W"}, r"entry.rate: found None, expected the column of work per second"),
        ({"energy_unit": {"column": "u", "map": {"x": "furlong"}}}, r"entry.energy_unit.map.x: found 'furlong'"),
        ({"energy_unit": "J", "rate": "r"}, r"entry.rate: found 'r', expected no rate"),
        ({"energy_unit": "W", "rate": "r", "rate_unit": "parsec"}, r"entry.rate_unit: found 'parsec'"),
    ],
)
def test_spec_rules_are_checked_when_the_spec_is_read(entry, message):
    with pytest.raises(InputError, match=message):
        spec_from_dict({"entry": {"id": "m", "energy": "e", **entry}})


def test_a_source_placeholder_the_table_lacks_is_an_error(tmp_path):
    table = tmp_path / "t.json"
    table.write_text(json.dumps({"rows": [{"m": "a", "e": 1.0}]}))
    spec = spec_from_dict(
        {"source": {"title": "{task}"}, "table": {"records_key": "rows"}, "entry": {"id": "m", "energy": "e"}}
    )
    with pytest.raises(InputError, match=r"source: \{task\} names no top-level value of .*t.json"):
        import_tables([table], spec)
