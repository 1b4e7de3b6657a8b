"""Property-based fuzz of the loader: any input gives a register or a clear error."""
from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmodel import InputError, Register, load_register
from riskmodel.inputs.register import KNOWN_COLUMNS, REQUIRED_COLUMNS

cells = st.one_of(st.just(""), st.text(max_size=8), st.integers(-10, 10**6).map(str),
                  st.floats(allow_nan=True, allow_infinity=True).map(str),
                  st.sampled_from(["ransomware", "practice", "nhs", "mfa", "mfa (planned)", "yes", "£1,000", "50%"]))
columns = st.lists(st.sampled_from(sorted(KNOWN_COLUMNS) + ["junk", ""]), min_size=0, max_size=12)


def _check(text: str | bytes, suffix: str = ".csv") -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"register{suffix}"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
        try:
            reg = load_register(path)
        except InputError as exc:
            assert exc.problems and all(p.expected for p in exc.problems)
            str(exc)
        else:
            assert isinstance(reg, Register) and reg.risks


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_any_bytes(data):
    _check(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extra=columns, rows=st.lists(st.lists(cells, min_size=0, max_size=20), max_size=5))
def test_structured_registers(extra, rows):
    header = list(REQUIRED_COLUMNS) + extra
    lines = [",".join(header)] + [",".join('"' + c.replace('"', '""') + '"' for c in r) for r in rows]
    _check("\n".join(lines))


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_as_excel(data):
    _check(data, ".xlsx")
