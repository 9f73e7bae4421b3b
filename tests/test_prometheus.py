"""The Prometheus exporter: scraped over loopback, parsed strictly, and by a real Prometheus."""

from __future__ import annotations

import json
import math
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

import ecometer
from ecometer.errors import InputError
from ecometer.integrations.prometheus import MetricsState, parse_address, render, serve
from ecometer.measuring.meter import Meter
from ecometer.sensors.replay import ReplaySensor

# ---- a strict parser of the text exposition format 0.0.4 ------------------------------------
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def _value(text: str) -> float:
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?)", text):
        raise ValueError(f"bad sample value {text!r}")
    return float(text)


def _labels(text: str, i: int) -> tuple[dict[str, str], int]:
    """Parse ``{a="x",b="y"}`` from ``text[i] == '{'``; returns labels and the index after '}'."""
    labels: dict[str, str] = {}
    i += 1
    while True:
        if text[i] == "}":
            return labels, i + 1
        m = _LABEL.match(text, i)
        if not m:
            raise ValueError(f"bad label name at {text[i:]!r}")
        name = m.group()
        i = m.end()
        if text[i : i + 2] != '="':
            raise ValueError(f'expected =" after label {name}')
        i += 2
        value = []
        while text[i] != '"':
            if text[i] == "\\":
                nxt = text[i + 1]
                if nxt not in '\\"n':
                    raise ValueError(f"bad escape \\{nxt}")
                value.append({"\\": "\\", '"': '"', "n": "\n"}[nxt])
                i += 2
            else:
                if text[i] == "\n":
                    raise ValueError("raw newline in label value")
                value.append(text[i])
                i += 1
        i += 1
        if name in labels:
            raise ValueError(f"label {name} repeated")
        labels[name] = "".join(value)
        if text[i] == ",":
            i += 1
        elif text[i] != "}":
            raise ValueError(f"expected , or }} at {text[i:]!r}")


def parse_exposition(text: str) -> dict[str, dict]:
    """Families: name -> {"type", "help", "samples": [(labels, value)]}; raises on any violation."""
    if not text.endswith("\n"):
        raise ValueError("the exposition must end with a newline")
    families: dict[str, dict] = {}
    current = None
    seen_series: set[tuple] = set()
    for line in text[:-1].split("\n"):
        if line == "":
            raise ValueError("empty line")
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) < 3 or parts[1] not in ("HELP", "TYPE"):
                continue  # a plain comment
            name = parts[2]
            if not _NAME.fullmatch(name):
                raise ValueError(f"bad metric name {name!r}")
            fam = families.setdefault(name, {"type": None, "help": None, "samples": []})
            if fam["samples"]:
                raise ValueError(f"{parts[1]} of {name} after its samples")
            key = parts[1].lower()
            if fam[key] is not None:
                raise ValueError(f"second {parts[1]} for {name}")
            if parts[1] == "TYPE":
                if len(parts) != 4 or parts[3] not in _TYPES:
                    raise ValueError(f"bad TYPE line {line!r}")
                fam["type"] = parts[3]
            else:
                fam["help"] = parts[3] if len(parts) == 4 else ""
                if re.search(r"\\[^\\n]", fam["help"]):
                    raise ValueError(f"bad escape in HELP {line!r}")
            current = name
            continue
        m = _NAME.match(line)
        if not m:
            raise ValueError(f"bad sample line {line!r}")
        name, i = m.group(), m.end()
        labels: dict[str, str] = {}
        if i < len(line) and line[i] == "{":
            labels, i = _labels(line, i)
        if line[i : i + 1] != " ":
            raise ValueError(f"expected a space before the value in {line!r}")
        fields = line[i + 1 :].split(" ")
        if not 1 <= len(fields) <= 2:
            raise ValueError(f"bad value/timestamp in {line!r}")
        value = _value(fields[0])
        if name != current:
            if name in families and families[name]["samples"]:
                raise ValueError(f"samples of {name} are not together")
            current = name
        fam = families.setdefault(name, {"type": "untyped", "help": None, "samples": []})
        series = (name, tuple(sorted(labels.items())))
        if series in seen_series:
            raise ValueError(f"series {series} repeated")
        seen_series.add(series)
        if fam["type"] == "counter" and not (value >= 0 or math.isnan(value)):
            raise ValueError(f"counter {name} is negative")
        fam["samples"].append((labels, value))
    return families


