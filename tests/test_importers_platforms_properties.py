"""Signal, iMessage and Slack: whatever the bytes, a clear ChatcloneError or counted skips; and
messages written in each format come back as they were written."""

import datetime as dt
import json
import random
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatclone.data.importers import load_data
from chatclone.data.importers.signal import CALL
from chatclone.errors import ChatcloneError

FIX = Path(__file__).parent / "fixtures"
SLACK = FIX / "slack" / "Acme Slack export"
SAMPLES = {
    "signal": FIX / "signal" / "Noor Haddad" / "chat.md",
    "imessage": FIX / "imessage" / "Sam Rivera - 12.txt",
    "slack": SLACK / "general" / "2024-01-15.json",
}
SLACK_FILES = ("users.json", "channels.json", "dms.json", "general/2024-01-15.json")
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def check(path: Path, fmt: str | None) -> None:
    try:
        result = load_data(path, fmt)
    except ChatcloneError as e:
        assert str(e) and "\n" not in str(e).strip()
        return
    kept = sum(len(c.messages) for c in result.conversations)
    assert kept == sum(r.imported for r in result.reports)
    for r in result.reports:
        assert r.read == r.imported + sum(r.skipped.values()) + r.continuation


def place(tmp_path: Path, fmt: str, mutate, which: int = 0) -> Path:
    """A copy of the sample (for Slack: the whole workspace, file `which` mutated)."""
    root = tmp_path / fmt
    shutil.rmtree(root, ignore_errors=True)
    if fmt == "slack":
        shutil.copytree(SLACK, root)
        target = root / SLACK_FILES[which % len(SLACK_FILES)]
        target.write_bytes(mutate(target.read_bytes()))
        return root / "general" / "2024-01-15.json"
    root.mkdir()
    target = root / SAMPLES[fmt].name
    target.write_bytes(mutate(SAMPLES[fmt].read_bytes()))
    return target


FORMATS = st.sampled_from(sorted(SAMPLES))
WHICH = st.integers(0, len(SLACK_FILES) - 1)


@SETTINGS
@given(fmt=FORMATS, data=st.binary(max_size=400), forced=st.booleans(), which=WHICH)
def test_random_bytes(tmp_path, fmt, data, forced, which):
    check(place(tmp_path, fmt, lambda raw: data, which), fmt if forced else None)


@SETTINGS
@given(fmt=FORMATS, cut=st.floats(0, 1), forced=st.booleans(), which=WHICH)
def test_truncations(tmp_path, fmt, cut, forced, which):
    def truncate(raw: bytes) -> bytes:
        return raw[: int(len(raw) * cut)]

    check(place(tmp_path, fmt, truncate, which), fmt if forced else None)


@SETTINGS
@given(fmt=FORMATS, seed=st.integers(0, 10**6), which=WHICH)
def test_line_shuffles(tmp_path, fmt, seed, which):
    def shuffle(raw: bytes) -> bytes:
        lines = raw.split(b"\n")
        random.Random(seed).shuffle(lines)
        return b"\n".join(lines)

    check(place(tmp_path, fmt, shuffle, which), fmt)


@SETTINGS
@given(fmt=FORMATS, seed=st.integers(0, 10**6), n=st.integers(1, 8), which=WHICH)
def test_byte_flips(tmp_path, fmt, seed, n, which):
    def flip_bytes(raw: bytes) -> bytes:
        out, rng = bytearray(raw), random.Random(seed)
        for _ in range(n if out else 0):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)

    check(place(tmp_path, fmt, flip_bytes, which), fmt)


# Round trips: names and texts from an alphabet that holds none of the formats' markup.
NAME = st.text("abcdefghij KLMNOP", min_size=1, max_size=12).map(str.strip).filter(bool)
LINE = st.text("abcdefghijklmnop 0123456789.,!?'", min_size=1, max_size=30).map(str.strip)
TEXT = st.lists(LINE, min_size=1, max_size=3).map("\n".join).map(str.strip).filter(bool)
WHEN = st.datetimes(dt.datetime(2001, 1, 1), dt.datetime(2037, 1, 1)).map(
    lambda d: d.replace(microsecond=0)
)
MESSAGES = st.lists(st.tuples(st.sampled_from(["Me", "Noor", "Sam Lee"]), TEXT, WHEN), max_size=8)


def expected(messages):
    ordered = sorted(messages, key=lambda m: m[2])
    return [(s, t, w.replace(tzinfo=dt.timezone.utc).timestamp()) for s, t, w in ordered]


def got(result):
    return [(m.sender, m.text, m.timestamp) for c in result.conversations for m in c.messages]


