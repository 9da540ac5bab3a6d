"""The chat page in a real headless Chromium: type, watch the reply stream in, reset; the
settings go with each request; stop a reply; regenerate the last one; switch runs."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import httpx
import pytest
from conftest import copy_run
from test_serve import Paced, serving  # the server harness of the API tests

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (apt-get install chromium)"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")

ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def engine(tiny_model):
    from chatclone.inference.engine import ReplyEngine
    from chatclone.training.models import load_base

    model, tokenizer = load_base(str(tiny_model))
    return ReplyEngine(Paced(model.eval(), delay=0.05), tokenizer)  # slow enough to watch


@pytest.fixture(scope="module")
def slow_engine(tiny_model):
    """0.2 s a token: a 30-token reply takes 6 s, time enough to press Stop half-way."""
    from chatclone.inference.engine import ReplyEngine
    from chatclone.training.models import load_base

    model, tokenizer = load_base(str(tiny_model))
    return ReplyEngine(Paced(model.eval(), delay=0.2), tokenizer)


def completion_requests(page, url: str) -> list[dict]:
    """The bodies of the page's chat completion requests, filled as it sends them."""
    bodies: list[dict] = []
    page.on(
        "request",
        lambda r: (
            bodies.append(json.loads(r.post_data))
            if r.url == f"{url}/v1/chat/completions"
            else None
        ),
    )
    return bodies


def wait_until(check, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_type_a_message_see_the_reply_stream_in_and_reset(engine):
    with (
        serving(engine, max_new_tokens=30, min_new_tokens=30) as url,
        sync_api.sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        offsite: list[str] = []
        page.on("request", lambda r: offsite.append(r.url) if not r.url.startswith(url) else None)
        page.goto(url)
        sync_api.expect(page.locator("#model")).to_have_text("run1")
        page.fill("#message", "Do you like pizza?")
        page.press("#message", "Enter")
        sync_api.expect(page.locator(".msg.user")).to_have_text("Do you like pizza?")
        reply = page.locator(".msg.assistant")
        # Streaming: the bubble shows part of the reply while it is still being generated.
        partial = page.wait_for_function(
            "() => { const b = document.querySelector('.msg.assistant');"
            " return b && b.classList.contains('pending') && b.textContent; }"
        ).json_value()
        sync_api.expect(reply).to_have_class("msg assistant", timeout=20000)
        final = reply.text_content()
        assert partial and final.startswith(partial) and len(final) > len(partial)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "chat-page.png"))
        page.reload()  # the conversation survives a reload
        sync_api.expect(page.locator(".msg")).to_have_count(2)
        page.click("#reset")
        sync_api.expect(page.locator(".msg")).to_have_count(0)
        browser.close()
        assert offsite == []  # works offline: nothing fetched from anywhere else


def test_settings_go_with_each_request_and_regenerate_replaces_the_last_reply(engine):
    with (
        serving(engine, max_new_tokens=30, min_new_tokens=30) as url,
        sync_api.sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        bodies = completion_requests(page, url)
        page.goto(url)
        # The fields start from the server's own defaults (greedy: temperature 0; 30 tokens).
        sync_api.expect(page.locator("#temperature")).to_have_value("0")
        sync_api.expect(page.locator("#max-tokens")).to_have_value("30")
        sync_api.expect(page.locator("#regenerate")).to_be_hidden()
        page.click("#settings summary")
        page.fill("#temperature", "0.7")
        page.fill("#max-tokens", "6")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "chat-page-settings.png"))
        page.fill("#message", "<b>Do you like pizza?</b>")
        page.press("#message", "Enter")
        sync_api.expect(page.locator(".msg.assistant")).to_have_class("msg assistant")
        # What was typed (like any reply) is shown as text, never as HTML.
        sync_api.expect(page.locator(".msg.user")).to_have_text("<b>Do you like pizza?</b>")
        assert page.locator("#log b").count() == 0
        [first] = bodies
        assert first["stream"] is True
        assert (first["temperature"], first["max_tokens"]) == (0.7, 6)
        assert first["messages"] == [{"role": "user", "content": "<b>Do you like pizza?</b>"}]
        page.reload()  # the settings are kept too
        sync_api.expect(page.locator("#temperature")).to_have_value("0.7")
        sync_api.expect(page.locator("#max-tokens")).to_have_value("6")
        page.click("#regenerate")
        wait_until(lambda: len(bodies) == 2)
        sync_api.expect(page.locator(".msg.pending")).to_have_count(0, timeout=20000)
        # The same conversation without its last reply, with a fresh seed; one reply again.
        again = bodies[1]
        assert again["messages"] == first["messages"] and isinstance(again["seed"], int)
        assert (again["temperature"], again["max_tokens"]) == (0.7, 6)
        sync_api.expect(page.locator(".msg")).to_have_count(2)
        sync_api.expect(page.locator(".msg").nth(1)).to_have_class("msg assistant")
        sync_api.expect(page.locator("#regenerate")).to_be_visible()
        # An empty field leaves that setting to the server: it is not sent.
        page.click("#settings summary")
        page.fill("#max-tokens", "")
        page.fill("#message", "And pasta?")
        page.press("#message", "Enter")
        wait_until(lambda: len(bodies) == 3)
        assert "max_tokens" not in bodies[2] and bodies[2]["temperature"] == 0.7
        sync_api.expect(page.locator(".msg.pending")).to_have_count(0, timeout=20000)
        browser.close()


