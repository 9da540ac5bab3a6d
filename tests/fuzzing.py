"""Mutations of real exports for the importer fuzz suite (tests/test_fuzz_importers.py).

Each mutation takes the bytes of a fixture and a seeded `random.Random` and returns new bytes:
the damage real files suffer (byte flips, truncation, another encoding, other line ends, a
second copy appended) and what a hostile file holds (deep nesting, numbers and times beyond
every range, names with console markup and escape sequences, values of the wrong type).
"""

from __future__ import annotations

import io
import json
import random
import re
import zipfile
from typing import Any, Callable, Iterator

HOSTILE_STRINGS = (
    "[/]",
    "[bold]x[/bold]",
    "[link=http://x]y",
    "\x1b[31mred\x1b[0m",
    "\x00\x07\x08\r",
    "\u202eevil",
    "\ud83d lone half of a pair",
    "",
    " ",
    "x" * 5000,
)
HOSTILE_VALUES: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    10**30,
    1e300,
    float("inf"),
    float("-inf"),
    float("nan"),
    [],
    {},
    [1, [2, [3]]],
    {"a": {"b": None}},
    "inf",
    "1e999",
    "NaN",
    "9999-99-99T99:99:99Z",
    "0001-01-01T00:00:00+14:00",
    *HOSTILE_STRINGS,
)


