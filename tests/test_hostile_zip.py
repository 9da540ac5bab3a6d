"""Zips and big files: damaged, encrypted, escaping names, bombs, and the limits that stop a
read from growing with the file; each limit's error names its environment variable."""

import zipfile
from pathlib import Path

import pytest

from chatclone.data.importers import load_data
from chatclone.errors import ChatcloneError

FIX = Path(__file__).parent / "fixtures"
CHAT = "1/2/20, 10:00 - Ana: hi\n1/2/20, 10:01 - Bo: hello\n"
# Over 1 MB (where ratios count) and compressing only a few times.
VARIED = "".join(f"1/2/20, 10:00 - Ana: {i} {i * 7919 % 10007} {i % 97}\n" for i in range(40_000))
pytestmark = pytest.mark.timeout(60)


def make_zip(path: Path, files: dict[str, str | bytes], **kw) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, **kw) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def test_damaged_zip_data_is_one_error(tmp_path):
    path = make_zip(tmp_path / "chat.zip", {"WhatsApp Chat with Bo.txt": CHAT * 200})
    data = bytearray(path.read_bytes())
    start = data.index(b"Bo.txt") + len(b"Bo.txt")
    data[start + 10 : start + 60] = b"\xff" * 50  # the deflate stream: zlib.error when read
    path.write_bytes(bytes(data))
    with pytest.raises(ChatcloneError) as err:
        load_data(path)
    assert str(err.value).startswith(f"{path}!WhatsApp Chat with Bo.txt: the zip is damaged")
    assert "download it again" in str(err.value)


def test_encrypted_zip_is_said_to_be_encrypted_not_damaged(tmp_path):
    path = make_zip(tmp_path / "chat.zip", {"WhatsApp Chat with Bo.txt": CHAT})
    data = bytearray(path.read_bytes())  # zipfile writes no encrypted entries: set the flag
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        data[data.index(signature) + offset] |= 0x1
    path.write_bytes(bytes(data))
    with pytest.raises(ChatcloneError) as err:
        load_data(path)
    text = str(err.value)
    assert text.startswith(f"{path}: the zip is encrypted (password-protected")
    assert "damaged" not in text and "extract it yourself" in text


def test_escaping_names_are_never_written_and_are_counted(tmp_path):
    path = make_zip(
        tmp_path / "chats.zip",
        {
            "../../escape.txt": CHAT,
            "/abs.txt": CHAT,
            "..\\win.txt": CHAT,
            "WhatsApp Chat with Bo.txt": CHAT,
        },
    )
    result = load_data(path)
    assert [c.title for c in result.conversations] == ["Bo"]
    refused = {r.path: dict(r.skipped) for r in result.reports if r.format == "zip"}
    assert refused == {
        f"{path}!{name}": {"unsafe name (points outside the zip)": 1}
        for name in ("../../escape.txt", "/abs.txt", "..\\win.txt")
    }
    assert not (tmp_path.parent / "escape.txt").exists() and not Path("/abs.txt").exists()


def test_zip_bomb_stops_at_the_ratio_limit(tmp_path):
    path = make_zip(tmp_path / "bomb.zip", {"result.json": b" " * (20 << 20)})
    assert path.stat().st_size < 100_000
    with pytest.raises(ChatcloneError) as err:
        load_data(path)
    text = str(err.value)
    assert text.startswith(f"{path}!result.json (expands") and "CHATCLONE_MAX_ZIP_RATIO" in text


@pytest.mark.parametrize(
    "env, value, files",
    [
        ("CHATCLONE_MAX_UNZIPPED_MB", "0.005", {f"c{i}.txt": CHAT * 60 for i in range(3)}),
        ("CHATCLONE_MAX_ZIP_ENTRY_MB", "0.001", {"c.txt": CHAT * 30}),
        ("CHATCLONE_MAX_ZIP_ENTRIES", "2", {f"c{i}.txt": CHAT for i in range(3)}),
        ("CHATCLONE_MAX_ZIP_RATIO", "2", {"c.txt": VARIED}),
    ],
)
def test_each_zip_limit_names_its_variable(tmp_path, monkeypatch, env, value, files):
    path = make_zip(tmp_path / "chats.zip", files)
    load_data(path)  # within the default limits
    monkeypatch.setenv(env, value)
    with pytest.raises(ChatcloneError) as err:
        load_data(path)
    assert str(err.value).startswith(str(path)) and f"({env}); if the export is" in str(err.value)
    assert f"raise it, e.g. {env}=" in str(err.value)


def test_bad_limit_setting_is_one_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATCLONE_MAX_FILE_MB", "lots")
    with pytest.raises(ChatcloneError, match="CHATCLONE_MAX_FILE_MB='lots': give a positive"):
        load_data(FIX / "tabular" / "chatistics_export.csv")


@pytest.mark.parametrize(
    "name, content",
    [
        ("WhatsApp Chat with Bo.txt", "1/2/20, 10:00 - Ana: " + "x" * 30_000),  # chunks
        ("chat.csv", "sender,text\nAna," + "x" * 30_000),  # lines
        ("chats.jsonl", "{" * 30_000),  # lines, before JSON is parsed
        ("message_1.json", '{"participants": [], "messages": [], "x": "' + "y" * 30_000 + '"}'),
        # streamed: the first 1 MB is read at once, a value beyond it stops at the limit
        ("result.json", '{"messages": [{"type": "message", "text": "' + "y" * (3 << 20) + '"}]}'),
    ],
)
def test_no_line_or_value_is_read_beyond_the_file_limit(tmp_path, monkeypatch, name, content):
    path = tmp_path / name
    path.write_text(content)
    monkeypatch.setenv("CHATCLONE_MAX_FILE_MB", "0.01")
    fmt = {
        "message_1.json": "messenger",
        "result.json": "telegram",
        "chats.jsonl": "chatclone-jsonl",
    }
    with pytest.raises(ChatcloneError) as err:
        load_data(path, fmt.get(name))
    assert str(err.value).startswith(str(path)) and "(CHATCLONE_MAX_FILE_MB)" in str(err.value)
