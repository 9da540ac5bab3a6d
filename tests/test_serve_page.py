"""The chat page in a real headless Chromium: type, watch the reply stream in, reset."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
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
