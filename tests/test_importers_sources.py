"""Files, folders and zips; the errors for what is not a chat export."""

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from chatclone.data.importers import load_all, load_data
from chatclone.errors import ChatcloneError

FIX = Path(__file__).parent / "fixtures"


def test_unknown_file_lists_formats_tried(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\nnothing else\n")
    with pytest.raises(ChatcloneError) as err:
        load_data(path)
    message = str(err.value)
    assert message.startswith(f"{path}: not a chat export chatclone knows. Tried: chatistics (")
    for name in (
        "whatsapp (",
        "telegram (",
        "messenger (",
        "hangouts (",
        "google-chat (",
        "discord (",
        "table (",
    ):
        assert name in message
    assert message.endswith("Pass --format to force one.")


def test_empty_file(tmp_path):
    path = tmp_path / "WhatsApp Chat with X.txt"
    path.touch()
    with pytest.raises(ChatcloneError) as err:
        load_data(path)
    assert str(err.value) == f"{path}: the file is empty. Export the chat again."


def test_folder_with_nothing_recognisable_lists_files(tmp_path):
    (tmp_path / "a.txt").write_text("hello")
    (tmp_path / "b.jpg").write_bytes(b"\xff")
    with pytest.raises(ChatcloneError) as err:
        load_data(tmp_path)
    assert str(err.value) == (
        f"{tmp_path}: expected a folder holding chat exports (at most one Chatistics export), "
        "found no chat export. Files there: a.txt, b.jpg. Pass the export file itself."
    )


def test_folder_reads_its_zips_and_accounts_for_every_text_file(tmp_path):
    """An iOS export is a zip per chat: a folder of them is read like each zip alone; a zip
    without a chat, notes and an empty file are reported, with why, instead of left unsaid."""
    with zipfile.ZipFile(tmp_path / "WhatsApp Chat - Dana Fischer.zip", "w") as z:
        z.writestr("_chat.txt", "[14/06/2021, 19:21:01] Owen Price: hey\n")
    with zipfile.ZipFile(tmp_path / "photos.zip", "w") as z:
        z.writestr("IMG-1.jpg", b"\xff")
    shutil.copy(FIX / "whatsapp" / "WhatsApp Chat with Tom.txt", tmp_path)
    (tmp_path / "notes.txt").write_text("random notes")
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "IMG-2.jpg").write_bytes(b"\xff")
    result = load_data(tmp_path)
    assert sorted(c.title for c in result.conversations) == ["Dana Fischer", "Tom"]
    rows = {Path(r.path).name: (r.format, r.read, dict(r.skipped)) for r in result.reports}
    assert rows["photos.zip"] == ("zip", 1, {"no chat export in this zip": 1})
    assert rows[tmp_path.name] == ("other files", 2, {"empty": 1, "not a chat file": 1})
    [others] = [r for r in result.reports if r.format == "other files"]
    assert others.decisions["files"] == "empty.json, notes.txt"


def test_folder_whose_zips_hold_no_chat_is_one_error(tmp_path):
    with zipfile.ZipFile(tmp_path / "photos.zip", "w") as z:
        z.writestr("IMG-1.jpg", b"\xff")
    with pytest.raises(ChatcloneError) as err:
        load_data(tmp_path)
    assert str(err.value) == (
        f"{tmp_path}: no chat export in this folder or in its zips. {tmp_path / 'photos.zip'}: "
        "no chat in this zip (no .txt, .json, .csv or .html file). It holds: IMG-1.jpg. Give the "
        "platform's chat export (or the zip it came in)."
    )


def test_damaged_zip_in_a_folder_stops_the_import(tmp_path):
    shutil.copy(FIX / "whatsapp" / "WhatsApp Chat with Tom.txt", tmp_path)
    (tmp_path / "chat.zip").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ChatcloneError, match=r"chat.zip: not a readable zip file"):
        load_data(tmp_path)


def _zip_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buffer.getvalue()


def test_zip_in_a_zip_is_read_and_a_third_level_is_reported(tmp_path):
    wa = FIX / "whatsapp"
    kim = _zip_bytes(
        {"WhatsApp Chat with Kim.txt": (wa / "WhatsApp Chat with Kim.txt").read_bytes()}
    )
    deeper = _zip_bytes({"inner.zip": kim})
    path = tmp_path / "chats.zip"
    path.write_bytes(
        _zip_bytes(
            {
                "WhatsApp Chat with Tom.txt": (wa / "WhatsApp Chat with Tom.txt").read_bytes(),
                "more/WhatsApp Chat with Kim.zip": kim,
                "old/deeper.zip": deeper,
            }
        )
    )
    result = load_data(path)
    assert sorted(c.title for c in result.conversations) == ["Kim", "Tom"]
    [left] = [r for r in result.reports if r.path.endswith("deeper.zip")]
    assert (left.path, dict(left.skipped)) == (
        f"{path}!/old/deeper.zip",
        {"no chat export in this zip": 1},
    )
    assert left.decisions["why"] == (
        f"{path}!/old/deeper.zip: no chat in this zip can be read safely: inner.zip left in it "
        "(a zip in a zip in a zip: extract the outer ones first). Fix: extract the zip "
        "yourself, check those files, and pass the extracted folder"
    )


