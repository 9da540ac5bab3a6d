"""report.html: self-contained (embedded plot, no external resources), rebuilt from the run folder."""

import base64
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from chatclone import cli
from chatclone.evaluation.report_html import (
    dataset_section,
    html_table,
    local_name,
    setting,
    write_report,
)
from chatclone.evaluation.summary import fmt_value
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


def test_numbers_read_well_small_and_large():
    assert fmt_value(2e-4) == "0.0002" and fmt_value(3e-6) == "3e-06"
    assert fmt_value(0.5) == "0.500" and fmt_value(12345.67) == "12,346"
    assert fmt_value(0.0) == "0.000" and fmt_value(None) == "-" and fmt_value(1234) == "1,234"
    assert setting(2e-4) == "0.0002" and setting(0.1) == "0.1" and setting(1e-5) == "1e-05"
    assert (
        setting(3.0) == "3"
        and setting([]) == "-"
        and setting(["q_proj", "v_proj"]) == ("q_proj, v_proj")
    )
    assert html_table(["lr"], [[2e-4]]) == (
        '<table><tr><th>lr</th></tr><tr><td class="num">0.0002</td></tr></table>'
    )
    assert html_table(["", "lr"], [["lr", setting(2e-4)]]).endswith(
        '<td>lr</td><td class="num">0.0002</td></tr></table>'
    )


def test_local_paths_show_only_their_last_part():
    assert local_name("/home/me/chats/export.json") == "export.json"
    assert local_name("C:\\Users\\me\\export.json") == "export.json"
    assert local_name("~/models/mine") == "mine"
    for kept in ("HuggingFaceTB/SmolLM2-135M-Instruct", "embedded", "sample", "runs", 3):
        assert local_name(kept) == kept


def test_the_report_shows_no_local_path_and_readable_settings(run):
    page = (run / REPORT_FILE).read_text()
    config = RunDir(run).read_config()
    assert Path(config.data).is_absolute() and Path(config.model).is_absolute()
    assert str(run.parents[2]) not in page  # the test's temporary folders: export, model, runs
    assert not re.search(r"(?<![\w.<])/(tmp|home|Users|root)/", page)
    assert "<td>data</td><td>export.json</td>" in page
    assert f"<td>model</td><td>{Path(config.model).name}</td>" in page
    assert f"Base model: <code>{Path(config.model).name}</code>" in page
    assert f"<td>runs_dir</td><td>{run.parent.name}</td>" in page
    assert '<td>lr</td><td class="num">0.03</td>' in page  # --lr 3e-2
    assert '<td>val_fraction</td><td class="num">0.1</td>' in page


def test_training_ends_with_a_quick_evaluation_that_says_how_to_get_the_full_one(run):
    result = json.loads((run / "eval.json").read_text())
    assert result["quick"] is True and result["settings"]["quick"] is True
    assert [p["message"] for p in result["models"]["trained"]["probes"]] == [
        "Am I speaking to a bot?",
        "What did you do today?",
    ]
    assert set(result["models"]) == {"trained", "base"}  # the base model is kept, cheaply
    page = (run / REPORT_FILE).read_text()
    assert "Quick evaluation (what train runs at its end)" in page
    assert f"chatclone eval --run-name {run.name}" in page


LONG = "<speaker2> " + " ".join(f"word{i}" for i in range(80)) + " <script>x</script> the end"


def long_context_report(run) -> str:
    """The run's report with the first held-out context made long (and holding markup)."""
    result = json.loads((run / "eval.json").read_text())
    for model in result["models"].values():
        model["samples"][0]["context"] = LONG
    (run / "eval.json").write_text(json.dumps(result))
    return write_report(RunDir(run)).read_text()


def test_held_out_replies_table_is_compact_long_contexts_fold(run_copy):
    page = long_context_report(run_copy)
    replies = page[page.index("<h2>Held-out replies</h2>") :]
    replies = replies[: replies.index("</table>")]
    assert '<table class="texts"><colgroup><col style="width:28%">' in replies
    assert replies.count('<col style="width:24%">') == 3  # real reply, trained, base
    assert replies.count("<details>") == 1  # only the long context folds
    summary = html.unescape(re.search(r"<summary>(.*?)</summary>", replies).group(1))
    assert summary.startswith("\u2026") and summary.endswith("the end") and len(summary) <= 161
    assert "<script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in replies
    assert "word0 word1" in replies  # the whole context, behind the summary


def test_dataset_section_counts_the_short_turns_left_out():
    data = {
        "selection": {
            "kept": 3,
            "conversations": 4,
            "turns": 40,
            "min_words": 3,
            "short_turns_removed": 7,
        },
        "tokens": {"persona_tokens": 50, "tokens": 100, "examples": 5},
    }
    assert (
        '<td>persona turns under 3 words left out (--min-words)</td><td class="num">7</td>'
        in dataset_section(data)
    )
    del data["selection"]["min_words"]
    assert "--min-words" not in dataset_section(data)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_held_out_replies_read_well_in_a_browser(run_copy):
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
    long_context_report(run_copy)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"), args=["--no-sandbox", "--headless"]
        )
        page = browser.new_page(viewport={"width": 1200, "height": 1600})
        page.goto((run_copy / REPORT_FILE).as_uri())
        table = page.locator("table.texts").last
        width = table.bounding_box()["width"]
        cells = table.locator("tr").nth(1).locator("td")
        assert cells.count() == 4
        for i in (1, 2, 3):  # each reply column gets about a quarter of the page
            assert cells.nth(i).bounding_box()["width"] > 0.2 * width
        details = table.locator("details")
        full = details.locator(".ctx")
        sync_api.expect(full).to_be_hidden()  # folded: only its end shows
        details.locator("summary").click()
        sync_api.expect(full).to_be_visible()
        assert "<script>" in full.text_content()  # shown as text
        browser.close()


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