def sample(families, name, **labels):
    for got, value in families[name]["samples"]:
        if all(got.get(k) == v for k, v in labels.items()):
            return value
    raise KeyError(f"{name} {labels}")


def test_parser_rejects_what_prometheus_rejects():
    good = '# HELP a_total x\n# TYPE a_total counter\na_total{l="q\\"\\\\\\n"} 1.5\n'
    assert parse_exposition(good)["a_total"]["samples"] == [({"l": 'q"\\\n'}, 1.5)]
    for bad in (
        "a 1",  # no final newline
        'a{l="x\\t"} 1\n',  # unknown escape
        "a{l=x} 1\n",  # unquoted
        "a 1\nb 1\na 2\n",  # family split
        "# TYPE a counter\na -1\n",  # negative counter
        "# TYPE a blob\na 1\n",  # unknown type
        "a 1\n\nb 1\n",  # empty line
        'a{l="1",l="2"} 1\n',  # repeated label
        "a one\n",
    ):
        with pytest.raises(ValueError):
            parse_exposition(bad)


# ---- the exporter ----------------------------------------------------------------------------
def scrape(url: str) -> tuple[str, str]:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.read().decode("utf-8"), resp.headers["Content-Type"]


class Clock:
    """A scripted monotonic clock (s): the test moves time, so figures do not depend on the machine's load."""

    t = 1000.0

    def __call__(self) -> float:
        return self.t


def job_sensors(clock=time.monotonic) -> list[ReplaySensor]:
    return [
        ReplaySensor([(0, 100.0)], device="gpu:0", clock=clock),
        ReplaySensor([(0, 250.0)], device="gpu:1", clock=clock),
        ReplaySensor([(0, 30.0)], component="cpu", device="cpu", clock=clock),
    ]


JOB_NAME = 'job "A"\\B\nC'


@pytest.fixture
def meter():
    m = ecometer.measure(
        JOB_NAME, sensors=job_sensors(), out=None, interval_s=0.02, site="us-average", work_unit="token"
    )
    yield m
    if m.running:
        m.stop()


