"""Typed options: groups of related options, composed into one object per command.

An option group is a dataclass of `Group`: each field is one option, declared (and documented)
once with `opt`, and the group checks its own values when it is made, so every command that
takes the group validates it the same way. A command's options (`Options`) compose the groups
it uses, and nothing else: its `--help` lists exactly those, one section per group. Fields read
through: `cfg.lr` is `cfg.training.lr` (no two groups of one command share a field name).

Every field becomes `--field-name` (with a `--field_name` alias, as in the original scripts);
booleans become `--flag/--no-flag`. A command may change a group's default (`Options.defaults`).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import types
import typing
from typing import Any, ClassVar, TypeVar

from chatclone.errors import ChatcloneError

T = TypeVar("T", bound="Options")

# When a set, every option read from a group is added to it (see `trace_reads`): how a test
# proves that each advertised option is used by its command.
_reads: set[str] | None = None


def opt(default: Any, help: str, **kw: Any) -> Any:
    """A dataclass field with its `--help` text (lists get a fresh copy per instance)."""
    if isinstance(default, list):
        return dataclasses.field(
            default_factory=lambda: list(default), metadata={"help": help, **kw}
        )
    return dataclasses.field(default=default, metadata={"help": help, **kw})


def flag(name: str) -> str:
    return f"--{name.replace('_', '-')}"


def must(ok: bool, name: str, want: str, got: Any) -> None:
    """Raise the one wording of an out-of-range option: `--name must be want (got value)`."""
    if not ok:
        raise ChatcloneError(f"{flag(name)} must be {want} (got {got})")


class Group:
    """Base of option groups (each a dataclass). `section` titles its part of `--help`."""

    section: ClassVar[str] = "options"

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Raise a ChatcloneError naming the option and the fix if a value is out of range."""

    def __getattribute__(self, name: str) -> Any:
        if _reads is not None and not name.startswith("_"):
            _reads.add(name)
        return object.__getattribute__(self, name)


def trace_reads() -> set[str]:
    """Start recording the option names read from any group; returns the set being filled."""
    global _reads
    _reads = set()
    return _reads


def stop_tracing() -> None:
    global _reads
    _reads = None


def fields_of(group: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(group) if f.metadata.get("cli", True) is not False]


class Options:
    """A command's options: one instance of each group in `groups` (name -> group class)."""

    groups: ClassVar[dict[str, type]] = {}
    _owner: ClassVar[dict[str, str]] = {}  # option (or derived value) -> the group holding it
    fields: ClassVar[frozenset[str]] = frozenset()  # the option names
    defaults: ClassVar[dict[str, Any]] = {}  # this command's own defaults for group fields

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        seen: dict[str, str] = {}
        for gname, group in cls.groups.items():
            for f in dataclasses.fields(group):
                if f.name in seen:
                    raise TypeError(
                        f"{cls.__name__}: option {f.name!r} is in both {seen[f.name]} and {gname}"
                    )
                seen[f.name] = gname
            for name, value in vars(group).items():  # derived values read through too
                if isinstance(value, property):
                    seen.setdefault(name, gname)
        clash = set(seen) & set(cls.groups)
        if clash:
            raise TypeError(f"{cls.__name__}: {', '.join(clash)} names both a group and an option")
        cls._owner = seen
        cls.fields = frozenset(f.name for g in cls.groups.values() for f in dataclasses.fields(g))

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - self.fields - set(self.groups)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no option {', '.join(sorted(unknown))}")
        for gname, group in self.groups.items():
            if isinstance(values.get(gname), group):
                object.__setattr__(self, gname, values[gname])
                continue
            mine = {
                f.name: values[f.name] if f.name in values else self.defaults[f.name]
                for f in dataclasses.fields(group)
                if f.name in values or f.name in self.defaults
            }
            object.__setattr__(self, gname, group(**mine))
        self.check()

    def check(self) -> None:
        """Checks that involve several groups (each group checks its own values)."""

    def __getattr__(self, name: str) -> Any:  # only called when normal lookup fails
        owner = type(self)._owner.get(name)
        if owner is None:
            raise AttributeError(f"{type(self).__name__} has no option {name!r}")
        return getattr(object.__getattribute__(self, owner), name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"options are read-only; use .replace({name}=...)")

    def replace(self: T, **changes: Any) -> T:
        """A copy with some options changed (and checked again)."""
        return type(self)(**{**self.to_dict(), **changes})

    def to_dict(self) -> dict[str, Any]:
        """Every option by name (flat: the form saved in a run folder). Copying is not using:
        these reads are not traced."""
        return {
            f.name: copy.deepcopy(object.__getattribute__(getattr(self, g), f.name))
            for g in self.groups
            for f in dataclasses.fields(self.groups[g])
        }

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.to_dict() == self.to_dict()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.to_dict().items())})"
        )

    @classmethod
    def add_arguments(
        cls, parser: argparse.ArgumentParser, skip: tuple[str, ...] = (), only_given: bool = False
    ) -> None:
        """One `--help` section per group; `skip` leaves options off the command line. With
        `only_given`, the parsed namespace holds only the options written on the command line."""
        sections: dict[str, Any] = {}
        for group in cls.groups.values():
            title = group.section
            if title not in sections:
                sections[title] = parser.add_argument_group(title)
            for f in fields_of(group):
                if f.name not in skip:
                    _add_argument(sections[title], f, group, cls.defaults, only_given)

    @classmethod
    def from_namespace(cls: type[T], ns: argparse.Namespace, **overrides: Any) -> T:
        values = {k: v for k, v in vars(ns).items() if k in cls.fields}
        return cls(**{**values, **overrides})


def _base_type(tp: Any) -> tuple[Any, bool]:
    """(element type, is_list) for `int`, `float | None`, `list[str]`, ..."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
    if typing.get_origin(tp) is list:
        return typing.get_args(tp)[0], True
    return tp, False


def _add_argument(
    parser: Any, f: dataclasses.Field, group: type, defaults: dict, only_given: bool = False
) -> None:
    tp, is_list = _base_type(typing.get_type_hints(group)[f.name])
    names = [flag(f.name)]
    if "_" in f.name and tp is not bool:
        names.append(f"--{f.name}")
    names += f.metadata.get("aliases", [])
    if f.name in defaults:
        default = defaults[f.name]
    else:
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
    help_text = f.metadata.get("help", "")
    kw: dict[str, Any] = {"dest": f.name, "default": argparse.SUPPRESS if only_given else default}
    if tp is bool:
        parser.add_argument(*names, action=argparse.BooleanOptionalAction, help=help_text, **kw)
        return
    if default not in (None, [], ""):
        help_text += f" (default: {' '.join(map(str, default)) if is_list else default})"
    if "choices" in f.metadata:
        kw["choices"] = f.metadata["choices"]
    if is_list:
        kw["nargs"] = "*"
        if f.metadata.get("repeatable"):  # `--me A --me B` collects both
            kw["action"] = "extend"
    parser.add_argument(*names, type=tp, help=help_text, metavar=f.metadata.get("metavar"), **kw)
