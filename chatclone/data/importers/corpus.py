"""The bundled demo data: dialogues of the `chatterbot-corpus` package (`--data sample`).

Each YAML dialogue is a list of utterances by two alternating speakers. The first speaker asks,
the second answers; the answerer is the persona (`outgoing`), so the demo bot learns to reply.
The files are found through the package's metadata; the package itself is never imported.
"""

from __future__ import annotations

import importlib.metadata as md
from pathlib import Path

import yaml

from chatclone.data.importers.base import ImportReport, ImportResult
from chatclone.data.records import Conversation, Message
from chatclone.errors import ChatcloneError

PACKAGE = "chatterbot-corpus"


def corpus_files(language: str = "english") -> list[Path]:
    try:
        dist = md.distribution(PACKAGE)
    except md.PackageNotFoundError:
        raise ChatcloneError(
            f"the bundled sample needs the {PACKAGE} package: pip install {PACKAGE}"
        ) from None
    prefix = f"chatterbot_corpus/data/{language}/"
    files = sorted(
        Path(dist.locate_file(f))
        for f in dist.files or ()
        if str(f).startswith(prefix) and str(f).endswith(".yml")
    )
    if not files:
        raise ChatcloneError(
            f"{PACKAGE} has no dialogues for language {language!r}; use --data sample "
            "(English) or chatterbot:LANGUAGE with a language the package has"
        )
    return files


class CorpusImporter:
    name = "chatterbot"
    description = "bundled chatterbot-corpus dialogues ('sample' or 'chatterbot:<language>')"

    def sniff(self, path: Path) -> bool:
        return False  # only reached by name

    def load(self, path: Path) -> ImportResult:
        spec = str(path)
        language = spec.split(":", 1)[1] if ":" in spec else "english"
        conversations, reports = [], []
        for file in corpus_files(language):
            data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
            dialogues = data.get("conversations") or []
            report = ImportReport(path=f"{PACKAGE}:{language}/{file.name}", format=self.name)
            for d, dialogue in enumerate(dialogues):
                if not isinstance(dialogue, list):  # a malformed entry (one string, no turns)
                    report.read += 1
                    report.skip("unparsable", d, str(dialogue))
                    continue
                messages = []
                for u, utterance in enumerate(dialogue):
                    report.read += 1
                    if not isinstance(utterance, (str, int, float)) or not str(utterance).strip():
                        report.skip("empty")
                        continue
                    persona = u % 2 == 1
                    messages.append(
                        Message(
                            sender="bot" if persona else "user",
                            text=str(utterance),
                            timestamp=float(u),
                            outgoing=persona,
                            source=f"{report.path} dialogue {d} line {u}",
                        )
                    )
                    report.imported += 1
                conversations.append(
                    Conversation(
                        id=f"{file.stem}-{d}",
                        title=file.stem,
                        platform="chatterbot",
                        messages=tuple(messages),
                    )
                )
            reports.append(report)
        return ImportResult(conversations, reports)


IMPORTER = CorpusImporter()
