"""`chatclone serve` on a port that is taken: one Error line naming the port and the fix, before
the model is loaded and before "Serving ..." is printed."""

from __future__ import annotations

import re
import socket

import pytest

from chatclone.cli.main import main
from chatclone.errors import ChatcloneError

pytest.importorskip("uvicorn")
from chatclone.serving.serve import check_port  # noqa: E402


@pytest.mark.parametrize("listening", [True, False], ids=["listening", "bound"])
def test_a_busy_port_fails_with_the_fix_before_loading_the_model(listening, tmp_path, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        if listening:
            taken.listen()
        port = taken.getsockname()[1]
        # No run folder at all: the port is checked first, so that is what the error is about.
        argv = ["serve", "--runs-dir", str(tmp_path), "--run-name", "r", "--port", str(port)]
        assert main(argv) == 1
        captured = capsys.readouterr()
        assert captured.out == ""  # no "Serving ..." announced
        assert captured.err.startswith(f"Error: port {port} on 127.0.0.1 is already in use")
        assert captured.err.count("\n") == 1
        suggested = int(re.search(r"pass a free port: --port (\d+)\n$", captured.err).group(1))
        assert suggested != port
        check_port("127.0.0.1", suggested)  # the port suggested is free


def test_a_free_port_passes():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    check_port("127.0.0.1", port)


def test_an_address_not_of_this_computer_names_the_fix():
    with pytest.raises(ChatcloneError, match=r"pass --host 127\.0\.0\.1"):
        check_port("192.0.2.1", 8000)  # TEST-NET-1: never a local address
