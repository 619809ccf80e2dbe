"""Errors a user can cause. The CLI prints them as one line; anything else is a bug."""


class WorkbenchError(Exception):
    """A user-facing error: the message names what is wrong and how to fix it."""
