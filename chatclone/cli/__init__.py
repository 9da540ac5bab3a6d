"""The command line: `chatclone COMMAND`, one module per stage (see `main.STAGES`)."""

from chatclone.cli.main import main

__all__ = ["main"]
