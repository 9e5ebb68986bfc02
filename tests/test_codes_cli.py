"""``linkwork codes``: JSON shape and exit codes; no database needed."""

from __future__ import annotations


def test_search_json(cli):
    r = cli("codes", "search", "sofa surfing", "--json")
    assert r.code == 0, r.err
    data = r.json()
    assert isinstance(data, list) and data
    assert data[0]["code"] == "Z59.0"
    for item in data:
        assert {"code", "display", "system", "domain", "score", "why"} <= set(item)
        assert item["system"] == "http://hl7.org/fhir/sid/icd-10"
    scores = [i["score"] for i in data]
    assert scores == sorted(scores, reverse=True)


def test_search_limit_and_table(cli):
    r = cli("codes", "search", "debt", "--limit", "2", "--json")
    assert r.code == 0 and len(r.json()) <= 2
    r = cli("codes", "search", "racist", "abuse")
    assert r.code == 0 and "Z60.5" in r.out


def test_search_empty_query_is_bad_input(cli):
    r = cli("codes", "search", "  ", "--json")
    assert r.code == 2
    assert r.out == ""
    assert r.err.startswith("linkwork: ") and r.err.count("\n") == 1


def test_search_nothing_found_exits_1(cli):
    r = cli("codes", "search", "xyzzy plugh", "--json")
    assert r.code == 1
    assert r.err.startswith("linkwork: ")


def test_show(cli):
    r = cli("codes", "show", "z590", "--json")
    assert r.code == 0, r.err
    data = r.json()
    assert data["code"] == "Z59.0" and data["domain"] == "housing"
    assert {"code": "32911000", "display": "Homeless"} in data["snomed"]
    assert "sofa surfing" in data["synonyms"]
    r = cli("codes", "show", "Z60.5")
    assert r.code == 0 and "discrimination" in r.out


def test_show_unknown_code_is_bad_input(cli):
    r = cli("codes", "show", "Z59.41")
    assert r.code == 2
    assert r.err.startswith("linkwork: unknown code") and r.err.count("\n") == 1


def test_domains(cli):
    r = cli("codes", "domains", "--json")
    assert r.code == 0
    data = {d["key"]: d for d in r.json()}
    assert len(data) == 19
    assert data["digital"]["codes"] == 0
    assert data["housing"]["codes"] > 0
    assert cli("codes", "domains").code == 0


def test_search_need_without_a_code_points_to_its_domain(cli):
    r = cli("codes", "search", "no bus pass")
    assert r.code == 1
    assert "transport" in r.err and r.err.startswith("linkwork: ")
