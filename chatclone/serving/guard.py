"""What keeps other web pages from driving a `chatclone serve` without a key.

A browser lets any page send a "simple" cross-origin POST (`text/plain`, no preflight), and a
page whose domain re-resolves to 127.0.0.1 (DNS rebinding) even reads the replies. So every
request passes three checks before the app sees it:

- `Host` must name this server: localhost, 127.0.0.1, [::1], the bound address, or an
  `--allow-host` name (any address literal too when bound to all addresses: a rebinding page
  always comes by a domain name). Otherwise 421.
- `Origin`, when a browser sends one, must be the server's own or an `--allow-origin`. 403.
- A POST must say `Content-Type: application/json`, which no page can send to another origin
  without a CORS preflight (answered only for `--allow-origin` origins). 415.

Every response also carries headers that forbid framing, sniffing and referrers, and a
content security policy under which the chat page loads only its own files.
"""

from __future__ import annotations

import ipaddress

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chatclone.serving.options import ServeConfig
from chatclone.serving.schema import ApiError, error_response

WILDCARD = ("0.0.0.0", "::", "")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", CSP.encode()),
]


def host_name(header: str) -> str:
    """The name of a `Host` header, lower case, without port, brackets or a final dot."""
    header = header.strip().lower()
    if header.startswith("["):  # [::1]:8000
        return header[1 : header.find("]")] if "]" in header else header
    if header.count(":") == 1:  # name:port (more colons: a bare IPv6 address)
        header = header.split(":")[0]
    return header.rstrip(".")


def is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class Guard:
    """ASGI middleware: the Host, Origin and Content-Type checks, and the security headers."""

    def __init__(self, app: ASGIApp, cfg: ServeConfig):
        self.app = app
        bound = host_name(f"[{cfg.host}]" if ":" in cfg.host else cfg.host)
        self.any_host = "*" in cfg.allow_host
        self.any_address = bound in WILDCARD
        self.hosts = {"localhost", "127.0.0.1", "::1", bound, *map(host_name, cfg.allow_host)}
        self.origins = {o.lower() for o in cfg.allow_origin}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self.check(scope)
        except ApiError as e:
            await error_response(e)(scope, receive, _with_security_headers(send))
            return
        await self.app(scope, receive, _with_security_headers(send))

    def check(self, scope: Scope) -> None:
        headers = Headers(scope=scope)
        host = headers.get("host")
        if host is not None and not self.host_allowed(host_name(host)):
            raise ApiError(
                421,
                f"Host {host[:100]!r} is not a name of this server, so the request is refused "
                "(a web page may be trying to reach it by another name); to serve under that "
                "name, start chatclone serve with --allow-host NAME",
                "misdirected_request",
            )
        origin = headers.get("origin")
        if origin is not None and not self.origin_allowed(origin, scope["scheme"], host):
            raise ApiError(
                403,
                f"pages from {origin[:100]!r} may not use this server; to let that page in, "
                f"start chatclone serve with --allow-origin {origin[:100]}",
                "forbidden_origin",
            )
        if scope["method"] == "POST":
            kind = headers.get("content-type", "").split(";")[0].strip().lower()
            if kind != "application/json":
                raise ApiError(
                    415,
                    f"Content-Type {kind or 'missing'!s}: send the body as JSON with "
                    "'Content-Type: application/json'",
                    "invalid_request_error",
                )

    def host_allowed(self, name: str) -> bool:
        if self.any_host or name in self.hosts:
            return True
        return self.any_address and is_address(name)

    def origin_allowed(self, origin: str, scheme: str, host: str | None) -> bool:
        origin = origin.strip().lower().rstrip("/")
        own = host is not None and origin == f"{scheme}://{host.strip().lower()}"
        return own or origin in self.origins


def _with_security_headers(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            have = {name.lower() for name, _ in message.get("headers", [])}
            extra = [(k, v) for k, v in SECURITY_HEADERS if k not in have]
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return sending