def test_scrape_over_loopback_parses_and_adds_up():
    clock = Clock()  # sampled by the test at scripted times: exact joules however loaded the machine is
    meter = ecometer.measure(
        JOB_NAME, sensors=job_sensors(clock), out=None, interval_s=0.02, site="us-average", work_unit="token",
        clock=clock, background=False,
    )  # fmt: skip
    with serve(meter, port=0, labels={"cluster": "c1"}) as exporter:
        assert exporter.host == "127.0.0.1" and exporter.url.startswith("http://127.0.0.1:")
        text, ctype = scrape(exporter.url)
        fam = parse_exposition(text)
        assert ctype == "text/plain; version=0.0.4; charset=utf-8"
        assert sample(fam, "ecometer_up") == 0.0  # not started yet
        meter.start()
        for _ in range(15):  # 0.15 s
            clock.t += 0.01
            meter.sample_now()
        meter.add_work(1234)
        first = parse_exposition(scrape(exporter.url)[0])
        for _ in range(10):  # 0.1 s more
            clock.t += 0.01
            meter.sample_now()
        second = parse_exposition(scrape(exporter.url)[0])
        record = meter.stop()
        final = parse_exposition(scrape(exporter.url)[0])
    for name in ("ecometer_power_watts", "ecometer_energy_joules_total", "ecometer_water_litres_total"):
        assert first[name]["help"] and first[name]["type"] in ("gauge", "counter")
    assert first["ecometer_energy_joules_total"]["type"] == "counter"
    assert all(n.endswith("_total") for n, f in first.items() if f["type"] == "counter")
    assert sample(first, "ecometer_up") == 1.0
    info = first["ecometer_run_info"]["samples"][0][0]
    assert info["name"] == 'job "A"\\B\nC' and info["cluster"] == "c1"  # escaped and read back
    assert sample(first, "ecometer_power_watts", device="gpu:1", component="gpu") == pytest.approx(250.0)
    assert sample(first, "ecometer_power_watts", device="cpu", component="cpu") == pytest.approx(30.0)
    assert sample(first, "ecometer_work_total", unit="token") == 1234
    e1 = sample(first, "ecometer_energy_joules_total", device="gpu:0")
    e2 = sample(second, "ecometer_energy_joules_total", device="gpu:0")
    assert 0 < e1 < e2
    assert e1 == pytest.approx(100.0 * 0.15, rel=1e-9)  # 100 W for the 0.15 s before the first scrape
    assert e2 - e1 == pytest.approx(100.0 * 0.1, rel=1e-9)
    # water and carbon are those of the energy so far at the site's factors
    total = sum(v for _, v in second["ecometer_energy_joules_total"]["samples"])
    fp = ecometer.footprint(energy_j=total, site="us-average")
    assert sample(second, "ecometer_water_litres_total", kind="onsite") == pytest.approx(float(fp.water.onsite_l))
    assert sample(second, "ecometer_water_litres_total", kind="offsite") == pytest.approx(float(fp.water.offsite_l))
    assert sample(second, "ecometer_carbon_grams_total") == pytest.approx(float(fp.carbon_g))
    # after stop: the record's final figures, and the meter is down
    assert sample(final, "ecometer_up") == 0.0
    for device in ("gpu:0", "gpu:1", "cpu"):
        joules = sample(final, "ecometer_energy_joules_total", device=device)
        component = "cpu" if device == "cpu" else "gpu"
        assert joules == pytest.approx(record.components[component].devices[device], rel=1e-9)
    assert sample(final, "ecometer_power_watts", device="gpu:0") == 0.0


def test_counters_never_go_backwards():
    state = MetricsState()
    assert state.monotonic(("e",), 10.0) == 10.0
    assert state.monotonic(("e",), 9.5) == 10.0  # a live estimate corrected down is held
    assert state.monotonic(("e",), 12.0) == 12.0
    assert state.monotonic(("e",), float("nan")) == 12.0


def test_render_without_site_has_no_water_or_carbon():
    m = Meter("plain", sensors=[ReplaySensor([(0, 10.0)])], out=None, interval_s=0.02)
    with m:
        time.sleep(0.05)
        fam = parse_exposition(render(m))
    assert "ecometer_water_litres_total" not in fam and "ecometer_carbon_grams_total" not in fam
    assert sample(fam, "ecometer_energy_joules_total", device="gpu:0") > 0


def test_other_paths_and_methods(meter):
    with serve(meter, port=0) as exporter:
        base = exporter.url.rsplit("/", 1)[0]
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(base + "/secret", timeout=5)
        assert err.value.code == 404
        req = urllib.request.Request(exporter.url, method="HEAD")
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 200 and resp.read() == b""
        req = urllib.request.Request(exporter.url, data=b"x", method="POST")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)
        assert err.value.code == 501


def test_port_in_use_and_bad_labels_are_clear_errors(meter):
    with serve(meter, port=0) as exporter:
        with pytest.raises(InputError, match="cannot serve metrics on 127.0.0.1"):
            serve(meter, port=exporter.port)
    with pytest.raises(InputError, match="label name"):
        serve(meter, port=0, labels={"0bad": "x"})


