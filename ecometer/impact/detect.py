"""Where is this job running? Read from the environment only: never a metadata call, no network.

In order, the first that answers wins:

1. ``ECOMETER_SITE``: a site preset or region the user set (``aws-2023``, ``aws:us-east-1``).
2. The cloud's own variables a job usually has: ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` (AWS),
   ``GOOGLE_CLOUD_REGION`` / ``CLOUD_ML_REGION`` (Google Cloud, Vertex AI), ``REGION_NAME``
   (Azure Machine Learning).
3. A Kubernetes downward-API labels file (``ECOMETER_K8S_LABELS`` names it, or ``labels_path``):
   the node's ``topology.kubernetes.io/region`` label, its provider from the DMI vendor.
4. The DMI system vendor (``/sys/class/dmi/id/sys_vendor``) names the provider only: no region.

:func:`detect` returns what it found and from where; :func:`detected_site` turns it into a
:class:`~ecometer.impact.Site` (``site="auto"``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecometer.errors import SiteError
from ecometer.files import datafiles
from ecometer.impact.site import Site

DMI_VENDOR = Path("/sys/class/dmi/id/sys_vendor")
#: environment variable -> the provider whose region it names
CLOUD_VARIABLES = (
    ("AWS_REGION", "aws"),
    ("AWS_DEFAULT_REGION", "aws"),
    ("GOOGLE_CLOUD_REGION", "gcp"),
    ("CLOUD_ML_REGION", "gcp"),
    ("REGION_NAME", "azure"),
)
K8S_REGION_LABELS = ("topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region")


@dataclass(frozen=True)
class Detection:
    """What the environment says: ``site`` (a preset or region name, or None), the provider, and from where."""

    site: str | None
    provider: str | None
    source: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"site": self.site, "provider": self.provider, "source": self.source, "note": self.note}


def vendor_provider(path: Path = DMI_VENDOR) -> tuple[str | None, str]:
    """(provider, vendor text) from the DMI system vendor; (None, why) where it names none."""
    try:
        vendor = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError as exc:
        return None, f"{path}: not readable ({exc.strerror or exc})"
    for provider, info in datafiles.load("cloud_regions")["providers"].items():
        if any(vendor.lower() == v.lower() for v in info.get("dmi_sys_vendor", [])):
            return provider, vendor
    return None, vendor


def read_labels(path: Path) -> dict[str, str]:
    """A downward-API labels file (``key="value"`` per line); a SiteError naming the line when malformed."""
    labels = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise SiteError(f'{path} line {n}: {line!r}: expected key="value" (a Kubernetes downward-API labels file)')
        labels[key.strip()] = value.strip().strip('"')
    return labels


def _from_labels(path: Path, dmi: Path) -> Detection | None:
    labels = read_labels(path)
    region = next((labels[k] for k in K8S_REGION_LABELS if labels.get(k)), None)
    if region is None:
        return None
    provider, vendor = vendor_provider(dmi)
    site = f"{provider}:{region}" if provider else region
    note = f"node label {region!r}" + (f"; provider from DMI vendor {vendor!r}" if provider else "; provider not known")
    return Detection(site, provider, f"{path} (Kubernetes labels)", note)


def detect(
    environ: Mapping[str, str] | None = None,
    *,
    labels_path: str | os.PathLike | None = None,
    dmi_path: Path = DMI_VENDOR,
) -> Detection | None:
    """What the environment says about where this job runs (see the module docstring); None: nothing."""
    env = os.environ if environ is None else environ
    if env.get("ECOMETER_SITE", "").strip():
        return Detection(env["ECOMETER_SITE"].strip(), None, "ECOMETER_SITE")
    for var, provider in CLOUD_VARIABLES:
        value = env.get(var, "").strip()
        if value:
            return Detection(f"{provider}:{value.lower()}", provider, var)
    labels = labels_path or env.get("ECOMETER_K8S_LABELS")
    if labels:
        found = _from_labels(Path(labels), dmi_path)
        if found is not None:
            return found
    provider, vendor = vendor_provider(dmi_path)
    if provider is not None:
        return Detection(None, provider, str(dmi_path), f"DMI vendor {vendor!r} names the provider but not the region")
    return None


def detected_site(
    environ: Mapping[str, str] | None = None, overrides: dict[str, Any] | None = None, **kwargs: Any
) -> Site:
    """The :class:`~ecometer.impact.Site` the environment names; a SiteError saying what is missing."""
    found = detect(environ, **kwargs)
    if found is None or found.site is None:
        what = (
            found.note if found is not None else "no ECOMETER_SITE, cloud region variable, labels file or cloud vendor"
        )
        raise SiteError(
            f"site 'auto': the environment does not say where this job runs ({what}); set ECOMETER_SITE=<preset or "
            "region, e.g. aws:us-east-1> or pass site=..."
        )
    site = Site.named(found.site, **(overrides or {}))
    if site.region is not None and "region" not in (overrides or {}):
        site.provenance["region"] = {
            "source": f"detected from {found.source}",
            **({"note": found.note} if found.note else {}),
        }
    import logging  # here: a named site does not import it

    logging.getLogger(__name__).info("site detected from %s: %s", found.source, found.site)
    return site


def named_site(name: str, **overrides: Any) -> Site:
    """A site from one word: ``"auto"`` (detected here), a preset name or a region (:meth:`Site.named`)."""
    if isinstance(name, str) and name.strip().lower() == "auto":
        return detected_site(overrides=overrides)
    return Site.named(name, **overrides)
