"""Every JSON the package writes matches docs/results.schema.json, and the schema lists exactly the
keys the code writes (no undocumented key, no stale one)."""
from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from riskmodel.analysis.schema import SCHEMA_PATH, ResultsSchemaError, load_schema, read_results, validate_results
from riskmodel.cli import main
from riskmodel.outputs.reporting import QuarterlyReport

from .conftest import REGISTERS, ROOT

TRIALS = "2000"
PRACTICES = ("meadowbank-average", "northgate-multisite", "riverside-rural")
SHIPPED = sorted([*REGISTERS.glob("*/2026Q*.csv"), *REGISTERS.glob("*/2026Q*.xlsx")])


def run_json(args: list[str], tmp_path: Path) -> dict:
    out = tmp_path / "out.json"
    res = CliRunner().invoke(main, [*args, "--json", str(out)])
    assert res.exit_code == 0, res.output
    return json.loads(out.read_text(encoding="utf-8"))


def simulate_json(register: Path, tmp_path: Path, *extra: str) -> dict:
    return run_json(["simulate", str(register), "--trials", TRIALS, "--seed", "3", *extra], tmp_path)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, dict]:
    """Each shipped practice's report results.json: 2026Q3, then 2026Q4 against it (few trials)."""
    out = {}
    for practice in PRACTICES:
        previous = None
        for quarter in ("2026Q3", "2026Q4"):
            register = next(p for p in SHIPPED if p.parent.name == practice and p.stem == quarter)
            report = QuarterlyReport.build(register=str(register), quarter=quarter, trials=1_000, seed=4,
                                           previous_results=previous)
            folder = tmp_path_factory.mktemp(f"{practice}-{quarter}")
            report.save(folder)
            previous = str(folder / "results.json")
            out[f"{practice}-{quarter}"] = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    return out


# ---- the schema itself --------------------------------------------------------------------------

def test_docs_copy_is_the_shipped_schema():
    docs = ROOT / "docs" / "results.schema.json"
    assert docs.read_bytes() == SCHEMA_PATH.read_bytes(), (
        "docs/results.schema.json differs from riskmodel/data/results.schema.json (the source of truth): "
        "cp riskmodel/data/results.schema.json docs/")


def test_the_schema_is_a_valid_draft_2020_12_schema_and_describes_every_key():
    from jsonschema import Draft202012Validator

    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    undescribed = [path for path, node in _properties(schema) if not node.get("description")]
    assert undescribed == []


def test_reports_md_links_the_schema():
    assert "results.schema.json" in (ROOT / "docs" / "reports.md").read_text(encoding="utf-8")


# ---- every output validates ----------------------------------------------------------------------

