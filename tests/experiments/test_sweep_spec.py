"""Sweep files: axes, constraints, seeds and errors that name the key."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from toy_model import TOY

from hasim.errors import ConfigError
from hasim.experiments.sweep_spec import expand, load_sweep, parse_sweep, run_seed

HEAD = '[sweep]\nbase = "base.toml"\nroot_seed = 7\n'


def _spec(toy_dir: Path, body: str):  # type: ignore[no-untyped-def]
    path = toy_dir / "s.toml"
    path.write_text(HEAD + body)
    return load_sweep(path)


def test_grid_times_list_in_nested_loop_order(toy_dir: Path) -> None:
    spec = load_sweep(toy_dir / "sweep.toml")
    runs = expand(spec, TOY)
    assert spec.name == "toy"
    assert len(runs) == 3 * 2 * 3
    assert [r.index for r in runs] == list(range(18))
    # first axis slowest, then list axis, then replications
    assert [(r.params["model.a"], r.params["variant"], r.replication) for r in runs[:7]] == [
        (1.0, "low", 0),
        (1.0, "low", 1),
        (1.0, "low", 2),
        (1.0, "high", 0),
        (1.0, "high", 1),
        (1.0, "high", 2),
        (2.0, "low", 0),
    ]
    assert runs[3].config["model"]["b"] == 10.0
    assert runs[0].config["model"]["noise"] == 0.25  # [fixed]
    assert len({r.run_id for r in runs}) == 18


def test_seed_is_spawned_from_root_by_point_key_and_replication(toy_dir: Path) -> None:
    runs = expand(load_sweep(toy_dir / "sweep.toml"), TOY)
    for r in runs:
        # the point's key: the first 16 hex digits of SHA-256 over its labels and overrides
        labels = {"variant": r.params["variant"]}
        overrides = {"model.noise": 0.25, "model.a": r.params["model.a"], "model.b": r.config["model"]["b"]}
        ident = json.dumps({"labels": labels, "overrides": overrides}, sort_keys=True)
        key = int(hashlib.sha256(ident.encode()).hexdigest()[:16], 16)
        state = np.random.SeedSequence(42, spawn_key=(key, r.replication)).generate_state(1, np.uint64)
        assert r.seed == int(state[0]) >> 1
        assert r.run_id.startswith(f"{key:016x}"[:12] + f"-{r.replication:05d}-")
    assert len({r.seed for r in runs}) == len(runs)


def test_runs_keep_their_id_and_seed_when_points_or_replications_are_added(toy_dir: Path) -> None:
    before = {
        (r.params["model.a"], r.params["variant"], r.replication): r
        for r in expand(load_sweep(toy_dir / "sweep.toml"), TOY)
    }
    text = (toy_dir / "sweep.toml").read_text()
    text = text.replace("replications = 3", "replications = 5").replace(
        "values = [1.0, 2.0, 3.0]", "values = [0.5, 1.0, 2.0, 3.0]"
    )
    (toy_dir / "sweep.toml").write_text(text)
    after = {
        (r.params["model.a"], r.params["variant"], r.replication): r
        for r in expand(load_sweep(toy_dir / "sweep.toml"), TOY)
    }
    assert len(after) == 4 * 2 * 5
    for key, run in before.items():  # every earlier run: same id, same seed, though its position moved
        assert (after[key].run_id, after[key].seed) == (run.run_id, run.seed)
        assert after[key].index != run.index


def test_adaptive_replications_parse_and_errors(toy_dir: Path) -> None:
    spec = _spec(toy_dir, 'replications = { min = 10, max = 80, metric = "hit", half_width = 0.1 }\n')
    assert spec.replications == 10 and spec.adaptive is not None
    assert (spec.adaptive.max, spec.adaptive.metric, spec.adaptive.half_width) == (80, "hit", 0.1)
    for body, key in [
        (
            'replications = { min = 10, max = 5, metric = "hit", half_width = 0.1 }\n',
            "sweep.replications.max",
        ),
        (
            'replications = { min = 10, max = 50, metric = "hit", half_width = 0 }\n',
            "sweep.replications.half_width",
        ),
        ("replications = { min = 10, max = 50, half_width = 0.1 }\n", "sweep.replications.metric"),
        (
            'replications = { min = 10, max = 50, metric = "hit", half_width = 0.1, step = 2 }\n',
            "sweep.replications.step",
        ),
    ]:
        with pytest.raises(ConfigError) as err:
            _spec(toy_dir, body)
        assert err.value.key == key


def test_common_random_numbers_share_seed_per_replication(toy_dir: Path) -> None:
    spec = _spec(
        toy_dir,
        'replications = 2\nseeding = "replication"\n[[axes]]\nkind = "grid"\n'
        'key = "model.a"\nvalues = [1, 2]\n',
    )
    runs = expand(spec, TOY)
    assert [r.seed for r in runs] == [run_seed(7, 0), run_seed(7, 1)] * 2


def test_range_axis_step_includes_stop_and_num_log(toy_dir: Path) -> None:
    spec = _spec(
        toy_dir,
        '[[axes]]\nkind = "range"\nkey = "model.a"\nstart = 0.1\nstop = 0.5\nstep = 0.1\n'
        '[[axes]]\nkind = "range"\nkey = "model.b"\nstart = 1\nstop = 100\nnum = 3\nlog = true\n',
    )
    runs = expand(spec, TOY)
    assert sorted({r.params["model.a"] for r in runs}) == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert sorted({r.params["model.b"] for r in runs}) == [1.0, 10.0, 100.0]


def test_zip_axis_moves_in_lock_step(toy_dir: Path) -> None:
    spec = _spec(
        toy_dir, '[[axes]]\nkind = "zip"\n[axes.values]\n"model.a" = [1, 2, 3]\n"model.b" = [10, 20, 30]\n'
    )
    runs = expand(spec, TOY)
    assert [(r.params["model.a"], r.params["model.b"]) for r in runs] == [(1, 10), (2, 20), (3, 30)]


def test_constraints_and_exclude_tables_skip_points(toy_dir: Path) -> None:
    spec = _spec(
        toy_dir,
        "skip_if = [\"model.a * model.b > 5 and not variant == 'x'\"]\n"
        '[[axes]]\nkind = "grid"\nkey = "model.a"\nvalues = [1, 2, 3]\n'
        '[[axes]]\nkind = "list"\npoints = [{label = "x", set = {"model.b" = 2}}, '
        '{label = "y", set = {"model.b" = 2.5}}]\n'
        '[[exclude]]\nvariant = "x"\n"model.a" = 1\n',
    )
    kept = [(r.params["model.a"], r.params["variant"]) for r in expand(spec, TOY)]
    # a*b: x -> 2,4,6 (kept: constraint spares x), y -> 2.5,5,7.5 (7.5 > 5 skipped); (1, x) excluded
    assert kept == [(1, "y"), (2, "x"), (2, "y"), (3, "x")]
    assert [r.point for r in expand(spec, TOY)] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ("replications = 0\n", "sweep.replications"),
        ('seeding = "random"\n', "sweep.seeding"),
        ("colour = 1\n", "sweep.colour"),
        ('[[axes]]\nkind = "cube"\nkey = "model.a"\n', "axes[0].kind"),
        ('[[axes]]\nkind = "grid"\nkey = "model.a"\nvalues = []\n', "axes[0].values"),
        ('[[axes]]\nkind = "grid"\nkey = "model.a"\nvalues = [1]\nstep = 2\n', "axes[0].step"),
        ('[[axes]]\nkind = "range"\nkey = "model.a"\nstart = 0\nstop = 1\n', "axes[0]"),
        ('[[axes]]\nkind = "range"\nkey = "model.a"\nstart = 0\nstop = 1\nstep = -1\n', "axes[0].step"),
        ('[[axes]]\nkind = "zip"\n[axes.values]\n"model.a" = [1, 2]\n"model.b" = [1]\n', "axes[0].values"),
        ('[[axes]]\nkind = "list"\npoints = [{label = "a"}, {label = "a"}]\n', "axes[0].points[1].label"),
        (
            '[[axes]]\nkind = "grid"\nkey = "model.a"\nvalues = [1]\n'
            '[[axes]]\nkind = "grid"\nkey = "model.a"\nvalues = [2]\n',
            "axes[1]",
        ),
        ('skip_if = ["model.a >"]\n', "sweep.skip_if[0]"),
        ("skip_if = [\"__import__('os')\"]\n", "sweep.skip_if[0]"),
        ("[colours]\n", "colours"),
    ],
)
def test_bad_sweep_files_name_the_key(toy_dir: Path, body: str, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        _spec(toy_dir, body)
    assert err.value.key == key


def test_unknown_config_key_and_unknown_constraint_name_are_named(toy_dir: Path) -> None:
    spec = _spec(toy_dir, '[[axes]]\nkind = "grid"\nkey = "model.colour"\nvalues = [1]\n')
    with pytest.raises(ConfigError) as err:
        expand(spec, TOY)
    assert err.value.key == "model.colour"
    spec = _spec(toy_dir, 'skip_if = ["model.nope > 1"]\n')
    with pytest.raises(ConfigError, match=r"model\.nope") as err2:
        expand(spec, TOY)
    assert err2.value.key == "sweep.skip_if[0]"


def test_missing_base_and_missing_root_seed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        parse_sweep('[sweep]\nbase = "nope.toml"\nroot_seed = 1\n', tmp_path / "s.toml")
    assert err.value.key == "sweep.base"
    (tmp_path / "b.toml").write_text("[x]\ny = 1\n")
    with pytest.raises(ConfigError) as err:
        parse_sweep('[sweep]\nbase = "b.toml"\n', tmp_path / "s.toml")
    assert err.value.key == "sweep.root_seed"
