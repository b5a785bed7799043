"""Errors shown to users: each names the input (file or option), the field and what was expected."""

from __future__ import annotations


class HyflexInputError(ValueError):
    """Bad user input.

    Args:
        source: the file path or command-line option the value came from.
        field: the dotted field name inside it (or the attribute name).
        message: what was wrong and what is expected.
    """

    def __init__(self, source: str | None, field: str | None, message: str):
        self.source = source
        self.field = field
        self.message = message
        where = []
        if source:
            where.append(str(source))
        if field:
            where.append(f"field '{field}'")
        prefix = ": ".join([", ".join(where)]) if where else ""
        super().__init__(f"{prefix}: {message}" if prefix else message)