@pytest.mark.parametrize(
    "text,expected",
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        (":9100", ("127.0.0.1", 9100)),
        ("9100", ("127.0.0.1", 9100)),
        ("0.0.0.0:9464", ("0.0.0.0", 9464)),
        ("[::1]:9464", ("::1", 9464)),
        ("localhost:0", ("localhost", 0)),
    ],
)
def test_parse_address(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["", "host:", "127.0.0.1:70000", "::1:9464", "[::1]9464", "a:b"])
def test_parse_address_errors(text):
    with pytest.raises(InputError, match="prometheus"):
        parse_address(text)


def test_distributed_meter_labels_its_rank(tmp_path):
    from ecometer import measure_distributed

    env = {"RANK": "0", "WORLD_SIZE": "1", "LOCAL_RANK": "0"}
    m = measure_distributed("dist", env=env, out=None, sensors=[ReplaySensor([(0, 5.0)])], interval_s=0.02)
    with m:
        time.sleep(0.05)
        fam = parse_exposition(render(m))
    labels = fam["ecometer_run_info"]["samples"][0][0]
    assert labels["rank"] == "0" and labels["world_size"] == "1"
    assert sample(fam, "ecometer_power_watts", device="gpu:0") == pytest.approx(5.0)


# ---- a real Prometheus server scraping the exporter -----------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_real_prometheus_scrapes_the_exporter(tmp_path, meter):
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("the prometheus binary is not installed (Debian: apt-get install prometheus)")
    meter.start()
    with serve(meter, port=0) as exporter:
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: ecometer\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{exporter.port}']\n"
        )
        port = _free_port()
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            query = urllib.parse.urlencode({"query": 'ecometer_energy_joules_total{device="gpu:1"}'})
            up_query = urllib.parse.urlencode({"query": 'up{job="ecometer"}'})
            deadline = time.monotonic() + 25
            result = []
            while time.monotonic() < deadline and not result:
                time.sleep(0.5)
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query?{query}", timeout=2) as r:
                        result = json.load(r)["data"]["result"]
                except (urllib.error.URLError, ConnectionError):
                    continue
            assert result, "Prometheus never stored the exporter's energy counter"
            assert float(result[0]["value"][1]) > 0
            assert result[0]["metric"]["component"] == "gpu"
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query?{up_query}", timeout=2) as r:
                up = json.load(r)["data"]["result"]
            assert up and up[0]["value"][1] == "1"  # the scrape itself succeeded (format accepted)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# ---- bounds beside each figure -----------------------------------------------------------------