@SETTINGS
@given(messages=MESSAGES)
def test_signal_round_trip(tmp_path, messages):
    messages = [m for m in messages if not CALL.fullmatch(m[1])]
    folder = tmp_path / "signal" / "Noor"
    shutil.rmtree(folder.parent, ignore_errors=True)
    folder.mkdir(parents=True)
    body = "".join(
        f"[{w:%Y-%m-%d %H:%M:%S}] {s}: {t}  \n\n"
        for s, t, w in sorted(messages, key=lambda m: m[2])
    )
    (folder / "chat.md").write_text(body or "\n", encoding="utf-8")
    result = load_data(folder / "chat.md", "signal")
    assert got(result) == expected(messages)
    assert all(m.outgoing == (m.sender == "Me") for c in result.conversations for m in c.messages)


def imessage_date(when: dt.datetime) -> str:
    hour = when.hour % 12 or 12
    return f"{when:%b %d, %Y} {hour:>2}:{when:%M:%S} {'AM' if when.hour < 12 else 'PM'}"


@SETTINGS
@given(messages=MESSAGES, receipts=st.booleans())
def test_imessage_round_trip(tmp_path, messages, receipts):
    receipt = " (Read by them after 1 minute)" if receipts else ""
    ordered = sorted(messages, key=lambda m: m[2])
    body = "".join(f"{imessage_date(w)}{receipt}\n{s}\n{t}\n\n" for s, t, w in ordered)
    path = tmp_path / "Noor - 7.txt"
    path.write_text(body or "\n", encoding="utf-8")
    result = load_data(path, "imessage")
    assert got(result) == expected(messages)
    assert all(c.title == "Noor" for c in result.conversations)


USERS = {"U1": "Ana Silva", "U2": "Ben Okafor"}
SLACK_TEXT = st.lists(
    st.one_of(LINE, st.sampled_from(["<@U1>", "<@U2>", "&", "<", ">", "<https://x.org/a|site>"])),
    min_size=1,
    max_size=5,
).map(" ".join)


def slack_escape(text: str) -> str:
    parts = text.split(" ")
    return " ".join(
        p
        if p.startswith("<") and len(p) > 1
        else p.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        for p in parts
    )


def slack_plain(text: str) -> str:
    text = text.replace("<@U1>", "@ana").replace("<@U2>", "@Ben Okafor")
    return text.replace("<https://x.org/a|site>", "site")


@SETTINGS
@given(
    messages=st.lists(
        st.tuples(st.sampled_from(sorted(USERS)), SLACK_TEXT, WHEN), min_size=1, max_size=8
    )
)
def test_slack_round_trip(tmp_path, messages):
    root = tmp_path / "slack"
    shutil.rmtree(root, ignore_errors=True)
    (root / "random").mkdir(parents=True)
    users = [
        {"id": "U1", "name": "ana", "real_name": "Ana Silva", "profile": {"display_name": "ana"}},
        {"id": "U2", "name": "ben", "real_name": "Ben Okafor", "profile": {"display_name": ""}},
    ]
    (root / "users.json").write_text(json.dumps(users), encoding="utf-8")
    (root / "channels.json").write_text(json.dumps([{"id": "C9", "name": "random"}]))
    days: dict[str, list] = {}
    for i, (uid, text, when) in enumerate(messages):
        ts = f"{when.replace(tzinfo=dt.timezone.utc).timestamp():.0f}.{i:06d}"
        rec = {"type": "message", "user": uid, "text": slack_escape(text), "ts": ts}
        days.setdefault(f"{when:%Y-%m-%d}.json", []).append(rec)
    for name, recs in days.items():
        (root / "random" / name).write_text(json.dumps(recs).replace("/", "\\/"), encoding="utf-8")
    result = load_data(root)
    want = sorted(
        ((USERS[u], slack_plain(t).strip(), w, i) for i, (u, t, w) in enumerate(messages)),
        key=lambda m: (m[2], m[3]),
    )
    want = [(s, t) for s, t, _, _ in want if t]
    assert [(s, t) for s, t, _ in got(result)] == want
    assert all(c.title == "random" for c in result.conversations)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.just("1700000000.000100"),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                ["type", "ts", "user", "text", "subtype", "user_profile", "profile", "id", "name"]
                + ["real_name", "display_name", "members", "files", "is_mpim"]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=12,
)


@SETTINGS
@given(records=st.lists(JSON, max_size=6), users=JSON, channels=JSON)
def test_slack_any_json_shapes(tmp_path, records, users, channels):
    root = tmp_path / "slack"
    shutil.rmtree(root, ignore_errors=True)
    (root / "general").mkdir(parents=True)
    (root / "users.json").write_text(json.dumps(users), encoding="utf-8")
    (root / "channels.json").write_text(json.dumps(channels), encoding="utf-8")
    (root / "dms.json").write_text(json.dumps(channels), encoding="utf-8")
    day = root / "general" / "2024-01-01.json"
    day.write_text(json.dumps(records), encoding="utf-8")
    check(day, "slack")
