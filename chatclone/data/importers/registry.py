"""The registry of importers: which one reads a file (by sniffing, or by `--format`)."""

from __future__ import annotations

from pathlib import Path

from chatclone.data.importers.base import Importer
from chatclone.errors import ChatcloneError

REGISTRY: dict[str, Importer] = {}

# Names of built-in data that are not files, and the importer that reads each
# (`NAME:ARG` too, e.g. `chatterbot:spanish` or `chitchat:FILE`).
BUILTIN_DATA = {"sample": "chatterbot", "chatterbot": "chatterbot", "chitchat": "chitchat"}


def builtin_importer(spec: str) -> str | None:
    """The importer of a built-in data name (`sample`, `chitchat`, `chatterbot:LANG`), or None."""
    name = spec.split(":", 1)[0] if ":" in spec else spec
    if spec in BUILTIN_DATA or (":" in spec and name in BUILTIN_DATA and name != "sample"):
        return BUILTIN_DATA[name]
    return None


def register(importer: Importer) -> Importer:
    REGISTRY[importer.name] = importer
    return importer


def _builtin() -> None:
    if REGISTRY:
        return
    from chatclone.data.importers import (
        chatistics,
        chitchat,
        corpus,
        discord,
        google,
        imessage,
        imessage_html,
        instagram_legacy,
        jsonl,
        messenger,
        signal,
        slack,
        tabular,
        telegram,
        whatsapp,
    )

    # Order matters only where two sniffers could both accept a file: specific before generic.
    for module in (
        chatistics,
        chitchat,
        corpus,
        jsonl,
        whatsapp,
        messenger,
        instagram_legacy,
        discord,
        google,
        telegram,
        signal,
        imessage,
        imessage_html,
        slack,
        tabular,
    ):
        for importer in getattr(module, "IMPORTERS", (module.IMPORTER,)):
            register(importer)


def importers() -> dict[str, Importer]:
    _builtin()
    return REGISTRY


def detect(path: Path) -> Importer | None:
    return next((imp for imp in importers().values() if imp.sniff(path)), None)


def resolve_format(format: str | None) -> Importer | None:
    """`NAME` or `NAME:OPTIONS` (e.g. `table:sender=From,text=Body`) to an importer."""
    if format is None:
        return None
    regs = importers()
    name, sep, options = format.partition(":")
    if name not in regs:
        raise ChatcloneError(
            f"unknown format {format!r}; known formats: {', '.join(regs)}. Pass one of them "
            "to --format, or leave --format out to detect it"
        )
    if not sep:
        return regs[name]
    if not hasattr(regs[name], "configured"):
        raise ChatcloneError(
            f"format {name!r} takes no options (got {format!r}); use --format {name}"
        )
    return regs[name].configured(options)
