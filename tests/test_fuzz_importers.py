"""Fuzz: every registered importer on mutated versions of every fixture, and on zips of them.

A fixed seed makes every run try the same inputs (`CHATCLONE_FUZZ_INPUTS` sets how many per
fixture folder). Each import runs under a per-input timer, so a loop is caught as a hang. The
only exception allowed out of an import is a one-line `ChatcloneError`; successful imports
also go through the coverage report, as `chatclone inspect` prints it. A crash or hang in any
importer, the shared reading code or the report fails the suite, naming the module it came from.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import signal
import tempfile
import time
import traceback
import zlib
from collections import Counter
from pathlib import Path
from typing import Callable

import fuzzing
import pytest

from chatclone.data.coverage import coverage, render
from chatclone.data.importers import importers, load_data
from chatclone.data.importers.jsonl import write_jsonl
from chatclone.data.importers.sources import load_path
from chatclone.errors import ChatcloneError

FIX = Path(__file__).parent / "fixtures"
PACKAGE = Path(__file__).resolve().parent.parent / "chatclone"
SEED = 20240601
PER_FOLDER = int(os.environ.get("CHATCLONE_FUZZ_INPUTS", "160"))
TIMEOUT_S = 5.0  # one import
BUDGET_S = float(os.environ.get("CHATCLONE_FUZZ_BUDGET_S", "180"))  # one test's inputs
SUFFIXES = {".txt", ".json", ".csv", ".tsv", ".jsonl", ".ndjson", ".md", ".html"}
FOLDERS = sorted(d.name for d in FIX.iterdir() if d.is_dir())
TOTALS: Counter = Counter()


class Hang(BaseException):
    """Raised by the timer; a BaseException, so no importer's `except Exception` hides it."""


def _alarm(signum, frame) -> None:
    raise Hang()


def _origin(tb) -> str:
    """The innermost frame of chatclone's own code: `chatclone/.../module.py:line`."""
    place = "outside chatclone"
    for frame, line in traceback.walk_tb(tb):
        file = Path(frame.f_code.co_filename).resolve()
        if file.is_relative_to(PACKAGE):
            place = f"{file.relative_to(PACKAGE.parent)}:{line}"
    return place