def test_a_zip_whose_chat_has_no_message_is_reported_not_an_error(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    notice = "1/2/21, 9:41 PM - Messages and calls are end-to-end encrypted. Tap to learn more.\n"
    (folder / "WhatsApp Chat - Dana.zip").write_bytes(_zip_bytes({"_chat.txt": notice}))
    result = load_data(folder)
    assert result.conversations == []
    [report] = result.reports
    assert (report.format, report.read, dict(report.skipped)) == ("whatsapp", 1, {"system": 1})


def test_a_zip_left_in_a_zip_is_named_when_nothing_else_there_is_a_chat(tmp_path):
    dana = _zip_bytes({"_chat.txt": "[14/06/2021, 19:21:01] Owen Price: hey\n"})
    middle = _zip_bytes({"notes.txt": "random notes", "WhatsApp Chat - Dana.zip": dana})
    path = tmp_path / "outer.zip"
    path.write_bytes(_zip_bytes({"middle.zip": middle}))
    with pytest.raises(ChatcloneError) as err:
        load_data(path)
    assert str(err.value).endswith(
        "Left in the zip: WhatsApp Chat - Dana.zip (a zip in a zip in a zip: extract the outer "
        "ones first)."
    )


def test_zip_without_a_chat(tmp_path):
    path = tmp_path / "photos.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("IMG-1.jpg", b"\xff")
    with pytest.raises(ChatcloneError) as err:
        load_data(path)
    assert (
        str(err.value)
        == f"{path}: no chat in this zip (no .txt, .json, .csv or .html file). It holds: IMG-1.jpg. "
        "Give the platform's chat export (or the zip it came in)."
    )


def test_broken_zip(tmp_path):
    path = tmp_path / "chat.zip"
    path.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ChatcloneError, match=r"chat.zip: not a readable zip file"):
        load_data(path)


def test_zip_members_cannot_escape(tmp_path):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("../../escape.txt", "1/2/20, 10:00 - X: hi\n")
    with pytest.raises(ChatcloneError, match="no chat in this zip"):
        load_data(path)
    assert not (tmp_path.parent / "escape.txt").exists()


def test_zip_of_a_messenger_download(tmp_path):
    path = tmp_path / "facebook-ana.zip"
    with zipfile.ZipFile(path, "w") as z:
        for f in (FIX / "messenger").rglob("*.json"):
            z.write(f, f.relative_to(FIX / "messenger"))
    result = load_data(path)
    assert sorted(c.title for c in result.conversations) == ["Hiking Club", "Mira", "Renée Dubois"]
    assert all(r.path.startswith(f"{path}!/") for r in result.reports)


def test_mixed_folder_merges_every_export(tmp_path):
    shutil.copytree(FIX / "messenger", tmp_path / "fb")
    shutil.copy(FIX / "telegram" / "result.json", tmp_path / "result.json")
    shutil.copy(FIX / "whatsapp" / "WhatsApp Chat with Tom.txt", tmp_path)
    result = load_data(tmp_path)
    assert {c.platform for c in result.conversations} == {
        "messenger",
        "instagram",
        "telegram",
        "whatsapp",
    }


def test_load_all_merges_specs():
    result = load_all([FIX / "telegram" / "result.json", FIX / "discord"])
    assert [c.platform for c in result.conversations] == ["telegram", "discord"]
    assert len(result.reports) == 2


def test_forced_format_on_a_file(tmp_path):
    path = tmp_path / "chat.log"
    path.write_text("1/2/20, 10:00 - X: hi\n")
    assert load_data(path, "whatsapp").conversations[0].messages[0].text == "hi"


def test_unknown_forced_format():
    with pytest.raises(
        ChatcloneError, match="unknown format 'carrier-pigeon'; known formats: chatistics, "
    ):
        load_data(FIX / "discord", "carrier-pigeon")


def test_telegram_json_not_an_object(tmp_path):
    path = tmp_path / "result.json"
    path.write_text(json.dumps([1, 2]))
    with pytest.raises(ChatcloneError, match="a Telegram export is a JSON object"):
        load_data(path, "telegram")