def test_bounds_and_coverage_beside_energy_water_and_carbon():
    from ecometer.integrations.prometheus import bound_names

    assert bound_names("ecometer_energy_joules_total") == (
        "ecometer_energy_low_joules",
        "ecometer_energy_high_joules",
        "ecometer_energy_coverage_ratio",
    )
    sensors = [
        ReplaySensor([(0, 100.0)], device="gpu:0", uncertainty=(0.05, 0.05)),
        ReplaySensor([(0, 250.0)], device="gpu:1", uncertainty=(0.05, 0.05)),
        ReplaySensor([(0, 30.0)], component="cpu", device="cpu", uncertainty=(0.3, 0.2)),
    ]
    m = ecometer.measure("b", sensors=sensors, out=None, interval_s=0.02, site="us-average")
    m.start()
    time.sleep(0.1)
    live = parse_exposition(render(m))
    record = m.stop()
    final = parse_exposition(render(m))
    for fam in (live, final):
        for name in ("ecometer_energy_low_joules", "ecometer_energy_high_joules", "ecometer_energy_coverage_ratio"):
            assert fam[name]["type"] == "gauge" and fam[name]["help"]
        for device, rel_lo, rel_hi in (("gpu:0", 0.05, 0.05), ("gpu:1", 0.05, 0.05), ("cpu", 0.3, 0.2)):
            e = sample(fam, "ecometer_energy_joules_total", device=device)
            assert sample(fam, "ecometer_energy_low_joules", device=device) == pytest.approx(e * (1 - rel_lo))
            assert sample(fam, "ecometer_energy_high_joules", device=device) == pytest.approx(e * (1 + rel_hi))
            assert sample(fam, "ecometer_energy_coverage_ratio", device=device) == 1.0  # a stated bound
        # the same labels as the central series: low/high need no ignoring() in PromQL
        labels = {tuple(sorted(lab.items())) for lab, _ in fam["ecometer_energy_joules_total"]["samples"]}
        assert {tuple(sorted(lab.items())) for lab, _ in fam["ecometer_energy_low_joules"]["samples"]} == labels
        for kind in ("onsite", "offsite"):
            w = sample(fam, "ecometer_water_litres_total", kind=kind)
            assert sample(fam, "ecometer_water_low_litres", kind=kind) < w < sample(
                fam, "ecometer_water_high_litres", kind=kind
            )
        c = sample(fam, "ecometer_carbon_grams_total")
        assert sample(fam, "ecometer_carbon_low_grams") < c < sample(fam, "ecometer_carbon_high_grams")
    # after stop, a component measured by one sensor has the record's own interval
    cpu = record.components["cpu"]
    assert sample(final, "ecometer_energy_low_joules", device="cpu") == pytest.approx(cpu.uncertainty.low)
    assert sample(final, "ecometer_energy_high_joules", device="cpu") == pytest.approx(cpu.uncertainty.high)
    # water and carbon: the footprint of the energy so far with its interval, coverage as stored
    fp = ecometer.footprint(energy_j=record.energy_uncertainty, site="us-average").to_dict()
    stored = fp["water"]["onsite_l"]
    assert sample(final, "ecometer_water_high_litres", kind="onsite") == pytest.approx(stored["high"], rel=0.02)
    if stored.get("coverage") is not None:
        assert sample(final, "ecometer_water_coverage_ratio", kind="onsite") == stored["coverage"]
    else:  # an interval that states no coverage has no coverage series (absent, not NaN)
        assert "ecometer_water_coverage_ratio" not in final


def test_exact_figures_have_no_bounds_series():
    m = Meter("exact", sensors=[ReplaySensor([(0, 10.0)])], out=None, interval_s=0.02)
    with m:
        time.sleep(0.05)
        fam = parse_exposition(render(m))
    e = sample(fam, "ecometer_energy_joules_total", device="gpu:0")
    assert sample(fam, "ecometer_energy_low_joules", device="gpu:0") == e == sample(
        fam, "ecometer_energy_high_joules", device="gpu:0"
    )


def test_a_finished_record_alone_gives_its_components_intervals():
    """A meter that kept no sensor statements (here: only its record): the component's interval."""
    from ecometer.record.estimate import Estimate
    from ecometer.record.model import Component, RunRecord

    rec = RunRecord("done", status="ok", duration_s=10.0)
    unc = Estimate(1000.0, 900.0, 1150.0, coverage=0.95, distribution="normal")
    rec.components["gpu"] = Component("gpu", 1000.0, "modelled", unc, devices={"gpu:0": 600.0, "gpu:1": 400.0})

    class Finished:
        name, scope, running, record, site = "done", "machine", False, rec, None

    fam = parse_exposition(render(Finished()))
    assert sample(fam, "ecometer_energy_low_joules", device="gpu:0") == pytest.approx(540.0)
    assert sample(fam, "ecometer_energy_high_joules", device="gpu:1") == pytest.approx(460.0)
    assert sample(fam, "ecometer_energy_coverage_ratio", device="gpu:1") == 0.95
    rec.components["gpu"].uncertainty = Estimate(1000.0, 900.0, 1150.0, coverage=None, distribution="envelope")
    fam = parse_exposition(render(Finished()))
    assert "ecometer_energy_coverage_ratio" not in fam and "ecometer_energy_high_joules" in fam