def flip(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def random_bytes(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(out) + 1)
        out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return bytes(out)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def cut_slice(data: bytes, rng: random.Random) -> bytes:
    a = rng.randrange(len(data) + 1)
    return data[:a] + data[a + rng.randint(1, 200) :]


def duplicate_slice(data: bytes, rng: random.Random) -> bytes:
    a = rng.randrange(len(data) + 1)
    piece = data[a : a + rng.randint(1, 400)]
    b = rng.randrange(len(data) + 1)
    return data[:b] + piece * rng.randint(1, 3) + data[b:]


def concatenated(data: bytes, rng: random.Random) -> bytes:
    return data + rng.choice((b"", b"\n", b"\r\n", b" ")) + data


def latin1(data: bytes, rng: random.Random) -> bytes:
    return data.decode("utf-8", "replace").encode("latin-1", "replace")


def utf16(data: bytes, rng: random.Random) -> bytes:
    text = data.decode("utf-8", "replace")
    return text.encode(rng.choice(("utf-16", "utf-16-le", "utf-16-be", "utf-32")))


def bom(data: bytes, rng: random.Random) -> bytes:
    return rng.choice((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf" * 2)) + data


def line_ends(data: bytes, rng: random.Random) -> bytes:
    return data.replace(b"\n", rng.choice((b"\r\n", b"\r", b"\n\n", b"\r\r\n", b"\x85")))


def huge_line(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice((b"x", b"[", b'"', b"\\", b",", b"9")) * 300_000 + data[at:]


def deep_nesting(data: bytes, rng: random.Random) -> bytes:
    depth = rng.choice((50, 1000, 5000))
    opener, closer = rng.choice(((b"[", b"]"), (b'{"a":', b"}")))
    at = rng.randrange(len(data) + 1)
    inner = opener * depth + b"1" + closer * depth * rng.randint(0, 1)
    return data[:at] + inner + data[at:]


NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
OUT_OF_RANGE = (b"1e999", b"-1e999", b"NaN", b"Infinity", b"inf", b"9" * 5000, b"-0", b"1e-400")


def numbers(data: bytes, rng: random.Random) -> bytes:
    """A few numbers (times, ids) become numbers or times beyond every range."""
    found = list(NUMBER.finditer(data))
    for m in sorted(
        rng.sample(found, min(len(found), rng.randint(1, 3))), key=lambda m: -m.start()
    ):
        data = data[: m.start()] + rng.choice(OUT_OF_RANGE) + data[m.end() :]
    return data


def markup(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice(HOSTILE_STRINGS[:6]).encode() + data[at:]


def json_values(data: bytes, rng: random.Random) -> bytes:
    """Structure-aware: parse the JSON (document or lines) and replace a few values with
    hostile ones of any type; other files get a byte flip."""
    try:
        lines = [json.loads(data)]
        one = True
    except ValueError:
        try:
            lines = [json.loads(line) for line in data.splitlines() if line.strip()]
            one = False
        except ValueError:
            return flip(data, rng)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(lines)) if lines else 0
        if lines:
            lines[i] = _replace_one(lines[i], rng)
    dump: Callable[[Any], str] = lambda v: json.dumps(v, ensure_ascii=rng.random() < 0.5)  # noqa: E731
    text = dump(lines[0]) if one and lines else "\n".join(map(dump, lines))
    return text.encode("utf-8", "surrogatepass")


def _replace_one(node: Any, rng: random.Random) -> Any:
    """`node` with one value somewhere inside it (or itself) replaced."""
    if isinstance(node, (dict, list)) and node and rng.random() < 0.85:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = rng.choice(keys)
        copy = dict(node) if isinstance(node, dict) else list(node)
        copy[key] = _replace_one(copy[key], rng)
        return copy
    return rng.choice(HOSTILE_VALUES)


# Values of the wrong type or size for any JSON field: an integer no float holds (it parses,
# unlike one past the decoder's digit limit), numbers no time is, containers where text or
# numbers go, and the reverse.
WRONG_VALUES = (
    "1" + "0" * 400, "1e400", "NaN", "-Infinity", "null", "[]", "{}", '""', '"x"', "true",
    '[1, [2], {"a": null}]', '{"text": 1}',
)  # fmt: skip


def field_paths(node: Any, path: tuple = ()) -> Iterator[tuple]:
    """The path of every value in a JSON document (of lists, the first two elements)."""
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from field_paths(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node[:2]):
            yield from field_paths(value, path + (i,))


def with_value(document: Any, path: tuple, literal: str) -> str:
    """The document as JSON text with the value at `path` replaced by the JSON `literal`."""
    mark = "\u0000wrong value\u0000"
    copy = json.loads(json.dumps(document))
    if not path:
        return literal
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = mark
    return json.dumps(copy, ensure_ascii=False).replace(
        json.dumps(mark, ensure_ascii=False), literal
    )


FILE_MUTATIONS: tuple[Callable[[bytes, random.Random], bytes], ...] = (
    flip,
    random_bytes,
    truncate,
    cut_slice,
    duplicate_slice,
    concatenated,
    latin1,
    utf16,
    bom,
    line_ends,
    huge_line,
    deep_nesting,
    numbers,
    markup,
    json_values,
    json_values,  # twice: the mutation most likely to reach an importer's field checks
)
# Mutations of the zip around the files, applied after a file mutation (or none).
ZIP_NAMES = ("../../escape{}", "/abs/escape{}", "..\\escape{}", "a/../../escape{}", "{}")


def make_zip(files: dict[str, bytes], rng: random.Random) -> bytes:
    """A zip of `files`, some names made hostile, sometimes damaged, encrypted-flagged,
    duplicated, or stored instead of deflated."""
    buf = io.BytesIO()
    method = rng.choice((zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, zipfile.ZIP_BZIP2))
    with zipfile.ZipFile(buf, "w", compression=method) as z:
        for name, data in files.items():
            if rng.random() < 0.3:
                name = rng.choice(ZIP_NAMES).format(name.rsplit("/", 1)[-1])
            z.writestr(name, data)
            if rng.random() < 0.1:
                z.writestr(name, data[: len(data) // 2])  # the same name twice
    out = bytearray(buf.getvalue())
    damage = rng.random()
    if damage < 0.2:
        out = bytearray(flip(bytes(out), rng))
    elif damage < 0.3:
        out = out[: rng.randrange(len(out) + 1)]
    elif damage < 0.4:
        for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            at = out.find(signature)
            if at >= 0:
                out[at + offset] |= 0x1  # encrypted flag
    return bytes(out)
