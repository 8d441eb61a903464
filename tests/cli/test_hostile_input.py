"""Every careless or hostile input seen in review, one row each: exit 2 within 10 s, one line on
stderr naming the key or file, no traceback, and no file outside the results folder touched (or, where
the input is legitimate, a run within its estimate and exit 0).

Each row sets up files in a fresh folder (which is also the working directory, so that a sweep named
``..`` would write beside them), runs ``hasim`` in-process and compares every file outside
``results/`` before and after.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from hasim.cli import main

TOY = Path(__file__).resolve().parents[1] / "experiments"
if str(TOY) not in sys.path:
    sys.path.insert(0, str(TOY))

from toy_model import BASE_TOML as TOY_BASE  # noqa: E402

BASE = """\
[scenario]
name = "short"
duration_s = 60.0

[traffic]
esp_out_pps = 100.0
esp_in_pps = 100.0

[[faults]]
kind = "crash"
at_s = 30.0
"""

TOY_SWEEP = """\
[sweep]
name = "toy"
base = "toy_base.toml"
replications = 2
root_seed = 42

[[axes]]
kind = "grid"
key = "model.a"
values = [1.0, 2.0]
"""


def sweep_file(head: str = "", body: str = "", name: str = "t", replications: str = "1") -> str:
    """A sweep of the short scenario; ``head`` goes into [sweep], ``body`` after it."""
    return (
        f'[sweep]\nname = "{name}"\nbase = "base.toml"\nroot_seed = 1\nreplications = {replications}\n'
        f"{head}\n{body}"
    )


def grid(key: str = "cluster.sync_interval_s", values: str = "[0.5, 1.0]") -> str:
    return f'[[axes]]\nkind = "grid"\nkey = "{key}"\nvalues = {values}\n'


def list_axis(name: str) -> str:
    return f'[[axes]]\nkind = "list"\nname = "{name}"\npoints = [{{ label = "a", set = {{}} }}]\n'


def range_axis(start: str, stop: str, step: str) -> str:
    head = '[[axes]]\nkind = "range"\nkey = "cluster.sync_interval_s"\n'
    return f"{head}start = {start}\nstop = {stop}\nstep = {step}\n"


def toy_results(damage: Callable[[Path], None]) -> Callable[[Path], None]:
    """A finished toy sweep in results/toy, then ``damage`` applied to that folder."""

    def setup(folder: Path) -> None:
        (folder / "toy_base.toml").write_text(TOY_BASE)
        (folder / "toy.toml").write_text(TOY_SWEEP)
        main(["sweep", "toy.toml", "--model", "toy_model:TOY", "-j", "1", "--no-progress"])
        damage(folder / "results" / "toy")

    return setup


def write(name: str, data: bytes | str) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data if isinstance(data, bytes) else data.encode())

    return damage


def with_dask(setup: Callable[[Path], None]) -> Callable[[Path], None]:
    """``setup``, and distributed imported first: its import takes seconds on a busy machine, which the
    row's 10 s are not about."""

    def both(folder: Path) -> None:
        import distributed  # noqa: F401

        setup(folder)

    return both


def manifest(**fields: object) -> Callable[[Path], None]:
    """Set fields of the manifest as a hand edit (or a damaged disk) would."""

    def damage(folder: Path) -> None:
        path = folder / "manifest.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), **fields}))

    return damage


def table(name: str, **columns: object) -> Callable[[Path], None]:
    """Set columns of runs.parquet or summary.csv (a valid file with values no sweep writes)."""

    def damage(folder: Path) -> None:
        import pandas as pd

        path = folder / name
        frame = pd.read_parquet(path) if name.endswith(".parquet") else pd.read_csv(path)
        frame = frame.assign(**columns)
        if name.endswith(".parquet"):
            frame.to_parquet(path)
        else:
            frame.to_csv(path, index=False)

    return damage


def _copy_runs_as_timelines(folder: Path) -> None:
    (folder / "timelines.parquet").write_bytes((folder / "runs.parquet").read_bytes())


def files(name: str, text: str | bytes) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        (folder / name).write_bytes(text if isinstance(text, bytes) else text.encode())

    return setup