@pytest.mark.parametrize("register", SHIPPED, ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_simulate_json_of_every_shipped_quarter_validates(register, tmp_path):
    with_policy = simulate_json(register, tmp_path)
    validate_results(with_policy, "simulate")
    assert "policy" in with_policy
    without = simulate_json(register, tmp_path, "--no-policy")
    validate_results(without, "simulate")


def test_uninsured_unlimited_and_thresholds_validate(tmp_path):
    riverside = simulate_json(REGISTERS / "riverside-rural" / "2026Q4.csv", tmp_path)
    assert riverside["policy"]["insured"] is False and riverside["limit_for_1_in_100"] is None
    validate_results(riverside, "simulate")

    folder = tmp_path / "meadowbank"
    shutil.copytree(REGISTERS / "meadowbank-average", folder)
    pol = folder / "policy.toml"
    pol.write_text(pol.read_text(encoding="utf-8").replace("aggregate_limit = 50000", 'aggregate_limit = "unlimited"'),
                   encoding="utf-8")
    unlimited = simulate_json(folder / "2026Q4.csv", tmp_path, "--threshold", "1234", "--threshold", "99999")
    assert unlimited["policy"]["aggregate_limit"] == "unlimited"
    assert list(unlimited["prob_exceed"]) == ["1234", "99999"]
    validate_results(unlimited, "simulate")


def test_compare_policies_json_validates(tmp_path):
    folder = REGISTERS / "northgate-multisite"
    data = run_json(["compare-policies", str(folder / "2026Q4.xlsx"), str(folder / "policy.toml"),
                     str(folder / "2026Q3.policy.toml"), str(REGISTERS / "riverside-rural" / "policy.toml"),
                     "--trials", TRIALS], tmp_path)
    validate_results(data, "compare")
    with pytest.raises(ResultsSchemaError):
        validate_results(data, "simulate")


def test_every_report_results_json_validates(reports):
    for name, doc in reports.items():
        validate_results(doc, "report", where=name)
        assert ("attribution" in doc) == name.endswith("2026Q4")
    with pytest.raises(ResultsSchemaError, match="actions: not a key of the schema"):
        validate_results(reports["riverside-rural-2026Q4"], "simulate")    # a report is not simulate JSON


# ---- what fails, and how it says so ---------------------------------------------------------------

def _fails(doc: dict, kind: str = "simulate") -> str:
    with pytest.raises(ResultsSchemaError) as info:
        validate_results(doc, kind, where="out.json")
    return str(info.value)


@pytest.fixture(scope="module")
def meadowbank(tmp_path_factory) -> dict:
    return simulate_json(REGISTERS / "meadowbank-average" / "2026Q4.csv", tmp_path_factory.mktemp("m"))


def test_a_renamed_key_names_both_paths(meadowbank):
    doc = copy.deepcopy(meadowbank)
    doc["by_risk"][2]["p99_se_"] = doc["by_risk"][2].pop("p99_se")
    msg = _fails(doc)
    assert msg.startswith("out.json does not match the simulate results schema")
    assert "by_risk[2].p99_se: missing" in msg and "by_risk[2].p99_se_: not a key of the schema" in msg


def test_a_missing_top_level_key_and_a_missing_who_pays_key(meadowbank):
    doc = copy.deepcopy(meadowbank)
    del doc["gross"]
    assert "gross: missing" in _fails(doc)
    doc = copy.deepcopy(meadowbank)
    del doc["gap_table"]                  # the who-pays keys come all together
    assert "gap_table: missing" in _fails(doc)


def test_a_negative_amount_names_its_path(meadowbank):
    doc = copy.deepcopy(meadowbank)
    doc["gap_table"][3]["retained"] = -5.0
    assert "gap_table[3].retained: expected at least 0, got -5.0" in _fails(doc)
    doc = copy.deepcopy(meadowbank)
    doc["policy"]["aggregate_limit"] = -1.0
    assert 'policy.aggregate_limit: expected a number (at least 0) or "unlimited", got -1.0' in _fails(doc)


def test_a_wrong_type_names_its_path(meadowbank):
    doc = copy.deepcopy(meadowbank)
    doc["retained"]["p99"] = "44309"
    assert 'retained.p99: expected a number, got "44309"' in _fails(doc)
    doc = copy.deepcopy(meadowbank)
    doc["policy"]["aggregate_limit"] = "infinite"           # only "unlimited" is allowed as a string
    assert 'policy.aggregate_limit: expected a number (at least 0) or "unlimited", got "infinite"' in _fails(doc)
    doc = copy.deepcopy(meadowbank)
    doc["trials"] = 100.5
    assert "trials: expected a whole number, got 100.5" in _fails(doc)


def test_an_unknown_kind_is_refused(meadowbank):
    with pytest.raises(ValueError, match="kind must be one of"):
        validate_results(meadowbank, "dashboard")


def test_read_results_names_the_file(reports, tmp_path):
    doc = copy.deepcopy(reports["meadowbank-average-2026Q4"])
    doc["controls_ranking"][0]["saving_per_pound"] = "a lot"
    f = tmp_path / "results.json"
    f.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ResultsSchemaError, match=rf"{f.name} does not match the report results schema.*"
                                                 r"controls_ranking\[0\]\.saving_per_pound: expected a number or null"):
        read_results(f)


# ---- the schema lists exactly the keys the code writes --------------------------------------------

