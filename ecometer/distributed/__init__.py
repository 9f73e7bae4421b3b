"""Meter a distributed job (``torch.distributed``, MPI, Slurm) as one job.

    with ecometer.measure_distributed("pretrain", work_unit="token") as m:   # on every rank
        for batch in loader:
            ...
            m.add_work(tokens_this_rank)
    # rank 0: m.record is the job's record (totals, per node, per rank), written to `out`

Distributed metering is the same :class:`~ecometer.measuring.meter.Meter` on every rank with a gather
step at stop:

* :mod:`~ecometer.distributed.ranks`: where this process sits (rank, local rank, node) from
  the launcher's environment, and what it meters: its own GPU, and the host (CPU, DRAM) only
  on the node's local rank 0 (elected through the job's store where the launcher does not
  say); with ``scope="process"`` every rank meters its own process tree's share instead;
* :mod:`~ecometer.distributed.transport`: the ranks' records reach rank 0 through the job's
  c10d store, or part files in a shared ``parts=`` directory; no collective is used, so a rank
  that died cannot hang the others: it is named in ``record.distributed["missing_ranks"]``;
* :mod:`~ecometer.distributed.merge`: :func:`merge_records` adds the parts up into the job's
  record (also usable on saved records: :func:`merge_files`);
* :mod:`~ecometer.distributed.job`: the job, and each run's session on this rank.

torch is never imported by this package: it is used only if the job already imported it.
Start a distributed meter with :func:`ecometer.measure_distributed`.

May import: everything below :mod:`ecometer.measuring` and the measuring package itself.
"""

from __future__ import annotations

from ecometer.distributed.job import DistributedMeter, Job
from ecometer.distributed.merge import merge_files, merge_records
from ecometer.distributed.ranks import RankInfo, rank_info

__all__ = ["DistributedMeter", "Job", "RankInfo", "merge_files", "merge_records", "rank_info"]