class Campaign:
    """Runs imports and tallies how each ended."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.counts: Counter = Counter()
        self.failures: dict[str, list[str]] = {}  # origin -> examples

    def next_input(self) -> None:
        """Counts one more input; past the time budget the run stops (imports got slow)."""
        if time.monotonic() - self.started > BUDGET_S:
            pytest.fail(f"over the budget of {BUDGET_S:g} s after {self.counts['inputs']} inputs")
        self.counts["inputs"] += 1

    def attempt(self, label: str, run: Callable[[], object]) -> object | None:
        self.counts["runs"] += 1
        signal.setitimer(signal.ITIMER_REAL, TIMEOUT_S)
        try:
            result = run()
            self.counts["imported"] += 1
            return result
        except ChatcloneError as e:
            if "\n" not in str(e):
                self.counts["errors"] += 1
                return None
            self._fail("crashes", e, f"{label}: error of several lines: {str(e)[:300]!r}")
        except Hang as e:
            self._fail("hangs", e, f"{label}: no result after {TIMEOUT_S:g} s")
        except (Exception, RecursionError, MemoryError) as e:
            self._fail("crashes", e, f"{label}: {type(e).__name__}: {str(e)[:200]}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        return None

    def _fail(self, kind: str, e: BaseException, text: str) -> None:
        self.counts[kind] += 1
        origin = _origin(e.__traceback__)
        examples = self.failures.setdefault(origin, [])
        if len(examples) < 3:
            if os.environ.get("CHATCLONE_FUZZ_TRACEBACKS"):  # for whoever fixes it
                text += "\n" + "".join(traceback.format_exception(e)[-6:])
            examples.append(text)

    def verdict(self, name: str) -> None:
        """Fail on an owned module; an expected failure naming the others; else pass."""
        TOTALS.update(self.counts)
        c = self.counts
        print(
            f"fuzz {name}: {c['inputs']} inputs, {c['runs']} imports: {c['imported']} imported, "
            f"{c['errors']} one-line errors, {c['crashes']} crashes, {c['hangs']} hangs"
        )
        if self.failures:
            pytest.fail("\n".join(f"{o}: {x}" for o, x in self.failures.items()))


@pytest.fixture(scope="module", autouse=True)
def totals():
    """The figures of the whole run, printed at the end (`-s` shows them); with
    CHATCLONE_FUZZ_REPORT=FILE they are also written there as JSON."""
    yield
    if TOTALS:
        print(f"\nfuzz totals: {dict(TOTALS)}")
        if os.environ.get("CHATCLONE_FUZZ_REPORT"):
            Path(os.environ["CHATCLONE_FUZZ_REPORT"]).write_text(json.dumps(dict(TOTALS)))


@pytest.fixture
def campaign():
    previous = signal.signal(signal.SIGALRM, _alarm)
    before = set(Path(tempfile.gettempdir()).glob("escape*"))
    try:
        yield Campaign()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert set(Path(tempfile.gettempdir()).glob("escape*")) == before, "a zip wrote outside"


def _inputs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


def _report(campaign: Campaign, label: str, result) -> None:
    """What `inspect` prints and `import -o` writes of a successful import: both must be
    UTF-8, and names from the export are plain text (no escape sequence reaches the terminal)."""

    def printed() -> None:
        out = io.StringIO()
        render(coverage(result, result.conversations, None, 6.0), out)
        hidden = [ch for ch in "\x1b\x07\x08\u202e" if ch in out.getvalue()]
        assert not hidden, f"the report prints {hidden!r}"
        out.getvalue().encode("utf-8")  # what a terminal or file takes
        written = io.StringIO()
        write_jsonl(result.conversations, written)  # what `import -o` writes
        written.getvalue().encode("utf-8")

    campaign.attempt(label + " (report)", printed)


def _import_all_ways(campaign: Campaign, path: Path, label: str, folder: Path, n: int) -> None:
    result = campaign.attempt(f"{label} (detected)", lambda: load_path(path))
    if result is not None and n % 3 == 0:
        _report(campaign, label, result)
    for imp in importers().values():
        if imp.name == "chatterbot":  # reads the bundled corpus, not the file
            continue
        if imp.name == "chitchat":  # a file is `chitchat:PATH`
            campaign.attempt(f"{label} (chitchat)", lambda: load_data(f"chitchat:{path}"))
            continue
        campaign.attempt(f"{label} (as {imp.name})", lambda imp=imp: load_path(path, imp))
    if n % 4 == 0:  # the whole folder: the multi-file formats read their siblings
        campaign.attempt(f"{label} (folder)", lambda: load_path(folder))


@pytest.mark.slow
@pytest.mark.parametrize("name", FOLDERS)
def test_mutated_fixtures(tmp_path, campaign, name):
    folder = Path(shutil.copytree(FIX / name, tmp_path / name))
    files = _inputs(folder)
    if not files:
        pytest.skip(f"no export files in fixtures/{name}")
    rng = random.Random(SEED ^ zlib.crc32(name.encode()))
    for n in range(PER_FOLDER):
        path = files[n % len(files)]
        original = path.read_bytes()
        mutate = rng.choice(fuzzing.FILE_MUTATIONS)
        path.write_bytes(mutate(original, rng))
        campaign.next_input()
        label = f"fixtures/{name}/{path.relative_to(folder)} #{n} {mutate.__name__}"
        try:
            _import_all_ways(campaign, path, label, folder, n)
        finally:
            path.write_bytes(original)
    campaign.verdict(name)


@pytest.mark.slow
def test_mutated_zips(tmp_path, campaign):
    rng = random.Random(SEED)
    for n in range(PER_FOLDER * 2):
        name = FOLDERS[n % len(FOLDERS)]
        files = {str(p.relative_to(FIX / name)): p.read_bytes() for p in _inputs(FIX / name)}
        if not files:
            continue
        if rng.random() < 0.5:
            victim = rng.choice(sorted(files))
            files[victim] = rng.choice(fuzzing.FILE_MUTATIONS)(files[victim], rng)
        path = tmp_path / f"{name}-{n}.zip"
        path.write_bytes(fuzzing.make_zip(files, rng))
        campaign.next_input()
        result = campaign.attempt(f"zip of fixtures/{name} #{n}", lambda: load_path(path))
        if result is not None and n % 3 == 0:
            _report(campaign, f"zip of fixtures/{name} #{n}", result)
        path.unlink()
    campaign.verdict("zips")


@pytest.mark.parametrize(
    "name", [n for n in FOLDERS if n != "chitchat" and any((FIX / n).rglob("*.json"))]
)
def test_every_json_field_with_a_value_of_the_wrong_type_or_size(tmp_path, campaign, name):
    """Each field of each JSON fixture, in turn, holds each of `fuzzing.WRONG_VALUES`: the
    import ends in messages or one error line, never a crash (a 401-digit time once did)."""
    folder = Path(shutil.copytree(FIX / name, tmp_path / name))
    for path in [p for p in _inputs(folder) if p.suffix == ".json"]:
        original = path.read_bytes()
        try:
            document = json.loads(original)
        except ValueError:
            continue  # a fixture that is broken on purpose
        for field in fuzzing.field_paths(document):
            for literal in fuzzing.WRONG_VALUES:
                path.write_text(fuzzing.with_value(document, field, literal), encoding="utf-8")
                campaign.next_input()
                label = f"fixtures/{name}/{path.relative_to(folder)} {list(field)} = {literal[:20]}"
                campaign.attempt(label, lambda: load_path(path))
        path.write_bytes(original)
    campaign.verdict(f"json fields of {name}")


def test_quick_fuzz_of_tables_and_zips(tmp_path, campaign):
    """A short run for every test session (the full campaign is marked slow)."""
    folder = Path(shutil.copytree(FIX / "tabular", tmp_path / "tabular"))
    rng = random.Random(SEED)
    for n, mutate in enumerate(fuzzing.FILE_MUTATIONS * 2):
        path = _inputs(folder)[n % len(_inputs(folder))]
        original = path.read_bytes()
        path.write_bytes(mutate(original, rng))
        campaign.next_input()
        result = campaign.attempt(f"{path.name} #{n} {mutate.__name__}", lambda: load_path(path))
        if result is not None:
            _report(campaign, path.name, result)
        path.write_bytes(original)
        zipped = tmp_path / "t.zip"
        zipped.write_bytes(fuzzing.make_zip({"a/" + path.name: mutate(original, rng)}, rng))
        campaign.attempt(f"zip #{n}", lambda: load_path(zipped))
    campaign.verdict("quick")
