"""The one error type users see: the CLI prints it as `Error: <message>` and exits 1."""


class ChatcloneError(Exception):
    """A problem with the user's input or environment, with the fix in the message."""
