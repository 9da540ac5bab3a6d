"""Typed argument dataclasses -> argparse, so each option is declared (and documented) once.

Every field becomes `--field-name` (with a `--field_name` alias, as in the original scripts);
its `help` metadata becomes the `--help` text. Booleans become `--flag/--no-flag`.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def opt(default: Any, help: str, **kw: Any) -> Any:
    """A dataclass field with its `--help` text (use `default_factory` for lists)."""
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata={"help": help, **kw})
    return dataclasses.field(default=default, metadata={"help": help, **kw})


def _base_type(tp: Any) -> tuple[Any, bool]:
    """(element type, is_list) for `int`, `float | None`, `list[str]`, ..."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
    if typing.get_origin(tp) is list:
        return typing.get_args(tp)[0], True
    return tp, False


def add_arguments(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = ()) -> None:
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip or f.metadata.get("cli") is False:
            continue
        tp, is_list = _base_type(hints[f.name])
        names = [f"--{f.name.replace('_', '-')}"]
        if "_" in f.name and tp is not bool:
            names.append(f"--{f.name}")
        names += f.metadata.get("aliases", [])
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        help_text = f.metadata.get("help", "")
        kw: dict[str, Any] = {"dest": f.name, "default": default}
        if tp is bool:
            parser.add_argument(*names, action=argparse.BooleanOptionalAction, help=help_text, **kw)
            continue
        if default not in (None, [], ""):
            help_text += f" (default: {default})"
        if "choices" in f.metadata:
            kw["choices"] = f.metadata["choices"]
        if is_list:
            kw["nargs"] = "*"
            if f.metadata.get("repeatable"):  # `--me A --me B` collects both
                kw["action"] = "extend"
        parser.add_argument(*names, type=tp, help=help_text, metavar=f.metadata.get("metavar"), **kw)


def from_namespace(cls: type[T], ns: argparse.Namespace, **overrides: Any) -> T:
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in vars(ns).items() if k in names}
    values.update(overrides)
    return cls(**values)
