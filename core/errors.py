"""Errors that carry a sentence a person can act on.

Channels turn them into an HTTP 4xx body or a CLI exit code; nothing below the
channels formats user-facing errors itself.
"""

from __future__ import annotations


class FragranceError(Exception):
    """Base class: the message is shown to the user as it is."""


class CatalogFormatError(FragranceError):
    """The catalog file cannot be read at all (missing columns, broken CSV, wrong encoding)."""


class IndexMissingError(FragranceError):
    """No search index has been built in FRAGRANCE_HOME yet."""
