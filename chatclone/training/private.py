"""No unredacted personal content under `runs/` when redaction is on.

The training text is redacted by the data stage; the rest of the run folder is handled here.
`chatclone.json` keeps the options that may hold personal content (`rundir.PRIVATE`: the
export's path, whose file name often holds a chat partner's full name, and the names given with
--me, --persona, --participant, --conversation) only as stand-ins: the export as a redacted file
name plus the sha256 of its content, names as `Redactor` stand-ins. Their real values go to a
private record in chatclone's cache (`rundir.private_path`, named by a random id that
`chatclone.json` holds), so `train --resume` on this machine needs only the run name; on
another, `--data` (and the name options) are given again.
`dataset.json` gets the same stand-ins for the owner's name. `forget` removes the private record
and the run's tokenised data from the cache (`chatclone delete`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from pathlib import Path

from chatclone import rundir
from chatclone.config import TrainConfig
from chatclone.errors import ChatcloneError
from chatclone.rundir import RunDir

REF = re.compile(r"^(.*) \[sha256:([0-9a-f]{16})\]$")  # a stored export: "NAME [sha256:HASH]"
# Words a redacted file name keeps: what the platforms put around a name in an export's name.
PLAIN = frozenset(
    "whatsapp chat chats with export exports messages message result telegram signal "
    "facebook messenger instagram discord slack imessage sms history backup inbox txt json "
    "csv zip html xml db".split()
)


def content_hash(path: Path) -> str:
    """sha256 of a file's bytes, or of a folder's file names and sizes (its media may be
    large), shortened to 16 hex digits."""
    digest = hashlib.sha256()
    if path.is_dir():
        for p in sorted(q for q in path.rglob("*") if q.is_file()):
            digest.update(f"{p.relative_to(path)}\0{p.stat().st_size}\n".encode())
    else:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def redacted_name(name: str) -> str:
    """An export's file name without the personal words: 'WhatsApp Chat with Maya Cohen.txt'
    -> 'WhatsApp Chat with N N.txt'; a phone number (an unsaved contact's chat is named by it)
    becomes N too; platform words, other digits (dates, counters) and punctuation stay."""
    from chatclone.data.pii import PHONE_CANDIDATE, is_phone

    name = PHONE_CANDIDATE.sub(lambda m: "N" if is_phone(m.group()) else m.group(), name)
    return re.sub(r"[^\W\d_]+", lambda m: m.group() if m.group().lower() in PLAIN else "N", name)


def stored_data(data: str) -> str:
    """What `chatclone.json` says of `--data`: a built-in data set as it is, an export as its
    redacted file name and content hash."""
    path = Path(data)
    if not path.exists():
        return data  # `sample`, `chatterbot:LANG`, ...: public, and not a path
    return f"{redacted_name(path.name)} [sha256:{content_hash(path)}]"


def same_data(saved: str, given: str) -> bool:
    """Whether the export `given` on resume is the one the run stored (as it is or as a ref)."""
    return saved == given or (REF.match(saved) is not None and saved == stored_data(given))


def owner_names(info: dict) -> list[str]:
    """The owner's names the data stage wrote into its account of how it found them."""
    how = str(info.get("owner", ""))
    return re.findall(r"inferred: (.+?) takes part in", how)


def stored_values(cfg: TrainConfig, info: dict) -> dict:
    """The `PRIVATE` options as `chatclone.json` keeps them, and `info` (the selection
    account of `dataset.json`) with the same stand-ins for the names it holds."""
    from chatclone.data.privacy import Redactor

    names = [*cfg.me, *cfg.participant, *owner_names(info), *([cfg.persona] if cfg.persona else [])]
    names += cfg.conversation  # a conversation is chosen by its title, usually a person's name
    redactor = Redactor(names)
    if "owner" in info:
        info["owner"] = redactor.text(str(info["owner"]))
    return {
        "data": stored_data(cfg.data),
        "me": [redactor.sender(n) for n in cfg.me],
        "persona": redactor.sender(cfg.persona) if cfg.persona else None,
        "participant": [redactor.sender(n) for n in cfg.participant],
        "conversation": [redactor.text(t) for t in cfg.conversation],
    }


def write_run_config(run: RunDir, cfg: TrainConfig, info: dict) -> None:
    """`chatclone.json` (and, with redaction, the private record first): what `--resume`,
    `chat` and `eval` read back."""
    if not cfg.redact:
        run.write_config(cfg)
        return
    stored = stored_values(cfg, info.get("selection", {}))
    real = {k: getattr(cfg, k) for k in rundir.PRIVATE}
    key = private_id(run)
    rundir.write_json(rundir.private_path(key), {"real": real, "stored": stored})
    run.write_config(cfg, {**stored, "private_id": key})


def private_id(run: RunDir) -> str:
    """The run's key to its private record: kept on resume, new for a new run."""
    try:
        key = str((run.read_json(rundir.CONFIG) or {}).get("private_id", ""))
    except ValueError:
        key = ""
    return key if re.fullmatch(r"[0-9a-f]{24}", key) else secrets.token_hex(12)


def check_resume_data(run: RunDir, cfg: TrainConfig, given: dict) -> None:
    """Refuse to resume a run whose export this machine does not know, with the fix."""
    if REF.match(cfg.data) and "data" not in given:
        raise ChatcloneError(
            f"run {run.name!r} keeps only a hash of its export ({cfg.data}), and this machine "
            "has no private record of its path. Resume with the export given again: "
            + rundir.hint(
                "chatclone", "train", "--run-name", run.name, "--runs-dir", run.path.parent
            )
            + " --resume --data EXPORT (and --me/--persona if the run was given them)"
        )


def forget_private_record(run: RunDir) -> None:
    key = private_id(run)
    for path in (rundir.private_path(key), rundir.private_path(key, default=True)):
        path.unlink(missing_ok=True)


def forget(run: RunDir) -> list[Path]:
    """Remove what the cache holds of a run: its private record and its tokenised data.
    Returns the files removed."""
    from chatclone.training.models import cache_dir

    info = run.read_json(rundir.DATASET) or {}
    keys = [k for k in info.get("cache_keys", []) if re.fullmatch(r"[0-9a-f]+", str(k))]
    key = private_id(run)
    paths = [rundir.private_path(key), rundir.private_path(key, default=True)]
    paths += [cache_dir() / "datasets" / f"examples-{k}.json" for k in keys]
    # The base model's cached evaluation on this run's held-out turns (evaluation/base_cache).
    evaluated = str((run.read_json(rundir.EVAL) or {}).get("base_cache", ""))
    if re.fullmatch(r"[0-9a-f]+", evaluated):
        paths.append(cache_dir() / "eval" / f"base-eval-{evaluated}.json")
    removed = [p for p in paths if p.is_file()]
    for p in removed:
        p.unlink()
    return removed
