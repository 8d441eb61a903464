"""The sweep command: dry-run listing, bad files as one line, a run through the CLI."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hasim.cli import main


def test_dry_run_lists_every_run(toy_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["sweep", str(toy_dir / "sweep.toml"), "--model", "toy_model:TOY", "--dry-run"])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("sweep toy: 18 runs (6 points x 3 replications), root seed 42")
    assert out[1].startswith("estimate: 18 runs, CPU time unknown (the model gives no estimate)")
    assert out[2].split("\t") == ["index", "run_id", "seed", "model.a", "variant", "model.b"]
    assert len(out) == 3 + 18
    assert out[3].split("\t")[3:] == ["1.0", "low", "1.0"]
    assert not (toy_dir / "results").exists()


def test_bad_sweep_file_is_one_line_naming_the_key(toy_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (toy_dir / "bad.toml").write_text('[sweep]\nbase = "base.toml"\nroot_seed = 1\nreplications = "3"\n')
    with pytest.raises(SystemExit) as exc:
        main(["sweep", str(toy_dir / "bad.toml"), "--model", "toy_model:TOY"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sweep.replications" in err[0]


def test_sweep_command_writes_results(toy_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = toy_dir / "r"
    main(
        [
            "sweep",
            str(toy_dir / "sweep.toml"),
            "--model",
            "toy_model:TOY",
            "-j",
            "2",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert "18 runs executed (0 failed)" in capsys.readouterr().out
    assert len(pd.read_parquet(out / "runs.parquet")) == 18
    main(
        [
            "sweep",
            str(toy_dir / "sweep.toml"),
            "--model",
            "toy_model:TOY",
            "--out",
            str(out),
            "--resume",
            "--no-progress",
        ]
    )
    assert "0 runs executed (0 failed), 18 already done" in capsys.readouterr().out


def test_unknown_model_is_a_clear_error(toy_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["sweep", str(toy_dir / "sweep.toml"), "--model", "toy_model:NOPE", "--dry-run"])
    assert "--model" in capsys.readouterr().err
