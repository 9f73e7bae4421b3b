"""A torchrun worker for tests/test_callbacks_distributed.py: a tiny GPT-2 trained with DDP (gloo, CPU).

Every rank meters a scripted GPU of ``100 * (rank + 1)`` W; host sensors (CPU 10 W) are
offered to all ranks and used by local rank 0 only. Writes its record's summary to
``<output_dir>/rank<r>.json``.
"""

from __future__ import annotations

import json
import os
import sys

import torch
import transformers
from conftest import tiny_gpt2  # tests/ is this script's folder, so it is on sys.path

from ecometer.integrations.hf import EcometerCallback
from ecometer.sensors.replay import ReplaySensor


def main() -> int:
    out = sys.argv[1]
    rank = int(os.environ["RANK"])
    torch.manual_seed(0)
    args = transformers.TrainingArguments(
        output_dir=out,
        per_device_train_batch_size=4,
        num_train_epochs=1,
        report_to="none",
        save_strategy="no",
        logging_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
        ddp_backend="gloo",
    )
    cb = EcometerCallback(
        name="ddp",
        sensors=[ReplaySensor([(0, 100.0 * (rank + 1))], device=f"gpu:{rank}")],
        host_sensors=[ReplaySensor([(0, 10.0)], component="cpu", device="cpu")],
        interval_s=0.02,
        gather_timeout_s=30,
    )
    model, data = tiny_gpt2(24)
    transformers.Trainer(model=model, args=args, train_dataset=data, callbacks=[cb]).train()
    with open(os.path.join(out, f"rank{rank}.json"), "w", encoding="utf-8") as fh:
        json.dump({"path": cb.path, "role": cb.record.distributed["role"], "work": cb.record.work}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
