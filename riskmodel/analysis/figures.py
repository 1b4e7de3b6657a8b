"""The base of typed results: frozen dataclasses written to JSON by one rule (:class:`Figures`).

:meth:`Figures.to_json` writes one key per field, in field order, so the order of the fields is
the order of the keys in every JSON the package writes (``docs/results.schema.json``).
"""
from __future__ import annotations

from dataclasses import fields
from typing import Any

#: Field metadata: leave the key out of the JSON when the value is None (see :meth:`Figures.to_json`).
OPTIONAL = {"optional": True}
#: Field metadata: write the keys of this (typed) value in its place rather than under its name.
FLATTEN = {"flatten": True}


def plain(value: Any) -> Any:
    """A value as JSON-ready data: typed figures by their ``to_json()``, tuples as lists, dicts
    copied (their values made plain too); everything else as it is (floats are never rounded)."""
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


class Figures:
    """Base of the typed results: :meth:`to_json` writes one key per dataclass field, in field order."""

    def to_json(self) -> dict:
        """The JSON object of these figures (the one path from typed results to JSON).

        A field with :data:`OPTIONAL` metadata is left out when None; one with :data:`FLATTEN`
        metadata has its own keys written in its place (nothing when None)."""
        out: dict = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None and (f.metadata.get("optional") or f.metadata.get("flatten")):
                continue
            if f.metadata.get("flatten"):
                out.update(value.to_json())
            else:
                out[f.name] = plain(value)
        return out


__all__ = ["Figures", "plain", "OPTIONAL", "FLATTEN"]
