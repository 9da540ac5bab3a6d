"""Importers: one module per source, each turning files into `Conversation`s.

An importer is a module-level object with a `name`, a `description`, `sniff(path) -> bool`
(cheap: looks at the name and the first bytes) and `load(path) -> ImportResult`. `load_data`
picks the importer by sniffing (or by `format=`), so adding a platform is one new module and
one line in `registry._builtin()`.
"""

from chatclone.data.importers.base import Importer, ImportReport, ImportResult
from chatclone.data.importers.registry import detect, importers, register, resolve_format
from chatclone.data.importers.sources import load_all, load_data

__all__ = [
    "Importer",
    "ImportReport",
    "ImportResult",
    "detect",
    "importers",
    "register",
    "resolve_format",
    "load_all",
    "load_data",
]
