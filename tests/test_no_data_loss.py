"""Nothing is silently overwritten or lost: `import -o` and `export` refuse to replace files
unless told to, a record without a sender is skipped and counted, and a torn metrics line
(a kill mid-write) does not stop `report`."""

import json
import re

import pytest
from conftest import chatistics_records

from chatclone import cli
from chatclone.data.importers import load_data


def test_import_never_overwrites_its_input_or_an_existing_file(tmp_path, capsys):
    export = tmp_path / "export.json"
    export.write_text(json.dumps(chatistics_records()))
    before = export.read_text()
    assert cli.main(["import", str(export), "-o", str(export)]) == 1
    assert capsys.readouterr().err == (
        f"Error: -o {export} is one of the exports being imported; write the JSONL to another "
        "file, e.g. -o chats.jsonl\n"
    )
    assert export.read_text() == before
    out = tmp_path / "chats.jsonl"
    out.write_text("keep me")
    assert cli.main(["import", str(export), "-o", str(out)]) == 1
    assert capsys.readouterr().err == (
        f"Error: -o {out} already exists; pass --force to replace it, or choose another file\n"
    )
    assert out.read_text() == "keep me"
    assert cli.main(["import", str(export), "-o", str(out), "--force"]) == 0
    assert out.read_text().startswith('{"conversation"')
    assert cli.main(["import", str(export), "-o", str(tmp_path)]) == 1
    assert "is a folder; give a file name" in capsys.readouterr().err


def test_export_refuses_to_replace_a_model_without_force(short_run, tmp_path, capsys):
    from conftest import copy_run

    run = copy_run(short_run, tmp_path / "runs")
    out = tmp_path / "out"
    out.mkdir()
    other = out / "chatclone-run1-f16.gguf"
    other.write_bytes(b"another model")
    argv = [
        "export",
        "--runs-dir",
        str(run.parent),
        "--run-name",
        run.name,
        "--to",
        "gguf",
        "-o",
        str(out),
    ]
    assert cli.main(argv) == 1
    assert capsys.readouterr().err == (
        f"Error: {other} already exists; pass --force to replace it, or export to another folder "
        "with -o DIR\n"
    )
    assert other.read_bytes() == b"another model"
    assert cli.main([*argv, "--force"]) == 0
    assert other.read_bytes()[:4] == b"GGUF"


def test_a_record_without_a_sender_is_skipped_and_counted(tmp_path):
    records = chatistics_records()
    records[3]["senderName"] = ""
    records[4]["senderName"] = None
    path = tmp_path / "export.json"
    path.write_text(json.dumps(records))
    result = load_data(path)
    assert result.reports[0].skipped["no sender name"] == 2
    assert sum(len(c.messages) for c in result.conversations) == len(records) - 2


def test_report_skips_a_torn_metrics_line_with_a_warning(short_run, tmp_path, capsys):
    from conftest import copy_run

    run = copy_run(short_run, tmp_path / "runs")
    metrics = run / "metrics.jsonl"
    lines = metrics.read_text().splitlines()
    metrics.write_text("\n".join(lines) + '\n{"step": 3, "loss": 1.2')  # killed mid-write
    expected = f"{metrics}, line {len(lines) + 1}: not a complete record; skipped"
    with pytest.warns(UserWarning, match=re.escape(expected)):
        assert cli.main(["report", "--runs-dir", str(run.parent), "--run-name", run.name]) == 0
    assert (run / "report.html").is_file()
