"""chatclone: turn your chat logs into a local language model that talks like you."""

__version__ = "0.1.0"
