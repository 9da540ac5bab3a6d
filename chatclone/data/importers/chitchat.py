"""Real people's chats: the Chit-Chat Challenge dataset (`--data chitchat`).

The `chitchat-dataset` package (MIT) ships `chitchat_dataset/dataset.json`: thousands of
two-person conversations between hundreds of people, `{conversation_id: {"messages":
[[{"text", "timestamp", "sender"}, ...], ...]}}`, each inner list one turn. Senders are
anonymous UUIDs; we show them as short stable pseudonyms (`person-3f2a1c`), the same on every
machine, so `--me person-3f2a1c` names the same person everywhere. The voice to learn is
chosen in the data stage (`people.pool_persona`): `--me`, else the most active sender.
`chitchat:PATH` reads a file of the same layout.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import re
from pathlib import Path

from chatclone.data.importers._json import load_json
from chatclone.data.importers._time import parse_iso
from chatclone.data.importers.base import ImportReport, ImportResult
from chatclone.data.records import Conversation, Message
from chatclone.errors import ChatcloneError

PACKAGE = "chitchat-dataset"
PLATFORM = "chitchat"
_HEAD = re.compile(r'\s*\{\s*"[^"]*"\s*:\s*\{\s*"messages"\s*:\s*\[\s*\[\s*\{')
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def pseudonym(sender: str) -> str:
    """A short stable name for an anonymous sender id (a raw id given to `--me` maps here)."""
    return "person-" + hashlib.sha256(sender.strip().lower().encode()).hexdigest()[:6]


def as_pseudonym(name: str) -> str:
    """`--me` may name a sender by pseudonym or by the dataset's raw id."""
    return pseudonym(name) if _UUID.match(name.strip()) else name


def dataset_file() -> Path:
    try:
        dist = md.distribution(PACKAGE)
    except md.PackageNotFoundError:
        raise ChatcloneError(
            f"--data chitchat needs the {PACKAGE} package: pip install {PACKAGE}"
        ) from None
    for f in dist.files or ():
        if str(f).endswith("chitchat_dataset/dataset.json"):
            return Path(dist.locate_file(f))
    raise ChatcloneError(f"{PACKAGE} is installed without its dataset.json; reinstall it")


class ChitchatImporter:
    name = PLATFORM
    description = "the Chit-Chat Challenge dataset: real two-person chats ('chitchat')"

    def sniff(self, path: Path) -> bool:
        """A JSON object of conversations whose first holds lists of turns of messages."""
        if path.suffix.lower() != ".json" or not path.is_file():
            return False
        with path.open("rb") as f:
            head = f.read(4096).decode("utf-8", "ignore")
        return bool(_HEAD.match(head))

    def load(self, path: Path) -> ImportResult:
        """`chitchat` (the installed dataset), `chitchat:FILE` or a file of that layout."""
        spec = str(path)
        if spec == PLATFORM:
            file, shown = dataset_file(), f"{PACKAGE}:dataset.json"
        else:
            file = Path(spec[len(PLATFORM) + 1 :] if spec.startswith(PLATFORM + ":") else spec)
            shown = str(file)
        data = load_json(file)  # size, depth and a second document checked there
        if not isinstance(data, dict):
            raise ChatcloneError(
                f"{shown}: expected an object of conversations by id; give a file of the "
                "chitchat-dataset layout, or --data chitchat for the installed one"
            )
        report = ImportReport(path=shown, format=self.name)
        names: dict[str, str] = {}
        conversations = [
            c for cid, conv in data.items() if (c := _conversation(cid, conv, report, names))
        ]
        return ImportResult(conversations, [report])


def _conversation(
    cid: str, conv: object, report: ImportReport, names: dict[str, str]
) -> Conversation | None:
    turns = conv.get("messages") if isinstance(conv, dict) else None
    if not isinstance(turns, list):
        report.read += 1
        report.skip("unparsable", report.read, str(conv)[:120])
        return None
    messages = []
    for t, turn in enumerate(turns):
        for m, msg in enumerate(turn if isinstance(turn, list) else [turn]):
            report.read += 1
            if not isinstance(msg, dict) or not isinstance(msg.get("sender"), str):
                report.skip("unparsable", report.read, str(msg)[:120])
                continue
            text = msg.get("text")
            if not isinstance(text, str) or not text.strip():
                report.skip("empty")
                continue
            sender = msg["sender"]
            if sender not in names:
                names[sender] = pseudonym(sender)
            messages.append(
                Message(
                    sender=names[sender],
                    text=text.strip(),
                    timestamp=parse_iso(msg.get("timestamp")),
                    source=f"conversation {cid} turn {t} message {m}",
                )
            )
            report.imported += 1
    if not messages:
        return None
    return Conversation(
        id=f"chitchat-{cid}",
        messages=tuple(messages),
        title=f"chitchat {cid[:8]}",
        platform=PLATFORM,
    )


IMPORTER = ChitchatImporter()
