"""Shared test configuration: the ``rfc`` marker and the outcome record behind CONFORMANCE.md, and the
toy sweep (``toy_dir``) that the experiments and command-line tests run.

``pytest --rfc-report PATH`` writes one JSON object per test that carries ``@pytest.mark.rfc(...)``:
its node id, the requirement IDs it names and its outcome. ``make conformance`` turns that into
CONFORMANCE.md, so the matrix always reflects real test outcomes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

TOY = Path(__file__).parent / "experiments"
if str(TOY) not in sys.path:  # toy_model must be importable by sweep worker processes too
    sys.path.insert(0, str(TOY))

from toy_model import BASE_TOML  # noqa: E402

# Shared machines are busy: never fail a property on wall time, only on behaviour.
settings.register_profile(
    "hasim", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("hasim")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--rfc-report", default=None, help="write RFC requirement test outcomes (JSON lines)")


_RESULTS: dict[str, dict[str, object]] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    ids: list[str] = []
    for mark in item.iter_markers(name="rfc"):
        ids.extend(str(a) for a in mark.args)
    if not ids:
        return
    fresh = {"nodeid": item.nodeid, "ids": sorted(set(ids)), "outcome": "passed"}
    entry = _RESULTS.setdefault(item.nodeid, fresh)
    if report.failed:
        entry["outcome"] = "failed"
    elif report.skipped and entry["outcome"] == "passed" and report.when in ("setup", "call"):
        entry["outcome"] = "skipped"
    report.user_properties.append(("rfc_entry", json.dumps(entry)))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = session.config.getoption("--rfc-report")
    if not path or hasattr(session.config, "workerinput"):
        return
    Path(path).write_text("".join(json.dumps(e) + "\n" for e in _RESULTS.values()))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Under xdist the controller only sees reports; rebuild entries from the user properties.
    for name, value in report.user_properties:
        if name == "rfc_entry":
            entry = json.loads(value)
            prev = _RESULTS.get(entry["nodeid"])
            if prev is None or entry["outcome"] == "failed":
                _RESULTS[entry["nodeid"]] = entry


SWEEP_TOML = """\
[sweep]
name = "toy"
base = "base.toml"
replications = 3
root_seed = 42

[fixed]
"model.noise" = 0.25

[[axes]]
kind = "grid"
key = "model.a"
values = [1.0, 2.0, 3.0]

[[axes]]
kind = "list"
name = "variant"
points = [{ label = "low", set = { "model.b" = 1.0 } }, { label = "high", set = { "model.b" = 10.0 } }]
"""


@pytest.fixture
def toy_dir(tmp_path: Path) -> Path:
    """A folder holding base.toml and sweep.toml of the toy model (tests/experiments/toy_model.py)."""
    (tmp_path / "base.toml").write_text(BASE_TOML)
    (tmp_path / "sweep.toml").write_text(SWEEP_TOML)
    return tmp_path
