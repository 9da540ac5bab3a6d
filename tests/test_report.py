"""report.html: self-contained (embedded plot, no external resources), rebuilt from the run folder."""

import base64
import re
import shutil
import subprocess

import pytest

from chatclone import cli
from chatclone.evaluation.report_html import write_report
from chatclone.rundir import REPORT as REPORT_FILE
from chatclone.rundir import RunDir


@pytest.fixture
def run(finished_run):
    """The shared finished run: `chatclone train` with the default --report wrote its report.html."""
    return finished_run


def test_training_ends_with_a_complete_report(run):
    page = (run / REPORT_FILE).read_text()
    png = re.search(r'src="data:image/png;base64,([^"]+)"', page)
    assert png and base64.b64decode(png.group(1)).startswith(b"\x89PNG")
    assert not re.search(r'(src|href)="(http|file|/)', page)  # nothing to fetch: opens offline
    for text in (
        "persona perplexity (held out)",
        "self-talk rate",
        "Am I speaking to a bot?",
        "persona share of tokens",
        "training / held-out conversations",
        "3 / 1",
        "<td>train_on</td><td>persona</td>",
        "Lowest validation loss",
    ):
        assert text in page, text
    assert (run / "tensorboard").is_dir() and any((run / "tensorboard").iterdir())


def test_report_command_rebuilds_it_from_the_folder(run_copy, capsys):
    run = run_copy
    (run / REPORT_FILE).unlink()
    assert cli.main(["report", "--runs-dir", str(run.parent), "--run-name", run.name]) == 0
    assert capsys.readouterr().out == f"Report: {run / REPORT_FILE}\n"
    assert "data:image/png;base64," in (run / REPORT_FILE).read_text()


def test_report_of_an_unevaluated_run_says_how_to_evaluate(run, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run, copy, ignore=shutil.ignore_patterns("eval.json", "checkpoints"))
    assert (
        "Not evaluated yet: run <code>chatclone eval</code>."
        in write_report(RunDir(copy)).read_text()
    )


def test_report_of_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert cli.main(["report", "--runs-dir", str(tmp_path), "--run-name", "x"]) == 1
    assert capsys.readouterr().err == (
        f"Error: no run named 'x' in {tmp_path} (there are no runs in {tmp_path} yet). Train one "
        "with: chatclone train --data EXPORT --run-name x\n"
    )
    (tmp_path / "x").mkdir()
    assert cli.main(["report", "--runs-dir", str(tmp_path), "--run-name", "x"]) == 1
    assert capsys.readouterr().err == (
        f"Error: {tmp_path / 'x'} is not a chatclone run folder (it has no chatclone.json). "
        "Train one with: chatclone train --data EXPORT --run-name x\n"
    )


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_report_renders_in_a_headless_browser(run, tmp_path):
    from PIL import Image

    shot = tmp_path / "report.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=1200,1600",
            (run / REPORT_FILE).as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    image = Image.open(shot).convert("L")
    # The loss plot is drawn: its top half is far from a blank page.
    top = image.crop((0, 0, 1200, 600))
    assert len(top.getcolors(maxcolors=1 << 16)) > 50
