"""Generated hostile input: whatever scenario, ``--set`` value or sweep file a user writes, hasim ends
with exit 0 (it ran) or 2 (one line saying what is wrong), never a traceback, within a time and a
memory bound.

Runs the commands in-process (``hasim.cli.main``) with small cost limits, so that an accepted run is
a short one; the peak resident memory is measured from a reset high-water mark (Linux VmHWM).
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hasim.cli import main
from hasim.sim.scenario.config import describe_fields

LIMITS = ["--max-cpu", "3", "--max-memory", "1G", "--max-events", "1e7"]
SECONDS = 20.0
PEAK_MIB = 1500.0

KEYS = [row["key"].replace("faults[]", "faults[0]") for row in describe_fields()]
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([0, -1, 1e-9, 1e-300, 1e308, 2**31, 2**32, 2**63 - 1, 2**64, 10**12]),
)
WORDS = st.sampled_from(['"onoff"', '"poisson"', "true", "[]", "{}", '"x"', "'a'*10", "nan", "inf", ""])
VALUES = st.one_of(NUMBERS.map(repr), WORDS, st.text(max_size=12))


def _toml_number(x: float | int) -> str:
    if isinstance(x, float):
        if x != x:
            return "nan"
        if x in (float("inf"), float("-inf")):
            return "inf" if x > 0 else "-inf"
    return repr(x)


def _peak_mib() -> float:
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def _outcome(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    capsys.readouterr()
    start = time.monotonic()
    code: object = 0
    try:
        main(args)
    except SystemExit as exc:
        code = exc.code
    elapsed = time.monotonic() - start
    err = capsys.readouterr().err.strip().splitlines()
    assert code in (0, 2), (args, code, err)
    assert len(err) <= 1, (args, err)
    assert not any("Traceback" in line for line in err), (args, err)
    if code == 2:
        assert err and err[0].startswith("hasim: error: "), (args, err)
    assert elapsed < SECONDS, (args, elapsed)
    assert _peak_mib() < PEAK_MIB, (args, _peak_mib())


SCENARIO = """\
[scenario]
duration_s = 5.0
[traffic]
esp_out_pps = 50.0
esp_in_pps = 50.0
[[faults]]
kind = "crash"
at_s = 2.0
"""

_SETTINGS = settings(
    max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None
)


@_SETTINGS
@given(sets=st.lists(st.tuples(st.one_of(st.sampled_from(KEYS), st.text(max_size=15)), VALUES), max_size=3))
def test_set_values(sets: list[tuple[str, str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO)
    args = ["run", str(scenario), *LIMITS]
    for key, value in sets:
        args += ["--set", f"{key}={value}"]
    _outcome(args, capsys)


@st.composite
def scenario_texts(draw: st.DrawFn) -> bytes:
    """A scenario file: a few keys with hostile values, or bytes that are not TOML or not UTF-8."""
    lines = []
    for key in draw(st.lists(st.sampled_from(KEYS), max_size=4, unique=True)):
        section, name = key.rsplit(".", 1)
        value = draw(st.one_of(NUMBERS.map(_toml_number), WORDS))
        if section.startswith("faults"):
            lines += ["[[faults]]", f"{name} = {value}"]
        else:
            lines += [f"[{section}]", f"{name} = {value}"]
    text = "\n".join(lines).encode()
    return draw(st.one_of(st.just(text), st.binary(max_size=40), st.just(text + b"\n\xff\xfe")))


@_SETTINGS
@given(text=scenario_texts())
def test_scenario_files(text: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "s.toml"
    scenario.write_bytes(text)
    _outcome(["run", str(scenario), *LIMITS], capsys)


EXPRESSIONS = st.one_of(
    st.text(alphabet="()[]-+*/%'\"0123456789.e notandorin<>=!,cluster.sync_interval_s", max_size=60),
    st.builds(lambda n, s: s * n, st.integers(1, 5000), st.sampled_from(["(", "[", "not ", "-", "9"])),
)


@st.composite
def sweep_texts(draw: st.DrawFn) -> str:
    """A sweep of the short scenario with hostile names, replications, axes and constraints."""
    name = draw(
        st.one_of(
            st.just("t"), st.sampled_from(["..", ".", "/tmp/x", "a/b", "", "index"]), st.text(max_size=8)
        )
    )
    reps = draw(st.one_of(st.integers(-3, 4), st.sampled_from([10**7, 2**63 - 1])))
    out = [f'[sweep]\nname = {json.dumps(name)}\nbase = "base.toml"\nroot_seed = 1\nreplications = {reps}']
    if draw(st.booleans()):
        out.append(f"skip_if = [{json.dumps(draw(EXPRESSIONS))}]")
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["grid", "range", "list", "zip"]))
        if kind == "range":
            start, stop, step = (_toml_number(draw(NUMBERS)) for _ in range(3))
            head = '[[axes]]\nkind = "range"\nkey = "cluster.sync_interval_s"'
            out.append(f"{head}\nstart = {start}\nstop = {stop}\nstep = {step}")
        elif kind == "list":
            label = json.dumps(draw(st.sampled_from(["variant", "seed", "error", "sa_survival", "a.b", ""])))
            out.append(f'[[axes]]\nkind = "list"\nname = {label}\npoints = [{{ label = "a", set = {{}} }}]')
        else:
            values = ", ".join(_toml_number(draw(NUMBERS)) for _ in range(draw(st.integers(0, 3))))
            out.append(f'[[axes]]\nkind = "grid"\nkey = "{draw(st.sampled_from(KEYS))}"\nvalues = [{values}]')
    return "\n".join(out) + "\n"


@_SETTINGS
@given(text=sweep_texts())
def test_sweep_files(text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "base.toml").write_text(SCENARIO)
    (tmp_path / "sweep.toml").write_text(text)
    args = ["sweep", str(tmp_path / "sweep.toml"), "--dry-run", "--max-runs", "2000", *LIMITS]
    _outcome([*args, "--out", str(tmp_path / "results")], capsys)
