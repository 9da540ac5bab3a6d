"""Whatever the bytes, importers end in a clear ChatcloneError or in counted skips."""

import random
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatclone.data.importers import importers, load_data
from chatclone.errors import ChatcloneError

FIX = Path(__file__).parent / "fixtures"
SAMPLES = {
    "whatsapp": FIX / "whatsapp" / "WhatsApp Chat with Priya Raman.txt",
    "telegram": FIX / "telegram" / "result.json",
    "messenger": FIX
    / "messenger"
    / "your_facebook_activity"
    / "messages"
    / "inbox"
    / "reneedubois_12345"
    / "message_2.json",
    "hangouts": FIX / "google" / "Takeout" / "Hangouts" / "Hangouts.json",
    "google-chat": FIX
    / "google"
    / "Takeout"
    / "Google Chat"
    / "Groups"
    / "DM abc123"
    / "messages.json",
    "discord": FIX / "discord" / "Direct Messages - quietfox [1122334455].json",
    "chatistics-csv": FIX / "tabular" / "chatistics_export.csv",
    "table": FIX / "tabular" / "messages.jsonl",
    "chatistics": FIX / "chatistics" / "interviews_sample.json",
    "instagram-legacy": FIX / "instagram_legacy" / "messages.json",
    "signal": FIX / "signal" / "Noor Haddad" / "chat.md",
    "imessage": FIX / "imessage" / "Sam Rivera - 12.txt",
    "imessage-html": FIX / "imessage_html" / "Contact 1 - 5.html",
    "slack": FIX / "slack" / "Acme Slack export" / "general" / "2024-01-15.json",
    "chitchat": FIX / "chitchat" / "dataset.json",
}
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def check(path: Path, fmt: str | None) -> None:
    try:
        result = load_data(path, fmt)
    except ChatcloneError as e:
        assert str(e)
        return
    for report in result.reports:
        kept = sum(len(c.messages) for c in result.conversations)
        assert report.imported >= 0 and kept == sum(r.imported for r in result.reports)
        if report.format == "whatsapp":
            assert (
                report.read == report.imported + sum(report.skipped.values()) + report.continuation
            )


def place(tmp_path: Path, name: str, data: bytes, fmt: str) -> Path:
    folder = tmp_path / fmt
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    path = folder / SAMPLES[fmt].name
    path.write_bytes(data)
    return path


def test_every_importer_has_a_sample():
    assert set(importers()) - {"chatterbot", "chatclone-jsonl"} == set(SAMPLES)


@SETTINGS
@given(fmt=st.sampled_from(sorted(SAMPLES)), data=st.binary(max_size=400), forced=st.booleans())
def test_random_bytes(tmp_path, fmt, data, forced):
    check(place(tmp_path, "x", data, fmt), fmt if forced else None)


@SETTINGS
@given(fmt=st.sampled_from(sorted(SAMPLES)), cut=st.floats(0, 1), forced=st.booleans())
def test_truncations(tmp_path, fmt, cut, forced):
    raw = SAMPLES[fmt].read_bytes()
    check(place(tmp_path, "x", raw[: int(len(raw) * cut)], fmt), fmt if forced else None)


@SETTINGS
@given(fmt=st.sampled_from(sorted(SAMPLES)), seed=st.integers(0, 10**6))
def test_line_shuffles(tmp_path, fmt, seed):
    lines = SAMPLES[fmt].read_bytes().split(b"\n")
    random.Random(seed).shuffle(lines)
    check(place(tmp_path, "x", b"\n".join(lines), fmt), fmt)


@SETTINGS
@given(fmt=st.sampled_from(sorted(SAMPLES)), seed=st.integers(0, 10**6), n=st.integers(1, 8))
def test_byte_flips(tmp_path, fmt, seed, n):
    raw = bytearray(SAMPLES[fmt].read_bytes())
    rng = random.Random(seed)
    for _ in range(n):
        raw[rng.randrange(len(raw))] = rng.randrange(256)
    check(place(tmp_path, "x", bytes(raw), fmt), fmt)
