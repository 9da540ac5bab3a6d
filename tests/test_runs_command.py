"""`chatclone runs`: one plain line per folder in --runs-dir, with its status, base model, steps,
size on disk and date; read from the run folders by `rundir.list_runs`."""

from __future__ import annotations

import argparse
import os
import re

from conftest import copy_run

from chatclone import options as opts
from chatclone import rundir
from chatclone.cli.main import STAGES, build_parser, main
from chatclone.rundir import RunDir
from chatclone.training.log import human_size

LINE = re.compile(
    r"(?P<name>\S+) +(?P<status>complete|training did not finish|not a run) +(?P<model>\S+) +"
    r"(?P<steps>\S+) steps +(?P<size>[\d.]+ [KMG]?B) +(?P<date>\d{4}-\d\d-\d\d \d\d:\d\d)"
)


def runs_dir_with_one_of_each(tmp_path, short_run):
    runs = tmp_path / "runs"
    copy_run(short_run, runs, "done")
    unfinished = copy_run(short_run, runs, "halfway")
    for name in ("config.json", "model.safetensors"):  # the final model, not written yet
        (unfinished / name).unlink()
    (runs / "holiday-photos").mkdir()
    (runs / "holiday-photos" / "a.jpg").write_bytes(b"x" * 2000)
    (runs / "notes.txt").write_text("a file, not a folder: not listed")
    (runs / ".tmp-half-written").mkdir()  # hidden: not listed
    return runs


def test_runs_lists_each_run_with_its_status(tmp_path, short_run, tiny_model, capsys):
    runs = runs_dir_with_one_of_each(tmp_path, short_run)
    assert main(["runs", "--runs-dir", str(runs)]) == 0
    lines = capsys.readouterr().out.splitlines()
    parsed = [LINE.fullmatch(line) for line in lines]
    assert all(parsed), lines
    rows = {m["name"]: m for m in parsed}
    assert [m["name"] for m in parsed] == ["done", "halfway", "holiday-photos"]
    assert rows["done"]["status"] == "complete"
    assert rows["halfway"]["status"] == "training did not finish"
    assert rows["holiday-photos"]["status"] == "not a run"
    assert rows["done"]["model"] == rows["halfway"]["model"] == str(tiny_model)
    assert rows["holiday-photos"]["model"] == "-"
    assert rows["done"]["steps"] == "2" and rows["halfway"]["steps"] == "2/2"
    assert rows["holiday-photos"]["steps"] == "-"
    assert rows["holiday-photos"]["size"] == "2.0 KB"
    assert rows["done"]["size"] == human_size(rundir.folder_size(runs / "done"))
    # Columns line up: every status starts at the same place.
    assert len({line.index(m["status"]) for line, m in zip(lines, parsed)}) == 1


def test_list_runs_reads_the_run_folders(tmp_path, short_run):
    runs = runs_dir_with_one_of_each(tmp_path, short_run)
    os.utime(runs / "done" / "chatclone.json", (1_700_000_000, 1_700_000_000))
    found = {r.name: r for r in rundir.list_runs(runs)}
    assert set(found) == {"done", "halfway", "holiday-photos"}
    assert found["done"].status == rundir.COMPLETE and found["done"].steps == 2
    assert found["done"].modified > 1_700_000_000  # the newest file, not the oldest
    assert found["done"].size == rundir.folder_size(runs / "done") > 0
    assert RunDir(runs / "halfway").status() == rundir.UNFINISHED
    assert rundir.list_runs(tmp_path / "missing") == []


def test_no_runs_yet(tmp_path, capsys):
    assert main(["runs", "--runs-dir", str(tmp_path / "none")]) == 0
    assert capsys.readouterr().out == (
        f"No runs in {tmp_path / 'none'} yet. Train one with: chatclone train --data EXPORT\n"
    )


def test_human_sizes():
    assert [human_size(n) for n in (0, 999, 1000, 1_234_567, 5_000_000_000)] == [
        "0 B",
        "999 B",
        "1.0 KB",
        "1.2 MB",
        "5.0 GB",
    ]


def test_runs_is_listed_after_train_and_uses_every_option_it_lists(tmp_path):
    from chatclone.cli import runs, train

    assert STAGES.index(runs) == STAGES.index(train) + 1
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    advertised = {a.dest for a in sub.choices["runs"]._actions} - {"help"}
    assert advertised == {"runs_dir"}
    reads = opts.trace_reads()
    try:
        assert main(["runs", "--runs-dir", str(tmp_path)]) == 0
    finally:
        opts.stop_tracing()
    assert advertised - reads == set()


def test_delete_uses_every_option_it_lists(tmp_path, short_run):
    copy_run(short_run, tmp_path / "runs")
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    advertised = {a.dest for a in sub.choices["delete"]._actions} - {"help"}
    assert advertised == {"runs_dir", "run_name", "yes"}
    reads = opts.trace_reads()
    try:
        argv = ["delete", "--runs-dir", str(tmp_path / "runs"), "--run-name", "run1", "--yes"]
        assert main(argv) == 0
    finally:
        opts.stop_tracing()
    assert advertised - reads == set()
    assert not (tmp_path / "runs" / "run1").exists()