def test_stop_ends_a_streaming_reply_and_the_server_stops_generating(slow_engine):
    with (
        serving(slow_engine, max_new_tokens=30, min_new_tokens=30) as url,
        sync_api.sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(url)
        sync_api.expect(page.locator("#max-tokens")).to_have_value("30")
        page.fill("#message", "Do you like pizza?")
        page.press("#message", "Enter")
        sync_api.expect(page.locator("#stop")).to_be_visible()
        sync_api.expect(page.locator("#send")).to_be_hidden()
        page.wait_for_function(
            "() => { const b = document.querySelector('.msg.assistant.pending');"
            " return b && b.textContent; }"
        )
        page.click("#stop")  # at most a few of the 30 tokens (6 s) are out
        sync_api.expect(page.locator(".msg.pending")).to_have_count(0)
        sync_api.expect(page.locator("#send")).to_be_visible()
        sync_api.expect(page.locator("#stop")).to_be_hidden()
        sync_api.expect(page.locator("#status")).to_contain_text("Stopped")
        started = time.monotonic()
        wait_until(lambda: httpx.get(f"{url}/health").json()["generating"] == 0, timeout=5)
        assert time.monotonic() - started < 3  # cancelled, not run to its 30 tokens
        partial = page.locator(".msg.assistant").text_content()
        assert partial  # the part that arrived stays in the conversation
        saved = json.loads(page.evaluate("localStorage.getItem('chatclone.messages')"))
        assert saved[-1] == {"role": "assistant", "content": partial}
        # Stopped before any text: no empty reply, and the message is back in the field.
        page.click("#reset")
        page.fill("#message", "Hi")
        page.press("#message", "Enter")
        page.keyboard.press("Escape")
        sync_api.expect(page.locator(".msg")).to_have_count(0)
        sync_api.expect(page.locator("#message")).to_have_value("Hi")
        browser.close()


def test_the_run_selector_lists_the_runs_and_switching_starts_a_new_conversation(
    engine, short_run, tmp_path
):
    runs = tmp_path / "runs"
    for name in ("run1", "run2"):
        copy_run(short_run, runs, name)
    with (
        serving(engine, runs_dir=str(runs), max_new_tokens=8, min_new_tokens=8) as url,
        sync_api.sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        offsite: list[str] = []
        page.on("request", lambda r: offsite.append(r.url) if not r.url.startswith(url) else None)
        bodies = completion_requests(page, url)
        page.goto(url)
        select = page.locator("#run")
        sync_api.expect(select.locator("option")).to_have_text(["run1", "run2"])
        sync_api.expect(select).to_be_visible()
        sync_api.expect(select).to_have_value("run1")
        sync_api.expect(page.locator("#model")).to_have_text("run1")
        page.fill("#message", "Do you like pizza?")
        page.press("#message", "Enter")
        sync_api.expect(page.locator(".msg.assistant")).to_have_class(
            "msg assistant", timeout=20000
        )
        assert bodies[0]["model"] == "run1"
        page.select_option("#run", "run2")
        # A new conversation with the other run, which is named on the page and in each request.
        sync_api.expect(page.locator(".msg")).to_have_count(0)
        sync_api.expect(page.locator("#model")).to_have_text("run2")
        sync_api.expect(page.locator("#status")).to_have_text("New conversation with run2.")
        page.fill("#message", "Hi")
        page.press("#message", "Enter")
        sync_api.expect(page.locator(".msg.assistant")).to_have_class(
            "msg assistant", timeout=20000
        )
        assert bodies[1]["model"] == "run2"
        assert bodies[1]["messages"] == [{"role": "user", "content": "Hi"}]
        sync_api.expect(page.locator("#status")).to_have_text("")  # answered, no error
        page.reload()  # the chosen run is kept with its conversation
        sync_api.expect(page.locator("#model")).to_have_text("run2")
        sync_api.expect(select.locator("option")).to_have_text(["run1", "run2"])
        sync_api.expect(select).to_have_value("run2")
        sync_api.expect(page.locator(".msg")).to_have_count(2)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "chat-page-runs.png"))
        browser.close()
    assert offsite == []
