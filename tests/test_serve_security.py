"""Other web pages cannot drive a key-less `chatclone serve`: a POST must be JSON (no
preflight-free `text/plain`), a foreign `Origin` is refused unless `--allow-origin` lets it in,
a `Host` that is not this server's (DNS rebinding) is refused, and every response carries the
security headers. The browser part runs a real Chromium against the server."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from test_serve import serving

from chatclone.inference.engine import ReplyEngine
from chatclone.serving.serve import ServeConfig

pytest.importorskip("uvicorn")
from chatclone.serving.guard import Guard, host_name  # noqa: E402  (needs the serve extra)

BODY = '{"messages": [{"role": "user", "content": "Do you like pizza?"}], "max_tokens": 4}'


class Counting(ReplyEngine):
    """The engine, counting the replies it generates: a refused request never gets one."""

    calls = 0

    def generate(self, *args, **kw):
        Counting.calls += 1
        return super().generate(*args, **kw)


@pytest.fixture(scope="module")
def engine(tiny_model) -> Counting:
    from chatclone.training.models import load_base

    model, tokenizer = load_base(str(tiny_model))
    return Counting(model.eval(), tokenizer)


@pytest.fixture(scope="module")
def url(engine):
    with serving(engine, allow_origin=["http://localhost:3000"], allow_host=["chat.lan"]) as base:
        yield base


def send(url: str, method: str = "POST", path: str = "/v1/chat/completions", **headers):
    kind = headers.pop("kind", "application/json")
    content = BODY if method == "POST" else None
    sent = {**({"content-type": kind} if kind else {}), **headers}
    return httpx.request(method, f"{url}{path}", content=content, headers=sent, timeout=30)


@pytest.mark.parametrize("kind", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_post_that_is_not_json_gets_415_and_generates_nothing(url, kind):
    before = Counting.calls
    response = send(url, kind=kind)
    assert response.status_code == 415
    assert response.json()["error"]["message"] == (
        f"Content-Type {(kind or 'missing')}: send the body as JSON with "
        "'Content-Type: application/json'"
    )
    assert Counting.calls == before
    assert send(url, kind="application/json; charset=utf-8").status_code == 200


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/models", "/health", "/"])
@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1"])
def test_a_foreign_origin_gets_403(url, path, origin):
    before = Counting.calls
    response = send(url, "POST" if path.endswith("completions") else "GET", path, origin=origin)
    assert response.status_code == 403
    assert response.json()["error"] == {
        "message": f"pages from {origin!r} may not use this server; to let that page in, start "
        f"chatclone serve with --allow-origin {origin}",
        "type": "forbidden_origin",
        "code": 403,
    }
    assert "access-control-allow-origin" not in response.headers
    assert Counting.calls == before


def test_the_own_origin_and_an_allowed_origin_get_in_and_cors_only_for_the_allowed(url):
    assert send(url, origin=url).status_code == 200  # the chat page itself
    assert "access-control-allow-origin" not in send(url, origin=url).headers
    allowed = send(url, origin="http://localhost:3000")
    assert allowed.status_code == 200 and allowed.json()["choices"][0]["message"]["content"]
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:3000"
    preflight = {
        "origin": "http://localhost:3000",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,authorization",
    }
    answer = send(url, "OPTIONS", kind=None, **preflight)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "http://localhost:3000"
    foreign = send(url, "OPTIONS", kind=None, **{**preflight, "origin": "http://evil.example"})
    assert foreign.status_code == 403


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example"])
def test_a_host_that_is_not_this_server_gets_421(url, host):
    """DNS rebinding: a page of evil.example re-resolved to 127.0.0.1 sends its own name."""
    before = Counting.calls
    for method, path in [("POST", "/v1/chat/completions"), ("GET", "/"), ("GET", "/health")]:
        response = send(url, method, path, host=host)
        assert response.status_code == 421
        assert response.json()["error"]["message"] == (
            f"Host {host!r} is not a name of this server, so the request is refused (a web page "
            "may be trying to reach it by another name); to serve under that name, start "
            "chatclone serve with --allow-host NAME"
        )
    assert Counting.calls == before


def test_the_names_of_this_server_are_answered(url):
    port = url.rsplit(":", 1)[1]
    for host in ["localhost", f"localhost:{port}", f"[::1]:{port}", "127.0.0.1", "chat.lan:80"]:
        assert send(url, "GET", "/health", host=host).status_code == 200, host


def test_bound_to_all_addresses_any_address_literal_is_answered_but_names_are_not():
    guard = Guard(None, ServeConfig(host="0.0.0.0", api_key="k", allow_host=["box.lan"]))
    allowed = ["192.168.1.5", "10.0.0.2", "::1", "box.lan", "localhost"]
    assert all(guard.host_allowed(host_name(h)) for h in allowed)
    assert not guard.host_allowed(host_name("evil.example:8000"))
    loopback = Guard(None, ServeConfig())
    assert not loopback.host_allowed("192.168.1.5")
    assert Guard(None, ServeConfig(allow_host=["*"])).host_allowed("anything.example")


def test_every_response_carries_the_security_headers(url):
    for response in [
        send(url, "GET", "/"),
        send(url, "GET", "/static/chat.js"),
        send(url, "GET", "/v1/models"),
        send(url),
        send(url, kind="text/plain"),
        send(url, "GET", "/", host="evil.example"),
    ]:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "no-referrer"
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy


@pytest.mark.parametrize(
    "options, message",
    [
        (
            {"allow_origin": ["localhost:3000"]},
            "--allow-origin must be an origin: scheme://host[:port], no path "
            "(e.g. http://localhost:3000) (got localhost:3000)",
        ),
        (
            {"allow_origin": ["http://localhost:3000/app"]},
            "--allow-origin must be an origin: scheme://host[:port], no path "
            "(e.g. http://localhost:3000) (got http://localhost:3000/app)",
        ),
        (
            {"allow_host": ["chat.lan:8000"]},
            "--allow-host must be a host name or address without port (e.g. chat.example.lan), "
            "or '*' (got chat.lan:8000)",
        ),
    ],
)
def test_allow_options_that_are_not_origins_or_names_are_refused(options, message):
    from chatclone.errors import ChatcloneError

    with pytest.raises(ChatcloneError) as e:
        ServeConfig(**options)
    assert str(e.value) == message


# -- a real browser ---------------------------------------------------------------------------


class Page(BaseHTTPRequestHandler):
    """Another local web app, on another port: an empty page to run scripts in."""

    def do_GET(self):
        html = b"<!doctype html><title>another app</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(html)))
        self.end_headers()
        self.wfile.write(html)

    def log_message(self, *args):
        pass


@pytest.mark.slow
def test_in_a_browser_another_page_cannot_drive_the_server_and_the_chat_page_works(engine):
    import shutil

    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("needs Chromium")
    other = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    origin = f"http://localhost:{other.server_address[1]}"
    try:
        with serving(engine, max_new_tokens=8, allow_origin=["http://allowed.example"]) as url:
            with sync_api.sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                page = browser.new_page()
                page.goto(f"{origin}/")
                before = Counting.calls
                # The preflight-free kind of POST any page may send anywhere: refused unread.
                status = page.evaluate(
                    "([url, body]) => fetch(url + '/v1/chat/completions', {method: 'POST', "
                    "mode: 'no-cors', headers: {'Content-Type': 'text/plain'}, body})"
                    ".then(r => r.type)",
                    [url, BODY],
                )
                assert status == "opaque"
                # A JSON POST needs a preflight, which a foreign origin does not pass.
                error = page.evaluate(
                    "([url, body]) => fetch(url + '/v1/chat/completions', {method: 'POST', "
                    "headers: {'Content-Type': 'application/json'}, body})"
                    ".then(r => 'read ' + r.status, e => e.name)",
                    [url, BODY],
                )
                assert error == "TypeError"
                assert Counting.calls == before  # neither got a reply generated
                # The chat page itself: no policy violation, and a reply comes back.
                problems: list[str] = []
                chat = browser.new_page()
                chat.on(
                    "console",
                    lambda m: (
                        problems.append(m.text)
                        if m.type == "error" and not m.location["url"].endswith("/favicon.ico")
                        else None
                    ),
                )
                chat.on("pageerror", lambda e: problems.append(str(e)))
                chat.goto(url)
                sync_api.expect(chat.locator("#model")).to_have_text("run1")
                chat.fill("#message", "Do you like pizza?")
                chat.press("#message", "Enter")
                reply = chat.locator(".msg.assistant")
                sync_api.expect(reply).to_have_class("msg assistant", timeout=20000)
                assert reply.text_content() and Counting.calls == before + 1
                assert problems == []
                browser.close()
    finally:
        other.shutdown()
