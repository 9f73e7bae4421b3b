"""Which physical GPUs a CUDA process sees: ``CUDA_VISIBLE_DEVICES`` mapped to NVML indices.

CUDA numbers the devices a process may use ``0..n-1`` ("CUDA-visible index", what
``torch.device("cuda:1")`` means); NVML numbers every GPU in the machine in PCI bus order.
This module is pure (no NVML calls): the NVIDIA sensor passes in what NVML reported.

Parsing follows the CUDA driver's rules (as also implemented by PyTorch's device count):

* unset: every GPU is visible, in NVML (PCI bus) order;
* ``""`` (set but empty): no GPU is visible;
* a comma-separated list of integer indices, of GPU UUIDs (``GPU-8932f937-...``; any prefix
  that matches exactly one GPU is allowed), or of MIG instance UUIDs (``MIG-...``, or the
  pre-R470 form ``MIG-GPU-<uuid>/<gpu instance>/<compute instance>``); the kind of the first
  entry decides the kind of the list;
* an integer entry is read like C ``strtoul`` (``"1gpu"`` means 1);
* the first invalid entry (negative, out of range, unknown or ambiguous UUID, or another kind)
  ends the list: it and every entry after it are ignored;
* a device named twice makes the whole list empty (CUDA then exposes no device).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ecometer.errors import InputError

GPU_PREFIX = "GPU-"
MIG_PREFIX = "MIG-"
_STRTOUL = re.compile(r"\s*([+-]?)(\d+)")
_OLD_MIG = re.compile(r"^MIG-(GPU-[0-9A-Za-z-]+)/(\d+)/(\d+)$")

GpuRequest = int | str


@dataclass(frozen=True)
class PhysicalGpu:
    """One GPU as NVML enumerates it."""

    nvml_index: int
    uuid: str
    name: str = ""


@dataclass(frozen=True)
class MigInstance:
    """One MIG instance on a physical GPU (``parent_nvml_index``)."""

    uuid: str
    parent_nvml_index: int
    gpu_instance_id: int | None = None
    compute_instance_id: int | None = None


@dataclass(frozen=True)
class VisibleGpu:
    """One CUDA-visible device: its CUDA index and the physical GPU that NVML measures."""

    cuda_index: int
    nvml_index: int
    uuid: str
    mig_uuid: str | None = None


@dataclass
class Selection:
    """The CUDA-visible devices, the raw variable and notes on how they were mapped."""

    gpus: list[VisibleGpu]
    env: str | None
    notes: list[str] = field(default_factory=list)


def _strtoul(text: str) -> int | None:
    """The integer an entry starts with (C ``strtoul`` style), or ``None`` if there is none.

    A negative number is returned as is (``-1``): CUDA treats it as an invalid ordinal.
    """
    m = _STRTOUL.match(text)
    if m is None:
        return None
    value = int(m.group(2))
    return -value if m.group(1) == "-" else value


def parse_cuda_visible_devices(value: str | None) -> list[int] | list[str] | None:
    """Parse ``CUDA_VISIBLE_DEVICES`` syntactically: ``None`` when unset (all GPUs visible).

    Returns a list of integer indices or of UUID strings (``GPU-...``/``MIG-...``), cut at the
    first entry that is invalid on its own; ``[]`` when none is valid or one is repeated.
    Range checks and UUID matching need the machine's GPUs: see :func:`visible_gpus`.
    """
    if value is None:
        return None
    entries = [e.strip() for e in value.split(",")]
    first = entries[0]
    if first.startswith(GPU_PREFIX) or first.startswith(MIG_PREFIX):
        prefix = GPU_PREFIX if first.startswith(GPU_PREFIX) else MIG_PREFIX
        uuids: list[str] = []
        for entry in entries:
            if not entry.startswith(prefix):
                break
            if entry in uuids:
                return []
            uuids.append(entry)
        return uuids
    indices: list[int] = []
    for entry in entries:
        index = _strtoul(entry)
        if index is None or index < 0:
            break
        if index in indices:
            return []
        indices.append(index)
    return indices


def _match_prefix(candidate: str, uuids: list[str]) -> tuple[int | None, str]:
    """Position of the only uuid starting with ``candidate`` (case-insensitive) and why not."""
    c = candidate.lower()
    hits = [i for i, u in enumerate(uuids) if u.lower().startswith(c)]
    if len(hits) == 1:
        return hits[0], ""
    return None, ("matches no GPU" if not hits else f"is ambiguous (matches {len(hits)} devices)")


def _resolve_mig(entry: str, physical: list[PhysicalGpu], migs: list[MigInstance]) -> tuple[MigInstance | None, str]:
    old = _OLD_MIG.match(entry)
    if old is not None:  # pre-R470 form: MIG-GPU-<uuid>/<gi>/<ci>
        pos, why = _match_prefix(old.group(1), [p.uuid for p in physical])
        if pos is None:
            return None, f"names a parent GPU that {why}"
        parent = physical[pos].nvml_index
        gi, ci = int(old.group(2)), int(old.group(3))
        for m in migs:
            if m.parent_nvml_index == parent and m.gpu_instance_id == gi and m.compute_instance_id == ci:
                return m, ""
        return None, f"names GPU instance {gi} / compute instance {ci}, which NVML does not list"
    pos, why = _match_prefix(entry, [m.uuid for m in migs])
    if pos is None:
        return None, why
    return migs[pos], ""


def visible_gpus(
    physical: list[PhysicalGpu],
    migs: list[MigInstance] | None = None,
    env: str | None = None,
    device_order: str | None = None,
) -> Selection:
    """Map ``CUDA_VISIBLE_DEVICES`` (``env``; ``None`` = unset) onto the machine's GPUs.

    ``physical`` is NVML's list (in NVML index order), ``migs`` the MIG instances NVML lists,
    ``device_order`` the value of ``CUDA_DEVICE_ORDER``. The notes say which entries were
    ignored and why, and when the index mapping may differ from CUDA's.
    """
    migs = list(migs or [])
    physical = sorted(physical, key=lambda p: p.nvml_index)
    notes: list[str] = []
    parsed = parse_cuda_visible_devices(env)
    shown = f"CUDA_VISIBLE_DEVICES={env!r}"
    if parsed is None:
        gpus = [VisibleGpu(i, p.nvml_index, p.uuid) for i, p in enumerate(physical)]
        _order_note(physical, device_order, notes)
        return Selection(gpus, env, notes)
    entries = [e.strip() for e in (env or "").split(",")]
    if not parsed:
        if env is not None and env.strip() == "":
            notes.append(f"{shown}: set but empty, so CUDA exposes no GPU to this process")
        elif _first_invalid(entries[0]):
            notes.append(f"{shown}: its first entry {entries[0]!r} is not a valid device, so CUDA exposes no GPU")
        else:
            notes.append(f"{shown}: a device is named twice, so CUDA exposes no GPU to this process")
        return Selection([], env, notes)
    if len(parsed) < len(entries):
        bad = entries[len(parsed)]
        notes.append(
            f"{shown}: entry {bad!r} is not a valid device of this kind; CUDA ignores it and every entry after it"
        )
    gpus: list[VisibleGpu] = []
    by_index = {p.nvml_index: p for p in physical}
    for raw in parsed:
        if isinstance(raw, int):
            if raw >= len(physical):
                notes.append(
                    f"{shown}: index {raw} is out of range ({len(physical)} GPU(s)); CUDA ignores it and every entry after it"
                )
                break
            p = physical[raw]
            vis = VisibleGpu(len(gpus), p.nvml_index, p.uuid)
        elif raw.startswith(MIG_PREFIX):
            mig, why = _resolve_mig(raw, physical, migs)
            if mig is None:
                notes.append(f"{shown}: MIG entry {raw!r} {why}; CUDA ignores it and every entry after it")
                break
            parent = by_index[mig.parent_nvml_index]
            vis = VisibleGpu(len(gpus), parent.nvml_index, parent.uuid, mig_uuid=mig.uuid)
        else:
            pos, why = _match_prefix(raw, [p.uuid for p in physical])
            if pos is None:
                notes.append(f"{shown}: UUID {raw!r} {why}; CUDA ignores it and every entry after it")
                break
            p = physical[pos]
            vis = VisibleGpu(len(gpus), p.nvml_index, p.uuid)
        key = (vis.nvml_index, vis.mig_uuid)
        if any((g.nvml_index, g.mig_uuid) == key for g in gpus):
            notes.append(f"{shown}: a device is named twice, so CUDA exposes no GPU to this process")
            return Selection([], env, notes)
        gpus.append(vis)
    if gpus and isinstance(parsed[0], int):
        _order_note(physical, device_order, notes)
    return Selection(gpus, env, notes)


def _first_invalid(entry: str) -> bool:
    if entry.startswith(GPU_PREFIX) or entry.startswith(MIG_PREFIX):
        return False
    index = _strtoul(entry)
    return index is None or index < 0


def _order_note(physical: list[PhysicalGpu], device_order: str | None, notes: list[str]) -> None:
    """CUDA's default order is fastest first; NVML's is PCI bus order. Same on identical GPUs."""
    names = {p.name for p in physical if p.name}
    if len(names) > 1 and (device_order or "").strip().upper() != "PCI_BUS_ID":
        notes.append(
            "this machine has different GPU models and CUDA_DEVICE_ORDER is not PCI_BUS_ID: CUDA numbers GPUs "
            "fastest first, NVML in PCI bus order, so a CUDA index may name a different GPU than assumed here; "
            "set CUDA_DEVICE_ORDER=PCI_BUS_ID to make the mapping exact"
        )


def check_request(gpus: object) -> str | list[GpuRequest]:
    """Validate the form of a ``gpus=`` argument: ``"auto"`` or a list of ints / strings."""
    if isinstance(gpus, str):
        if gpus == "auto":
            return gpus
        raise InputError(f"gpus={gpus!r}: expected 'auto' or a list of CUDA indices / GPU UUIDs, e.g. [0, 1]")
    if isinstance(gpus, (list, tuple)):
        out: list[GpuRequest] = []
        for g in gpus:
            if isinstance(g, bool) or not isinstance(g, (int, str)):
                raise InputError(f"gpus: entry {g!r} is neither a CUDA index (int) nor a UUID string")
            out.append(g)
        return out
    raise InputError(f"gpus={gpus!r}: expected 'auto' or a list of CUDA indices / GPU UUIDs, e.g. [0, 1]")


def choose(visible: list[VisibleGpu], request: str | list[GpuRequest]) -> list[VisibleGpu]:
    """The CUDA-visible devices a ``gpus=`` request names, in request order.

    Integers (or ``"1"``, ``"cuda:1"``) are CUDA-visible indices; strings starting with
    ``GPU-`` / ``MIG-`` are (prefixes of) UUIDs among the visible devices.
    Raises :class:`InputError` naming the entry and the valid choices.
    """
    if request == "auto":
        return list(visible)
    valid = ", ".join(f"{g.cuda_index} ({g.mig_uuid or g.uuid})" for g in visible) or "none"
    chosen: list[VisibleGpu] = []
    for item in request:
        text = str(item).strip()
        if text.lower().startswith("cuda:"):
            text = text[5:]
        if text.isdigit():
            index = int(text)
            if index >= len(visible):
                raise InputError(f"gpus: CUDA index {item!r} is not visible to this process; valid choices: {valid}")
            pick = visible[index]
        elif text.startswith(GPU_PREFIX) or text.startswith(MIG_PREFIX):
            field_name = "mig_uuid" if text.startswith(MIG_PREFIX) else "uuid"
            ids = [getattr(g, field_name) or "" for g in visible]
            pos, why = _match_prefix(text, ids)
            if pos is None:
                raise InputError(f"gpus: UUID {item!r} {why} among the visible GPUs; valid choices: {valid}")
            pick = visible[pos]
        else:
            raise InputError(
                f"gpus: entry {item!r} is neither a CUDA index nor a GPU-/MIG- UUID; valid choices: {valid}"
            )
        if pick in chosen:
            raise InputError(f"gpus: {item!r} names a GPU already in the list")
        chosen.append(pick)
    return chosen
