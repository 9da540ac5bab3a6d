"""Slack's message text (mrkdwn) to plain text, and people's names from `users.json`.

Slack writes mentions as `<@U123>` (`<@U123|name>` in old exports), channels as `<#C1|name>`,
special mentions as `<!here>`, links as `<url|label>` or `<url>`, and escapes only `&`, `<`, `>`.
"""

from __future__ import annotations

import re
from typing import Any

TOKEN = re.compile(r"<([@#!]?)([^<>|]*)(?:\|([^<>]*))?>")
ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))  # `&amp;` last: `&amp;lt;` is `&lt;`


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def display_name(user: Any) -> str:
    """How people see a user in mentions: the display name, else the real name, else the handle."""
    if not isinstance(user, dict):
        return ""
    profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
    return (
        _str(profile.get("display_name"))
        or _str(profile.get("real_name"))
        or _str(user.get("real_name"))
        or _str(user.get("name"))
    )


def real_name(user: Any) -> str:
    """The sender's name: the real name, else the display name, else the handle."""
    if not isinstance(user, dict):
        return ""
    profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
    return (
        _str(user.get("real_name"))
        or _str(profile.get("real_name"))
        or _str(profile.get("display_name"))
        or _str(user.get("name"))
    )


class People:
    """User id -> names, from `users.json` and the profiles messages carry themselves."""

    def __init__(self, users: Any) -> None:
        self.senders: dict[str, str] = {}
        self.mentions: dict[str, str] = {}
        for user in users if isinstance(users, list) else []:
            if isinstance(user, dict) and isinstance(user.get("id"), str):
                self.learn(user["id"], user)

    def learn(self, uid: str, user: Any) -> None:
        if real := real_name(user):
            self.senders.setdefault(uid, real)
        if shown := display_name(user):
            self.mentions.setdefault(uid, shown)

    def sender(self, rec: dict) -> str:
        uid = rec.get("user")
        if isinstance(uid, str) and uid in self.senders:
            return self.senders[uid]
        return real_name(rec.get("user_profile")) or (uid.strip() if isinstance(uid, str) else "")

    def text(self, raw: str) -> str:
        text = TOKEN.sub(self._token, raw)
        for entity, char in ENTITIES:
            text = text.replace(entity, char)
        return text

    def _token(self, m: re.Match) -> str:
        kind, target, label = m.group(1), m.group(2), m.group(3)
        if kind == "@":
            return "@" + (self.mentions.get(target) or label or target)
        if kind == "#":
            return "#" + (label or target)
        if kind == "!":  # <!here>, <!channel>, <!subteam^S1|@team>, <!date^...|fallback>
            return label or "@" + target.split("^")[0]
        return label or target.removeprefix("mailto:")
