"""Controls mapped to Cyber Essentials and the National Data Guardian's standards."""
from __future__ import annotations

import pytest

from riskmodel.io.errors import InputError
from riskmodel.inputs.register import load_register
from riskmodel.inputs.standards import (STANDARDS, load_standards, requirement_status, standards_status,
                                 standards_text)
from riskmodel.inputs.controls import load_controls

from .conftest import risk


def test_the_shipped_mapping_has_five_and_ten_requirements_each_with_a_source():
    reqs = load_standards(None, set(load_controls()))
    ce = [r for r in reqs if r.standard == "cyber_essentials"]
    ndg = [r for r in reqs if r.standard == "ndg"]
    assert [r.id for r in ce] == ["firewalls", "secure_configuration", "security_update_management",
                                  "user_access_control", "malware_protection"]
    assert len(ndg) == 10 and [r.id for r in ndg] == [f"ndg{i}" for i in range(1, 11)]
    assert all(r.sources for r in reqs)
    served = {c for r in reqs for c in r.controls}
    assert served <= set(load_controls())


@pytest.mark.parametrize("statuses, status, controls", [
    ({"a": True, "b": False}, "in_place", ["a", "b"]),
    ({"a": False, "b": False}, "planned", ["a", "b"]),
    ({"b": False}, "planned", ["b"]),
    ({"b": True}, "in_place", ["b"]),
    ({"c": True}, "missing", []),                 # a control of the register that does not serve it
    ({}, "missing", []),
])
def test_status_logic_on_crafted_statuses(statuses, status, controls):
    assert requirement_status(("a", "b"), statuses) == (status, controls)


def test_status_json_and_plain_words():
    reqs = load_standards(None, set(load_controls()))
    out = standards_status(reqs, {"patching": True, "endpoint_protection": False})
    assert set(out) == set(STANDARDS) and len(out["cyber_essentials"]) == 5 and len(out["ndg"]) == 10
    ce = {q["id"]: q for q in out["cyber_essentials"]}
    assert ce["security_update_management"] == {"id": "security_update_management", "name": "Security update management",
                                                 "status": "in_place", "controls": ["patching"]}
    assert ce["malware_protection"]["status"] == "planned"
    assert ce["firewalls"]["status"] == "missing" and ce["firewalls"]["controls"] == []
    text = standards_text(out)
    assert "Cyber Essentials: 1 of 5 covered" in text and "Not covered by any of your controls: Firewalls" in text
    assert "Only planned: Malware protection" in text


def test_a_practice_overrides_the_mapping_beside_its_register(make_register):
    path = make_register([risk("A", controls="mfa")])
    (path.parent / "standards.csv").write_text(
        "standard,id,name,control,source\n"
        "cyber_essentials,firewalls,Firewalls <b>x</b>,mfa,our own reading\n")
    reg = load_register(path)
    out = standards_status(load_standards(path, set(reg.controls)), reg.control_status)
    assert out["cyber_essentials"] == [{"id": "firewalls", "name": "Firewalls <b>x</b>", "status": "in_place",
                                        "controls": ["mfa"]}]
    planned = standards_status(load_standards(path, set(reg.controls)), {"mfa": False})
    assert "&lt;b&gt;" in standards_text(planned) and "<b>" not in standards_text(planned)


def test_a_bad_mapping_is_a_located_error(make_register):
    path = make_register([risk("A", controls="mfa")])
    (path.parent / "standards.csv").write_text(
        "standard,id,name,control,source\n"
        "iso27001,a5,Policies,mfa,x\n"
        "ndg,ndg1,Data,no_such_control,x\n")
    with pytest.raises(InputError) as exc:
        load_standards(path, set(load_register(path).controls))
    text = str(exc.value)
    assert "iso27001" in text and "no_such_control" in text
