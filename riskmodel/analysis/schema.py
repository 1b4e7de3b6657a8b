"""The declared shape of the JSON the package writes, checked before it is written or read.

``riskmodel/data/results.schema.json`` (JSON Schema draft 2020-12; its documented copy is
``docs/results.schema.json``) describes, key by key:

* ``simulate``: what ``riskmodel simulate --json`` writes (:meth:`SimulationResult.summary`);
* ``report``: a quarterly report's ``results.json`` (the simulate keys and the report's own);
* ``compare``: what ``riskmodel compare-policies --json`` writes.

:func:`validate_results` checks a document against one of them and says which key is wrong and
what was expected; :func:`read_results` reads a ``results.json`` and checks it (the review and a
report's previous quarter read through it). ``jsonschema`` is imported only when checking.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any, Mapping

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "data" / "results.schema.json"
KINDS = ("simulate", "report", "compare")
#: At most this many problems are listed in one error.
MAX_PROBLEMS = 5


class ResultsSchemaError(ValueError):
    """A results document does not match ``docs/results.schema.json``.

    ``problems`` lists ``(key path, what was expected)``; the message names the document (its
    file, when read from one) and each key path, e.g. ``by_risk[3].mean``."""

    def __init__(self, where: str, kind: str, problems: list[tuple[str, str]]):
        self.where, self.kind, self.problems = where, kind, problems
        lines = "; ".join(f"{path or '(top level)'}: {what}" for path, what in problems)
        super().__init__(f"{where} does not match the {kind} results schema (docs/results.schema.json): {lines}")


@functools.lru_cache(maxsize=1)
def load_schema() -> dict:
    """The results schema (parsed once)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=len(KINDS))
def _validator(kind: str):
    from jsonschema import Draft202012Validator

    schema = load_schema()
    if kind not in schema["$defs"] or kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
    top = {k: v for k, v in schema.items() if k != "anyOf"}
    return Draft202012Validator({**top, "$ref": f"#/$defs/{kind}"})


def key_path(parts) -> str:
    """``("by_risk", 3, "mean")`` as ``by_risk[3].mean``."""
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


_TYPE_WORDS = {"number": "a number", "integer": "a whole number", "string": "a string", "boolean": "true or false",
               "null": "null", "object": "an object", "array": "a list"}


def _got(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return f"{'an object' if isinstance(value, dict) else 'a list'}"
    return json.dumps(value)[:60]


def _describe(sub: Mapping) -> str:
    """One allowed kind of value, in words: ``a number (at least 0)``, ``"unlimited"``, ``null``."""
    if "const" in sub:
        return json.dumps(sub["const"])
    if "$ref" in sub:
        return "an object"
    types = sub.get("type", [])
    words = " or ".join(_TYPE_WORDS.get(t, t) for t in ([types] if isinstance(types, str) else types)) or "a value"
    return words + (f" (at least {sub['minimum']})" if "minimum" in sub else "")


def _expected(error) -> tuple[str, str]:
    """(key path, what was expected) of one jsonschema error, in plain words."""
    path = key_path(error.absolute_path)
    v, kind = error.validator_value, error.validator
    if kind == "required":
        missing = [k for k in v if isinstance(error.instance, dict) and k not in error.instance]
        return key_path([*error.absolute_path, missing[0]]) if missing else path, "missing (a required key)"
    if kind == "dependentRequired" and isinstance(error.instance, dict):
        missing = sorted({d for k, deps in v.items() if k in error.instance for d in deps if d not in error.instance})
        return (key_path([*error.absolute_path, missing[0]]) if missing else path,
                "missing (it is written together with the other keys of its group)")
    if kind in ("additionalProperties", "unevaluatedProperties"):
        known = error.schema.get("properties", {})
        extra = sorted(k for k in error.instance if k not in known) if isinstance(error.instance, dict) else []
        name = extra[0] if extra else "?"
        return key_path([*error.absolute_path, name]), "not a key of the schema (renamed or undocumented?)"
    if kind == "type":
        types = [v] if isinstance(v, str) else list(v)
        return path, f"expected {' or '.join(_TYPE_WORDS.get(t, t) for t in types)}, got {_got(error.instance)}"
    if kind == "minimum":
        return path, f"expected at least {v}, got {_got(error.instance)}"
    if kind == "maximum":
        return path, f"expected at most {v}, got {_got(error.instance)}"
    if kind in ("enum", "const"):
        allowed = v if kind == "enum" else [v]
        return path, f"expected one of {', '.join(json.dumps(a) for a in allowed)}, got {_got(error.instance)}"
    if kind in ("anyOf", "oneOf"):
        # inside the branch of the instance's own kind (a policy object, not null), else every branch
        inner = [e for e in error.context or ()
                 if not (e.validator == "type" and list(e.absolute_path) == list(error.absolute_path))]
        if isinstance(error.instance, (dict, list)) and inner:
            return _expected(max(inner, key=lambda e: len(e.absolute_path)))
        return path, f"expected {' or '.join(_describe(sub) for sub in v)}, got {_got(error.instance)}"
    return path, error.message


def validate_results(doc: Mapping, kind: str = "simulate", *, where: str = "results") -> None:
    """Check ``doc`` against the ``kind`` part of the results schema.

    Parameters
    ----------
    doc : mapping
        The JSON document, as written (``json.loads`` of it, or the dict about to be written).
    kind : {"simulate", "report", "compare"}
    where : str
        What to call the document in the error (its file, or "results of <register>").

    Raises
    ------
    ResultsSchemaError
        Naming each wrong key's path (``gap_table[2].retained``) and what was expected: a missing
        or renamed key, a key the schema does not list, a wrong type, a negative amount.
    """
    errors = sorted(_validator(kind).iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    if errors:
        problems = list(dict.fromkeys(_expected(e) for e in errors))
        raise ResultsSchemaError(where, kind, problems[:MAX_PROBLEMS])


def read_results(path: str | Path, kind: str = "report") -> dict:
    """A ``results.json`` read and checked against the schema (the one reader of results files).

    Raises
    ------
    ResultsSchemaError
        If it does not match, naming the file and the key.
    OSError, ValueError
        If it cannot be read or is not JSON.
    """
    path = Path(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    validate_results(data, kind, where=str(path))
    return data


__all__ = ["SCHEMA_PATH", "KINDS", "ResultsSchemaError", "load_schema", "validate_results", "read_results", "key_path"]
