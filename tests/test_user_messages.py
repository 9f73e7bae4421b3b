"""What a user of the library sees (issue 26): one line per process saying where the record went and
what is modelled, framework figures through the framework's own logging path, a missing extra named."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import tiny_gpt2

from ecometer.sensors.replay import ReplaySensor

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
ENV.pop("ECOMETER_QUIET", None)

TWO_RUNS = """
import sys, time, ecometer
for name in ("first", "second"):
    with ecometer.measure(name, out=sys.argv[1] + f"/{name}.json", interval_s=0.05):
        time.sleep(0.2)
"""


def test_the_library_says_once_where_the_record_went_and_what_is_modelled(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", TWO_RUNS, str(tmp_path)], env=ENV, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines == [lines[0]] and lines[0].startswith(f"ecometer: first: record {tmp_path}/first.json"), lines
    assert "modelled, not measured" in lines[0] and len(lines[0]) < 200
    assert proc.stdout == ""
    quiet = subprocess.run(
        [sys.executable, "-c", TWO_RUNS, str(tmp_path)],
        env=dict(ENV, ECOMETER_QUIET="1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert quiet.returncode == 0 and quiet.stderr == ""


@pytest.mark.parametrize(
    "module, hidden, extra",
    [("ecometer.integrations.hf", "transformers", "ecometer[hf]"),
     ("ecometer.integrations.lightning", "lightning', 'pytorch_lightning", "ecometer[lightning]")],
)  # fmt: skip
def test_a_callback_without_its_extra_names_the_extra(module, hidden, extra):
    code = f"import sys\nfor m in ['{hidden}']:\n    sys.modules[m] = None\nimport {module}\n"
    proc = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert f"pip install '{extra}'" in proc.stderr.splitlines()[-1]


def test_hf_figures_reach_every_callbacks_on_log(tmp_path):  # the console, TensorBoard, W&B listen there
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from ecometer.integrations.hf import EcometerCallback

    class Listener(transformers.TrainerCallback):  # stands for TensorBoard / W&B (listed before ours)
        def __init__(self) -> None:
            self.logs: list[dict] = []

        def on_log(self, args, state, control, logs=None, **kwargs):
            self.logs.append(dict(logs or {}))

    torch.manual_seed(0)
    model, data = tiny_gpt2(120)
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path / "out"), per_device_train_batch_size=2, max_steps=60, report_to="none",
        save_strategy="no", logging_strategy="no", use_cpu=True, disable_tqdm=True, dataloader_num_workers=0,
    )  # fmt: skip
    listener = Listener()
    cb = EcometerCallback(  # the default forecast settings: a 60-step run still gets a forecast
        name="tiny", sensors=[ReplaySensor([(0, 100.0)], method="counter")], interval_s=0.01
    )
    trainer = transformers.Trainer(model=model, args=args, train_dataset=data, callbacks=[listener, cb])
    logging.getLogger("ecometer.notice").setLevel(logging.WARNING)
    trainer.train()
    seen = {k for logs in listener.logs for k in logs}
    assert "ecometer/forecast_energy_j" in seen, listener.logs
    assert {"ecometer_energy_j", "ecometer_record"} <= seen  # the summary at the end too


BUSY = "import time, sys\nt = time.monotonic()\nwhile time.monotonic() - t < float(sys.argv[1]):\n    pass\n"


def test_machine_scope_warns_with_the_figure_when_neighbours_use_the_machine(tmp_path):
    neighbours = [subprocess.Popen([sys.executable, "-c", BUSY, "30"]) for _ in range(2)]
    try:
        for scope in ("machine", "process"):
            out = tmp_path / f"{scope}.json"
            proc = subprocess.run(
                [sys.executable, "-m", "ecometer", "run", "--scope", scope, "--out", str(out), "--",
                 sys.executable, "-c", BUSY, "2.5"],
                env=ENV, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert proc.returncode == 0, proc.stderr
            from ecometer.record.model import load_record

            warned = [w for w in load_record(out).warnings if w.startswith("other processes used")]
            if scope == "machine":
                assert len(warned) == 1, load_record(out).warnings
                assert "CPU-seconds" in warned[0] and "as its own share" in warned[0] and " J " in warned[0]
                assert warned[0] in proc.stderr  # said while it ran, not only kept
            else:
                assert warned == []  # process scope measures the job's own share already
    finally:
        for n in neighbours:
            n.kill()
            n.wait()
