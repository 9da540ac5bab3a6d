import json
import zipfile
from pathlib import Path

from chatclone.cli.main import main

FIX = Path(__file__).parent / "fixtures"
TOM = str(FIX / "whatsapp" / "WhatsApp Chat with Tom.txt")


def test_inspect_table(capsys):
    assert main(["inspect", str(FIX / "whatsapp")]) == 0
    out = capsys.readouterr().out
    assert "WhatsApp Chat with Tom.txt" in out and "media_only 1" in out
    assert "Owner undecided; candidates:" in out


def test_inspect_json_reconciles(capsys):
    assert (
        main(["inspect", str(FIX / "messenger"), str(FIX / "telegram" / "result.json"), "--json"])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    totals = report["totals"]
    assert totals["read"] == totals["imported"] + sum(totals["skipped"].values())
    conv = next(c for c in report["conversations"] if c["title"] == "Hiking Club")
    assert conv["group"] and conv["messages"] == 3 and conv["first"] == "2023-11-14"
    assert {"participants", "sessions", "persona_share", "tokens", "last"} <= set(conv)


def test_import_writes_redacted_jsonl_that_train_reads(tmp_path, capsys):
    out = tmp_path / "chats.jsonl"
    assert (
        main(
            [
                "import",
                TOM,
                "--me",
                "Tom",
                "-o",
                str(out),
                "--preview",
                "2",
                "--no-keep-persona-name",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert f"Wrote 3 messages to {out}" in printed and "before: 'Who has the key?" not in printed
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 3 and all(r["redacted"] for r in records)
    assert "Tom" not in out.read_text() and "900456" not in out.read_text()
    assert [r["outgoing"] for r in records] == [False, True, False]
    from chatclone.data.importers import load_data

    assert load_data(out).reports[0].format == "chatclone-jsonl"
    # By default the persona's own name stays (their clone); everything else is redacted.
    kept = tmp_path / "kept.jsonl"
    assert main(["import", TOM, "--me", "Tom", "-o", str(kept)]) == 0
    assert '"sender": "Tom"' in kept.read_text() and "900456" not in kept.read_text()


def test_import_preview_shows_before_and_after(capsys):
    assert (
        main(
            [
                "import",
                str(FIX / "telegram" / "result.json"),
                "--persona",
                "Alex Moreau",
                "--preview",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert (
        "before: 'Tickets: https://example.org/t great'" in out
        and "after:  'Tickets: <URL> great'" in out
    )


def test_owner_of_a_one_to_one_chat_is_not_the_one_it_is_named_after(capsys):
    assert main(["import", TOM, "-o", "-", "--no-redact"]) == 0
    captured = capsys.readouterr()
    assert [json.loads(r)["outgoing"] for r in captured.out.splitlines()] == [True, False, True]
    assert "Owner: inferred: +44 7700 900456 takes part in all 1 conversation(s)" in captured.err


def test_ambiguous_owner_is_error_exit_1(tmp_path, capsys):
    path = tmp_path / "WhatsApp Chat with Friends.txt"
    path.write_text("1/2/20, 10:00 - Ana: hi\n1/2/20, 10:01 - Bo: yo\n")
    assert main(["import", str(path), "-o", "-"]) == 1
    assert capsys.readouterr().err == (
        "Error: cannot tell whose voice to learn: Ana, Bo all take part in every conversation "
        '(Friends). Pass --me NAME, e.g. --me "Ana".\n'
    )


def test_unknown_file_is_error_exit_1(tmp_path, capsys):
    path = tmp_path / "x.bin"
    path.write_bytes(b"\x00\x01")
    assert main(["inspect", str(path)]) == 1
    assert capsys.readouterr().err.startswith(
        f"Error: {path}: not a chat export chatclone knows. Tried:"
    )


def test_import_needs_output(capsys):
    assert main(["import", TOM, "--me", "Tom"]) == 1
    assert "import needs -o FILE.jsonl" in capsys.readouterr().err


def test_cli_module_imports_no_torch():
    import subprocess
    import sys

    code = "import sys, chatclone.cli.main; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_hostile_exports_are_one_error_line_each(tmp_path, capsys):
    """A damaged or hostile export ends `inspect` and `import` with one `Error:` line, exit 1:
    a second JSON document, a bomb-like zip, a stray CSV quote, 300 files to list."""
    doc = json.dumps({"participants": [{"name": "A"}], "messages": []})
    (tmp_path / "joined").mkdir()
    (tmp_path / "joined" / "message_1.json").write_text(doc + doc)
    (tmp_path / "quote.csv").write_text('sender,text\nA,"hi\nB,yo\nC,so\n')
    (tmp_path / "many").mkdir()
    for i in range(2):
        (tmp_path / "many" / f"e{i}.json").write_text('[{"senderName": "A", "text": "x"}]')
    for i in range(300):
        (tmp_path / "many" / f"WhatsApp Chat with P{i}.txt").write_text("1/2/20, 10:00 - X: a\n")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("result.json", b" " * (8 << 20))
    cases = {
        "joined/message_1.json": "a second JSON document",
        "quote.csv": "an opening quote is never closed",
        "many": "and 297 more",
        "bomb.zip": "CHATCLONE_MAX_ZIP_RATIO",
    }
    for name, what in cases.items():
        path = str(tmp_path / name)
        for argv in (["inspect", path], ["import", path, "-o", str(tmp_path / "o.jsonl")]):
            assert main(argv) == 1, argv
            captured = capsys.readouterr()
            assert captured.err.startswith("Error: ") and captured.err.count("\n") == 1
            assert what in captured.err and "Traceback" not in captured.out + captured.err
