"""Claims: findings checked against a summary, printed by ``hasim report`` and written into the README."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from toy_model import TOY

from hasim.cli import cli
from hasim.errors import ConfigError
from hasim.experiments.claims import evaluate, parse_claims
from hasim.experiments.report_claims import BEGIN, END, readme_block
from hasim.experiments.runner import run_sweep
from hasim.experiments.sweep_spec import load_sweep

# Four points by hand: survival lower bounds 0.995, 0.97 (rfc6311 at 1 s, 4 s) and 0.5, 0.2 (legacy).
SUMMARY = pd.DataFrame(
    {
        "variant": ["rfc6311", "rfc6311", "legacy", "legacy"],
        "cluster.sync_interval_s": [1.0, 4.0, 1.0, 4.0],
        "n_runs": [40, 40, 40, 40],
        "sa_survival_mean": [1.0, 0.99, 0.7, 0.4],
        "sa_survival_ci_low": [0.995, 0.97, 0.5, 0.2],
        "sa_survival_ci_high": [1.0, 1.0, 0.85, 0.6],
        "sa_survival_n": [40, 39, 40, 40],
    }
)
PARAMS = ["variant", "cluster.sync_interval_s"]


def _one(text: str):  # type: ignore[no-untyped-def]
    return parse_claims("[[claims]]\n" + text, "claims.toml")[0]


def test_every_and_some_point_claims_against_hand_values() -> None:
    base = 'id = "a"\ntext = "t"\nmetric = "sa_survival"\nstat = "ci_low"\nop = ">="\nvalue = 0.99\n'
    short = evaluate(
        _one(base + "where = \"variant == 'rfc6311' and cluster.sync_interval_s <= 2\"\n"), SUMMARY, PARAMS
    )
    assert short.holds and len(short.points) == 1 and short.points[0].value == 0.995
    every = evaluate(_one(base + "where = \"variant == 'rfc6311'\"\n"), SUMMARY, PARAMS)
    assert not every.holds  # 0.97 at 4 s
    assert every.deciding is not None and every.deciding.value == 0.97 and every.deciding.n == 39
    some = evaluate(_one(base + 'where = "variant == \'legacy\'"\nat = "some"\n'), SUMMARY, PARAMS)
    assert not some.holds and some.deciding is not None and some.deciding.value == 0.5
    upper = evaluate(
        _one(
            'id = "b"\ntext = "t"\nmetric = "sa_survival"\nstat = "ci_high"\nop = "<"\nvalue = 0.9\n'
            "where = \"variant == 'legacy'\"\n"
        ),
        SUMMARY,
        PARAMS,
    )
    assert upper.holds and upper.deciding is not None and upper.deciding.value == 0.85
    nothing = evaluate(_one(base + "where = \"variant == 'other'\"\n"), SUMMARY, PARAMS)
    assert not nothing.holds  # a claim over no point is not a claim that holds


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('id = "a"\ntext = "t"\nmetric = "m"\nop = "~"\nvalue = 1\n', "claims[0].op"),
        ('id = "a"\ntext = "t"\nmetric = "m"\nop = ">="\nvalue = "x"\n', "claims[0].value"),
        ('id = "a"\ntext = "t"\nmetric = "m"\nop = ">="\nvalue = 1\nstat = "median"\n', "claims[0].stat"),
        ('id = "a"\ntext = "t"\nmetric = "m"\nop = ">="\nvalue = 1\nwhere = "x =="\n', "claims[0].where"),
        ('text = "t"\nmetric = "m"\nop = ">="\nvalue = 1\n', "claims[0].id"),
        ('id = "a"\ntext = "t"\nmetric = "m"\nop = ">="\nvalue = 1\ncolour = 1\n', "claims[0].colour"),
        # NaN compares false: a claim that could never hold; 10**400 raised OverflowError
        ('id = "a"\ntext = "t"\nmetric = "m"\nop = "<="\nvalue = nan\n', "claims[0].value"),
        ('id = "a"\ntext = "t"\nmetric = "m"\nop = "<="\nvalue = inf\n', "claims[0].value"),
        ('id = "a"\ntext = "t"\nmetric = "m"\nop = "<="\nvalue = 1' + "0" * 400 + "\n", "claims[0].value"),
    ],
)
def test_a_bad_claim_names_its_key(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_claims("[[claims]]\n" + text, "claims.toml")
    assert err.value.key == key


CLAIMS = """\
[[claims]]
id = "y_high"
text = "y is about a x b: above 25 for a = 3, high"
metric = "y"
op = ">="
value = 25
where = "model.a == 3 and variant == 'high'"

[[claims]]
id = "y_small"
text = "y stays below 5 for every low point"
metric = "y"
stat = "ci_high"
op = "<"
value = 5
where = "variant == 'low'"
"""


def test_report_prints_verdicts_and_writes_the_readme_table(
    toy_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (toy_dir / "claims.toml").write_text(CLAIMS)
    (toy_dir / "README.md").write_text(f"# Toy\n\n## Findings\n{BEGIN}\nstale text\n{END}\n\nAfter.\n")
    monkeypatch.chdir(toy_dir)  # the manifest records the sweep file relative to the working folder
    run_sweep(load_sweep(toy_dir / "sweep.toml"), toy_dir / "res", model=TOY, progress=False)
    out = CliRunner().invoke(cli, ["report", "res", "--update-readme"])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    # y = a b + noise: 30 at (3, high); low points: a = 1, 2, 3 -> y near 1, 2, 3, all below 5
    assert any(line.startswith("HOLDS y_high: y mean >= 25 at every point") for line in lines)
    assert any(
        line.startswith("HOLDS y_small: y ci_high < 5") and "(3 points, 0 failing)" in line for line in lines
    )
    block = readme_block(toy_dir / "README.md")
    assert "stale text" not in block and "| y is about a x b: above 25 for a = 3, high |" in block
    assert (toy_dir / "README.md").read_text().endswith("\n\nAfter.\n")
    assert "Claims checked against these results" in (toy_dir / "res" / "report.html").read_text()
    again = CliRunner().invoke(cli, ["report", "res", "--update-readme"])
    assert "already current" in again.output