def _resolve(node: dict, schema: dict) -> dict:
    while "$ref" in node and len(node) <= 3:       # a bare reference (with its own description)
        node = {**schema["$defs"][node["$ref"].split("/")[-1]], **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _branches(node: dict, schema: dict) -> list[dict]:
    """The node and everything it is made of (references, allOf and anyOf branches)."""
    node = _resolve(node, schema)
    out = [node]
    if "$ref" in node:
        out += _branches({"$ref": node["$ref"]}, schema)
    for key in ("allOf", "anyOf"):
        for sub in node.get(key, []):
            out += _branches(sub, schema)
    return out


def _schema_paths(node: dict, schema: dict, prefix: str, seen: set[str]) -> None:
    """Every key path the schema documents: ``a.b``, ``list[].key``, ``map.*.key``."""
    for part in _branches(node, schema):
        for name, sub in part.get("properties", {}).items():
            path = f"{prefix}.{name}" if prefix else name
            seen.add(path)
            _schema_paths(sub, schema, path, seen)
        if isinstance(part.get("additionalProperties"), dict):
            _schema_paths(part["additionalProperties"], schema, f"{prefix}.*", seen)
        if isinstance(part.get("items"), dict):
            _schema_paths(part["items"], schema, f"{prefix}[]", seen)


def _doc_paths(value, node: dict, schema: dict, prefix: str, seen: set[str]) -> None:
    """Every key path a document writes, named as the schema names it (maps as ``*``); a key the
    schema does not know is named as written."""
    parts = _branches(node, schema)
    if isinstance(value, dict):
        props = {k: v for p in parts for k, v in p.get("properties", {}).items()}
        extra = next((p["additionalProperties"] for p in parts if isinstance(p.get("additionalProperties"), dict)), None)
        for k, v in value.items():
            if k in props:
                path = f"{prefix}.{k}" if prefix else k
                seen.add(path)
                _doc_paths(v, props[k], schema, path, seen)
            elif extra is not None:
                _doc_paths(v, extra, schema, f"{prefix}.*", seen)
            else:
                seen.add(f"{prefix}.{k}" if prefix else k)
    elif isinstance(value, list):
        items = next((p["items"] for p in parts if isinstance(p.get("items"), dict)), {})
        for v in value:
            _doc_paths(v, items, schema, f"{prefix}[]", seen)


def _properties(schema: dict):
    """(path, node) of every property the schema declares, in every $def."""
    for name, d in schema["$defs"].items():
        stack = [(name, d)]
        while stack:
            path, node = stack.pop()
            for k, sub in node.get("properties", {}).items():
                yield f"{path}.{k}", sub
                stack.append((f"{path}.{k}", sub))
            for key in ("items", "additionalProperties"):
                if isinstance(node.get(key), dict):
                    stack.append((f"{path}[]", node[key]))
            for key in ("anyOf", "allOf"):
                stack += [(path, sub) for sub in node.get(key, [])]


def test_the_schema_lists_every_key_written_and_no_other(reports, meadowbank, tmp_path):
    schema = load_schema()
    docs = {"simulate": [meadowbank,
                         simulate_json(REGISTERS / "riverside-rural" / "2026Q4.csv", tmp_path),
                         simulate_json(REGISTERS / "northgate-multisite" / "2026Q4.xlsx", tmp_path, "--no-policy")],
            "report": list(reports.values()),
            "compare": [run_json(["compare-policies", str(REGISTERS / "riverside-rural" / "2026Q4.csv"),
                                  str(REGISTERS / "meadowbank-average" / "policy.toml"), "--trials", TRIALS], tmp_path)]}
    for kind, outputs in docs.items():
        documented: set[str] = set()
        _schema_paths({"$ref": f"#/$defs/{kind}"}, schema, "", documented)
        written: set[str] = set()
        for doc in outputs:
            _doc_paths(doc, {"$ref": f"#/$defs/{kind}"}, schema, "", written)
        assert sorted(written - documented) == [], f"{kind}: keys written but not in the schema"
        stale = documented - written
        if kind == "simulate":       # the report writes it; a simulation never does
            stale -= {"policy.warranty_denial_probability"}
        assert sorted(stale) == [], f"{kind}: keys in the schema that no output writes"