@dataclass(frozen=True)
class Case:
    """One reported input: the command, the files it needs, and what the one line must name."""

    id: str
    args: list[str]
    names: str
    setup: Callable[[Path], None] = field(default=lambda folder: None)
    code: int = 2
    line: str = ""  # the whole line, where the row states it


def exact(id: str, args: list[str], line: str, setup: Callable[[Path], None] | None = None) -> Case:
    """A row whose one line is stated in full: ``hasim: error: <line>``; it names the key or file."""
    key = line.split(": ", 1)[0]
    return Case(id, args, key, setup or (lambda folder: None), line=f"hasim: error: {line}")


def sweep_case(id: str, text: str, names: str, *extra: str) -> Case:
    return Case(id, ["sweep", "s.toml", "--no-progress", *extra], names, files("s.toml", text))


def run_case(id: str, sets: list[str], names: str, *extra: str) -> Case:
    return Case(id, ["run", "base.toml", *(a for s in sets for a in ("--set", s)), *extra], names)


DEEP = 100_000
CASES = [
    # lost results: a name that leaves results/, a label that overwrites a result column
    sweep_case("name ..", sweep_file(name=".."), "sweep.name"),
    sweep_case("name .", sweep_file(name="."), "sweep.name", "--force"),
    sweep_case("name absolute", sweep_file(name="/tmp/x"), "sweep.name"),
    exact(
        "name of 5000 characters",
        ["sweep", "s.toml", "--no-progress"],
        "sweep.name: got a name of 5000 bytes; a folder name has at most 255",
        files("s.toml", sweep_file(name="a" * 5000)),
    ),
    *(
        sweep_case(f"label {col}", sweep_file(body=list_axis(col)), "axes[0].name")
        for col in ("index", "seed", "run_id", "error", "config", "sa_survival")
    ),
    # hangs and runaway memory: refused by the estimate, naming the key that drives the cost
    run_case("sync every ns", ["cluster.sync_interval_s=1e-9"], "cluster.sync_interval_s"),
    run_case("liveness every ns", ["traffic.liveness_interval_s=1e-9"], "traffic.liveness_interval_s"),
    run_case("rekey every us", ["traffic.rekey_interval_s=1e-6"], "traffic.rekey_interval_s"),
    run_case(
        "tiny on/off periods",
        ['traffic.model="onoff"', "traffic.on_s=1e-9", "traffic.off_s=1e-9"],
        "traffic.on_s",
    ),
    run_case("1e9 peers", ["traffic.peers=1000000000"], "traffic.peers"),
    # estimated at 6 s, ran 96 s at 2,000 peers: counter rekeys were not counted
    run_case(
        "a rekey every 4 packets",
        [
            "traffic.rekey_counter_fraction=1e-9",
            "traffic.peers=20000",
            "traffic.esp_out_pps=1",
            "traffic.esp_in_pps=1",
            "traffic.liveness_interval_s=0",
            "scenario.duration_s=3600",
        ],
        "error: traffic.rekey_counter_fraction, ",
    ),
    # the per-SA world (Gilbert-Elliott links) runs ESP 12 times slower than the scaled engine
    run_case(
        "gilbert_elliott links at 20,000 peers",
        ["links.loss_model=gilbert_elliott", "traffic.peers=20000", "scenario.duration_s=200"],
        "links.loss_model",
    ),
    # estimated at 1.5 s, still running after 120 s at 200 peers (and 1.2 GB): a flap every 3 ms
    run_case(
        "strongswan heartbeat timeout 1 ms",
        [
            "membership.style=strongswan",
            "membership.heartbeat_timeout_s=0.001",
            "traffic.peers=500",
            "scenario.duration_s=600",
        ],
        "error: membership.heartbeat_timeout_s, ",
    ),
    run_case("1e9 child SAs", ["traffic.child_sas=1000000000"], "traffic.child_sas"),
    run_case("duration 1e12", ["scenario.duration_s=1e12"], "scenario.duration_s"),
    run_case(
        "rate 1e9 for 1000 s", ["traffic.esp_out_pps=1e9", "scenario.duration_s=1000"], "traffic.esp_out_pps"
    ),
    run_case("rate spread 1e308", ["traffic.rate_spread=1e308"], "traffic.rate_spread"),
    run_case(
        "rate spread 1e6 for 600 s",
        ["traffic.rate_spread=1e6", "scenario.duration_s=600"],
        "traffic.rate_spread",
    ),
    sweep_case("10 million runs", sweep_file(replications="10000000"), "sweep.replications", "--dry-run"),
    sweep_case(
        "10^12 range points", sweep_file(body=range_axis("1", "1000000000000", "1")), "axes[0]", "--dry-run"
    ),
    Case(
        "advise poisson 1e12",
        ["advise", "--rate", "1e12", "--sync-interval", "1", "--detection", "3", "--traffic", "poisson"],
        "--rate",
    ),
    # tracebacks: one line instead
    Case(
        "non-UTF-8 scenario",
        ["run", "bad.toml"],
        "bad.toml",
        files("bad.toml", b'[scenario]\nname = "\xff"\n'),
    ),
    Case(
        "non-UTF-8 sweep bytes", ["sweep", "u.toml"], "u.toml", files("u.toml", b"[sweep]\nname = '\xfe'\n")
    ),
    run_case("esp_out_pps 1e308", ["traffic.esp_out_pps=1e308"], "traffic.esp_out_pps"),
    run_case("m1_margin 2**63-1", ["policy.m1_margin=9223372036854775807"], "policy.m1_margin"),
    run_case("p1_margin 2**40", ["policy.p1_margin=1099511627776"], "policy.p1_margin"),
    run_case("increment_margin 1e308", ["policy.increment_margin=1e308"], "policy.increment_margin"),
    Case("seed -1", ["run", "base.toml", "--seed", "-1"], "--seed"),
    *(
        sweep_case(
            f"skip_if {label}", sweep_file(head=f"skip_if = [{expr!r}]"), "sweep.skip_if[0]", "--dry-run"
        )
        for label, expr in (
            ("'a'*10**12", "'a'*10**12 == 'b'"),
            ("'a'*10^12", "'a'*1000000000000 == 'b'"),
            ("[1]*10**10", "[1]*10000000000 == []"),
            ("5000 digits", "9" * 5000 + " > 1"),
            ("nested parentheses", "(" * DEEP + "1" + ")" * DEEP + " == 1"),
            ("nested brackets", "[" * DEEP + "]" * DEEP + " == []"),
            ("nested not", "not " * DEEP + "true"),
            ("nested minus", "-" * DEEP + "1 == 1"),
            ("many nots", "not " * 40 + "true"),
            ("string format", "'%999999999d' % 1 == 'a'"),
        )
    ),
    sweep_case("range NaN step", sweep_file(body=range_axis("1", "2", "nan")), "axes[0].step"),
    sweep_case("range infinite stop", sweep_file(body=range_axis("1", "inf", "1")), "axes[0].stop"),
    sweep_case("exclude = 5", "exclude = 5\n" + sweep_file(), "exclude"),
    sweep_case("timelines = 5", "timelines = 5\n" + sweep_file(), "timelines"),
    Case(
        "advise rate 1e308",
        ["advise", "--rate", "1e308", "--sync-interval", "1", "--detection", "3"],
        "--rate",
    ),
    exact(
        "advise latency 1e308",
        ["advise", "--rate", "1000", "--sync-interval", "1", "--detection", "3", "--latency", "1e308"],
        "--latency: got 1e+308; expected a number in [0, 86400]",
    ),
    Case(
        "advise sync 1e300",
        ["advise", "--rate", "1000", "--sync-interval", "1e300", "--detection", "3"],
        "--sync-interval",
    ),
    Case(
        "--model os:system",
        ["sweep", "s.toml", "--model", "os:system", "--dry-run"],
        "--model",
        files("s.toml", sweep_file()),
    ),
    # damaged results under report, plot and --resume
    *(
        Case(f"{cmd} damaged {name}", [cmd, "results/toy"], name, toy_results(write(name, data)))
        for cmd in ("report", "plot")
        for name, data in (
            ("runs.parquet", b"PAR1 garbage"),
            ("summary.csv", b"\xff\xfe\x00"),
            ("timelines.parquet", b"not parquet"),
            ("manifest.json", b"{garbage"),
            ("parts/00001-deadbeef.json", b'{"run_id": '),
        )
    ),
    *(
        Case(
            f"resume damaged {name}",
            ["sweep", "toy.toml", "--model", "toy_model:TOY", "--resume", "--no-progress"],
            name,
            toy_results(write(name, data)),
        )
        for name, data in (
            ("runs.parquet", b"PAR1 garbage"),
            ("manifest.json", b"\x00\x01"),
            ("parts/00001-deadbeef.json", b"[]"),
        )
    ),
    # nonsense accepted before: refused now
    Case(
        "advise window 16",
        ["advise", "--rate", "1000", "--sync-interval", "1", "--detection", "3", "--window", "16"],
        "--window",
    ),
    Case(
        "advise window 2**40",
        ["advise", "--rate", "1000", "--sync-interval", "1", "--detection", "3", "--window", str(2**40)],
        "--window",
    ),
    Case(
        "advise skip 2**70 esn",
        [
            "advise",
            "--rate",
            "1000",
            "--sync-interval",
            "1",
            "--detection",
            "3",
            "--skip",
            str(2**70),
            "--esn",
        ],
        "--skip",
    ),
    # tracebacks from Python's own limits and from overrides into a value that is not a table
    exact(
        "scenario arrays nested 5000 deep",
        ["run", "deep.toml"],
        "deep.toml: not valid TOML: arrays or inline tables nested too deeply",
        files("deep.toml", "[scenario]\nname = " + "[" * 5000 + "]" * 5000 + "\n"),
    ),
    exact(
        "scenario integer of 5000 digits",
        ["run", "long.toml"],
        # 'duration_s = ' is 13 characters: the number starts in column 14 of line 2
        "long.toml: not valid TOML: an integer of 5000 digits, more than 4300 (at line 2, column 14)",
        files("long.toml", "[scenario]\nduration_s = " + "9" * 5000 + "\n"),
    ),
    exact(
        "sweep integer of 5000 digits",
        ["sweep", "s.toml", "--dry-run"],
        # line 5 is 'replications = <digits>': 15 characters before them
        "s.toml: not valid TOML: an integer of 5000 digits, more than 4300 (at line 5, column 16)",
        files("s.toml", sweep_file(replications="9" * 5000)),
    ),
    exact(
        "duration 10**400 (beyond a float)",
        ["run", "big.toml"],
        "scenario.duration_s: got 1" + "0" * 56 + "...; expected a number in s > 0.0",
        files("big.toml", f"[scenario]\nduration_s = 1{'0' * 400}\n"),
    ),
    exact(
        "--set an integer of 5000 digits",
        ["run", "base.toml", "--set", "traffic.peers=" + "9" * 5000],
        "traffic.peers: an integer of 5000 digits, more than 4300",
    ),
    exact(
        "--set arrays nested 5000 deep",
        ["run", "base.toml", "--set", "traffic.peers=" + "[" * 5000 + "]" * 5000],
        "traffic.peers: arrays or inline tables nested too deeply",
    ),
    exact(
        "sweep --set arrays nested 5000 deep",
        ["sweep", "s.toml", "--dry-run", "--set", "traffic.peers=" + "[" * 5000 + "]" * 5000],
        "traffic.peers: arrays or inline tables nested too deeply",
        files("s.toml", sweep_file()),
    ),
    exact(
        "--set faults=[1] then faults[0].at_s",
        ["run", "base.toml", "--set", "faults=[1]", "--set", "faults[0].at_s=1"],
        "faults[0]: got 1; expected a table",
    ),
    exact(
        "--set faults=5 then faults[0].at_s",
        ["run", "base.toml", "--set", "faults=5", "--set", "faults[0].at_s=1"],
        "faults: got 5; expected an array of tables ([[faults]])",
    ),
    exact(
        "cluster = 5 then --set cluster.members",
        ["run", "c.toml", "--set", "cluster.members=3"],
        "cluster: got 5; expected a table",
        files("c.toml", "cluster = 5\n"),
    ),
    exact(
        "links.cluster_to_peer = 5 then --set links.loss",
        ["run", "l.toml", "--set", "links.loss=0.1"],
        "links.cluster_to_peer: got 5; expected a table",
        files("l.toml", "[links]\ncluster_to_peer = 5\n"),
    ),
    exact(
        "fault member m² (a digit int() refuses)",
        ["run", "m.toml"],
        "faults[0].member: got 'm²'; expected active, standby or m0, m1, ...",
        files("m.toml", "[[faults]]\nat_s = 5.0\nmember = 'm\u00b2'\n"),
    ),
    exact(
        "fault member m9 of a two-member peer",
        ["run", "p.toml"],
        "faults[0].member: got 'm9'; the peer has members m0..m1",
        files(
            "p.toml", "[peer]\nis_cluster = true\n[[faults]]\nat_s = 5.0\ntarget = 'peer'\nmember = 'm9'\n"
        ),
    ),
    exact(
        "range stop 10**400 (beyond a float)",
        ["sweep", "s.toml", "--dry-run"],
        "axes[0].stop: expected a finite number, got 1" + "0" * 56 + "...",
        files("s.toml", sweep_file(body=range_axis("1", "1" + "0" * 400, "1"))),
    ),
    # a fork bomb: a process pool forks all its workers at its first run
    exact(
        "-j 10**8",
        ["sweep", "s.toml", "-j", "100000000", "--no-progress"],
        f"--workers: got 100000000; expected 1..{8 * len(os.sched_getaffinity(0))} on this machine "
        "(8 per CPU available: each worker is a process)",
        files("s.toml", sweep_file(replications="1000")),
    ),
    *(
        Case(
            f"--dask {address!r}",
            ["sweep", "s.toml", "--dask", address, "--no-progress"],
            f"--dask: cannot connect to a Dask scheduler at {address!r}: ",
            with_dask(files("s.toml", sweep_file())),
        )
        for address in ("junk", "", "foo://x:1")
    ),
    exact(
        "explore --max-states -1 (explored nothing and said so as a result)",
        ["explore", "--max-states", "-1"],
        "Invalid value for '--max-states': -1 is not in the range x>=0. (see hasim explore -h)",
    ),
    exact(
        "explore --max-states 10**9",
        ["explore", "--max-states", "1000000000"],
        "--max-states: got 1,000,000,000; at most 2,000,000 (about 1.4 kB of memory each)",
    ),
    exact("explore --failovers 9", ["explore", "--failovers", "9"], "--failovers: must be in 0..8, got 9"),
    # endless input: refused at once (its first octets) or after a bound, not read until memory runs out
    exact(
        "decode --pcap /dev/zero",
        ["decode", "--pcap", "/dev/zero"],
        "at byte offset 0: not a classic pcap file (magic 00000000; pcapng is not supported)",
    ),
    exact(
        "decode --keys /dev/zero",
        ["decode", "--keys", "/dev/zero", "00"],
        f"at byte offset {64 * 2**20}: keys file /dev/zero: larger than 64 MiB",
    ),
    # results folders whose files are readable but hold what no sweep writes
    exact(
        "report: the recorded sweep's figures = 5",
        ["report", "results/toy"],
        "results/toy/manifest.json: damaged manifest (its sweep file: report.figures: got 5; "
        "expected [[report.figures]] tables); --force starts over",
        toy_results(manifest(sweep_toml=TOY_SWEEP + "[report]\nfigures = 5\n")),
    ),
    exact(
        "plot: manifest param_columns = 5",
        ["plot", "results/toy"],
        "results/toy/manifest.json: damaged manifest (param_columns is 5, not a list of column names); "
        "--force starts over",
        toy_results(manifest(param_columns=5)),
    ),
    exact(
        "report: manifest nested 100000 deep",
        ["report", "results/toy"],
        "results/toy/manifest.json: damaged manifest (nested too deeply); --force starts over",
        toy_results(write("manifest.json", "[" * DEEP + "]" * DEEP)),
    ),
    exact(
        "report: a run's config not JSON",
        ["report", "results/toy"],
        "results/toy/runs.parquet: damaged runs table (the config of run 0 is '{garbage', not a JSON "
        "object); --force starts the sweep over",
        toy_results(table("runs.parquet", config="{garbage")),
    ),
    exact(
        "report: summary n_runs not numbers",
        ["report", "results/toy"],
        "results/toy/summary.csv: damaged summary (column n_runs is not whole numbers); "
        "run the sweep again with --resume",
        toy_results(table("summary.csv", n_runs="x")),
    ),
    exact(
        "plot: every summary row one point",
        ["plot", "results/toy"],
        "results/toy/summary.csv: damaged summary (a point twice); run the sweep again with --resume",
        toy_results(table("summary.csv", point=0)),
    ),
    exact(
        "plot: timelines.parquet of another table",
        ["plot", "results/toy"],
        "results/toy/timelines.parquet: not a timelines table (no timeline column); --resume rewrites it",
        toy_results(_copy_runs_as_timelines),
    ),
    exact(
        "plot: a figure over a column the results lack",
        ["plot", "results/toy"],
        "report.figures[0].x: no column 'model.c' in the summary",
        toy_results(
            manifest(
                sweep_toml=TOY_SWEEP + '[[report.figures]]\nkind = "curves"\nx = "model.c"\nmetric = "y"\n'
            )
        ),
    ),
    exact(
        "report --notes /dev/zero",
        ["report", "results/toy", "--notes", "/dev/zero"],
        "/dev/zero: larger than 64 MiB; expected notes (Markdown)",
        toy_results(lambda folder: None),
    ),
    Case(
        "plot --dpi 100000 (a 10^11-pixel figure)",
        ["plot", "results/toy", "--dpi", "100000"],
        "--dpi",
        toy_results(lambda folder: None),
    ),
    sweep_case(
        "[report] figures = 5 before any run",
        sweep_file(body="[report]\nfigures = 5\n"),
        "report.figures: got 5; expected [[report.figures]] tables",
        "--dry-run",
    ),
    sweep_case(
        "a figure's logx = 'yes' before any run",
        sweep_file(
            body='[[report.figures]]\nkind = "curves"\nx = "cluster.sync_interval_s"\n'
            'metric = "sa_survival"\nlogx = "yes"\n'
        ),
        "report.figures[0].logx: got 'yes'; expected true or false",
        "--dry-run",
    ),
    # every run done, then a traceback writing runs.parquet: one column of 5 and "a"
    sweep_case(
        "list labels 5 and 'a'",
        sweep_file(
            body='[[axes]]\nkind = "list"\npoints = [{ label = 5, set = {} }, { label = "a", set = {} }]\n'
        ),
        "axes[0].points[1].label: got 'a' among labels that are not strings; the labels of one axis make "
        "one result column: all strings or all numbers",
        "--dry-run",
    ),
    # mistyped keys that silently did nothing: an exclude that left nothing out, a timeline that kept
    # none, an adaptive sweep that never reached its precision (every point ran max replications)
    exact(
        "exclude with a mistyped key",
        ["sweep", "s.toml", "--dry-run"],
        "exclude[0].cluster.sync_intervl_s: names no label or config key of any point of the sweep, "
        "so it would match nothing",
        files("s.toml", '[[exclude]]\n"cluster.sync_intervl_s" = 0.5\n' + sweep_file(body=grid())),
    ),
    exact(
        "a timeline where a label no axis makes",
        ["sweep", "s.toml", "--dry-run"],
        "timelines[0].where.variant: names no label or config key of any point of the sweep, "
        "so it would match nothing",
        files(
            "s.toml", '[[timelines]]\nname = "x"\nwhere = { variant = "a", replication = 0 }\n' + sweep_file()
        ),
    ),
    exact(
        "adaptive replications on a mistyped metric",
        ["sweep", "s.toml", "--dry-run"],
        "sweep.replications.metric: got 'sa_survivl'; not a metric of hasim.sim "
        "(did you mean 'sa_survival'?)",
        files(
            "s.toml", sweep_file(replications="{ min = 2, max = 4, metric = 'sa_survivl', half_width = 0.1 }")
        ),
    ),
    # legitimate: they run, within their estimate
    Case("faults=[]", ["run", "base.toml", "--set", "faults=[]"], "", code=0),
    Case(
        "--force over a garbage manifest",
        ["sweep", "toy.toml", "--model", "toy_model:TOY", "--force", "--no-progress"],
        "",
        toy_results(write("manifest.json", b"\xff{{not json")),
        code=0,
    ),
]


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file() and p.relative_to(folder).parts[0] != "results"
    }


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_reported_input(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.toml").write_text(BASE)
    (tmp_path / "summary.csv").write_text("a user's own file beside the sweep\n")
    case.setup(tmp_path)
    capsys.readouterr()
    before = _snapshot(tmp_path)
    start = time.monotonic()
    with pytest.raises(SystemExit) as exit_info:
        main(case.args)
        sys.exit(0)
    elapsed = time.monotonic() - start
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == case.code, err
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert _snapshot(tmp_path) == before, "a file outside results/ changed"
    if case.code == 2:
        assert len(err) == 1, err
        assert err[0].startswith("hasim: error: ") and case.names in err[0], err[0]
        assert not case.line or err[0] == case.line
    else:
        assert err == [], err


def test_a_pool_has_no_more_workers_than_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """-j 8 for a sweep of one run: the run goes inline, no seven idle processes are forked."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.toml").write_text(BASE)
    (tmp_path / "s.toml").write_text(sweep_file())
    with pytest.raises(SystemExit) as exit_info:
        main(["sweep", "s.toml", "-j", "8", "--no-progress"])
        sys.exit(0)
    assert exit_info.value.code == 0
    executor = json.loads((tmp_path / "results" / "t" / "manifest.json").read_text())["executor"]
    assert (executor["kind"], executor["workers"]) == ("inline", 1)


def test_decode_of_endless_standard_input_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``hasim decode < /dev/zero``: lines are read one at a time, each at most 2**20 characters."""
    with open("/dev/zero", encoding="latin-1") as zeros:
        monkeypatch.setattr(sys, "stdin", zeros)
        start = time.monotonic()
        with pytest.raises(SystemExit) as exit_info:
            main(["decode"])
    assert exit_info.value.code == 2 and time.monotonic() - start < 10
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "hasim: error: at byte offset 0: line 1: longer than 1,048,576 characters (one hex message a line)"
    ]


