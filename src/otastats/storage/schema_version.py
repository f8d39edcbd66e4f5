"""Schema versions: what a backend does with a database older or newer than its code."""

from __future__ import annotations


class SchemaTooNew(RuntimeError):
    """The database was written by a newer otastats: it is refused, and left as it is."""


def too_new(where: str, found: int, known: int) -> SchemaTooNew:
    return SchemaTooNew(
        f"the database {where} has schema version {found}, newer than this"
        f" otastats understands ({known}); upgrade otastats"
    )