def test_an_exhaustive_search_past_its_state_bound_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``hasim explore`` at 8 crashes, losses, requests, duplicates and ESP packets, window 4, held 4 GB
    after 40 s and went on; an exhaustive search stops when it passes MAX_STATES (100 here: the
    default bound has 600 states at window 1)."""
    from hasim.cli import explore

    monkeypatch.setattr(explore, "MAX_STATES", 100)
    with pytest.raises(SystemExit) as exit_info:
        main(["explore", "--window", "1"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "hasim: error: bounds: the search passed 100 states (about 1.4 kB of memory each) without "
        "finishing; lower the bounds or give --max-states N for a search of N states that is not exhaustive"
    ]


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["run", "base.toml", "--pcap", "no/such/x.pcap"],
            "no/such/x.pcap: cannot write: No such file or directory",
        ),
        (
            ["interop", "strongswan", "--pcap", "no/such/x.pcap"],
            "no/such/x.pcap: cannot write: No such file or directory",
        ),
    ],
)
def test_an_output_that_cannot_be_written_is_refused_before_the_run(
    args: list[str],
    line: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The pcap is written after the run (or after charon's cases): a folder that does not exist used
    to cost the whole run and its printed metrics."""
    import hasim.interop.driver
    import hasim.sim

    def must_not_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("ran before the output was checked")

    monkeypatch.setattr(hasim.sim, "simulate", must_not_run)
    monkeypatch.setattr(hasim.interop.driver, "run_interop", must_not_run)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "base.toml").write_text(BASE)
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"hasim: error: {line}"]
