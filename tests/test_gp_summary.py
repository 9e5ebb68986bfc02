"""The message back to the GP at episode close (issue 20 point 8): a FHIR R4 document
Bundle, 0 errors in fhir.resources and in both Node validators (the official R4 JSON
schema and FHIR.js), holding the reason for referral, needs, goals, services, ONS4 and
the outcome; written atomically with the close, audited; a withdrawn or corrected need is
never sent as active in any FHIR output."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from casework_episode_support import CASE_NOTE, HUB, PRACTICE, SERVICE, ok, whole_episode
from fhir_support import resolve, resources
from test_exchange_support import node

from linkwork import db as lwdb

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture(autouse=True)
def practice_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINKWORK_PRACTICE", PRACTICE)
    monkeypatch.setenv("LINKWORK_USER", "sam.worker")


def _rows(url: str, sql: str) -> list[Any]:
    engine = lwdb.open_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql)).all())
    finally:
        engine.dispose()


def test_close_with_gp_summary_writes_a_valid_document(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    made = whole_episode(cli, db_url)
    out = tmp_path / "gp.json"
    closed = ok(cli, "episode", "close", made.person, "--reason", "goals-met",
                "--gp-summary", out, db=db_url)  # fmt: skip
    assert closed["status"] == "closed" and closed["contacts"] == 3
    assert closed["gp_summary"]["file"] == str(out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # a person's data

    bundle = json.loads(out.read_text())
    assert bundle["type"] == "document" and bundle["identifier"]["value"].startswith("urn:uuid:")
    first = bundle["entry"][0]["resource"]
    assert first["resourceType"] == "Composition" and first["status"] == "final"
    titles = [s["title"] for s in first["section"]]
    assert titles == [
        "Reason for referral",
        "What matters to the person",
        "Needs",
        "Goals",
        "Services referred to",
        "Outcome measures (ONS4 personal wellbeing)",
        "Outcome of social prescribing",
    ]
    # The reason for referral carries the episode's SNOMED CT concept.
    reason = resolve(bundle, first["section"][0]["entry"][0])
    assert reason["code"]["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": "871731000000106",
        "display": "Referral to social prescribing service",
    }
    # Needs: the three current ones, never the withdrawn Z59.6.
    conditions = resources(bundle, "Condition")
    assert sorted(c["code"]["coding"][0]["code"] for c in conditions) == ["Z56.0", "Z59.0", "Z60.2"]
    assert all(c["clinicalStatus"]["coding"][0]["code"] == "active" for c in conditions)
    # Goals: two, the first with some progress and addressing the housing need.
    goals = {g["description"]["text"]: g for g in resources(bundle, "Goal")}
    assert set(goals) == {"Somewhere safe to live", "Join a walking group"}
    housing = goals["Somewhere safe to live"]
    assert housing["achievementStatus"]["coding"][0]["code"] == "improving"
    assert resolve(bundle, housing["addresses"][0])["code"]["coding"][0]["code"] == "Z59.0"
    # Services: the directory service and the hub, each the performer of its request.
    performers = sorted(
        resolve(bundle, sr["performer"][0])["name"]
        for sr in resources(bundle, "ServiceRequest")
        if sr["id"] in made.referrals
    )
    assert performers == sorted([SERVICE, HUB])
    # ONS4: 4 answers at the start and 4 at the review, with their values.
    obs = resources(bundle, "Observation")
    assert len(obs) == 8
    start = {o["code"]["coding"][0]["code"]: o["valueInteger"] for o in obs[:4]}
    review = {o["code"]["coding"][0]["code"]: o["valueInteger"] for o in obs[4:]}
    assert start == {"satisfied": 4, "worthwhile": 5, "happy": 4, "anxious": 7}
    assert review == {"satisfied": 6, "worthwhile": 7, "happy": 6, "anxious": 4}
    care = resources(bundle, "EpisodeOfCare")[0]
    assert care["status"] == "finished"
    outcome = first["section"][-1]["text"]["div"]
    assert "goals met" in outcome and "3 (2 attended, 1 did not attend)" in outcome
    # Patient: NHS number for the GP record; the practice by ODS code as custodian.
    patient = resources(bundle, "Patient")[0]
    assert patient["identifier"][0]["value"] == "9434765919"
    assert resolve(bundle, first["custodian"])["identifier"][0]["value"] == PRACTICE
    # Case notes never leave the organisation.
    assert CASE_NOTE not in out.read_text()

    audit = _rows(db_url, "SELECT action, entity FROM audit_event WHERE entity = 'gp-summary'")
    assert [tuple(r) for r in audit] == [("export", "gp-summary")]


@sqlite_only
def test_the_gp_summary_has_no_errors_in_two_independent_validators(cli, db_url, tmp_path):  # type: ignore[no-untyped-def]
    from fhir.resources.R4B.bundle import Bundle

    made = whole_episode(cli, db_url)
    out = tmp_path / "gp.json"
    ok(
        cli,
        "episode",
        "close",
        made.person,
        "--reason",
        "moved-away",
        "--gp-summary",
        out,
        db=db_url,
    )
    Bundle.model_validate_json(out.read_text())  # raises on any error
    result = node("fhir-validate.mjs", out)
    report = json.loads(result.stdout)[str(out)]
    assert result.returncode == 0, report
    assert report["schema"] == [] and report["fhirjs"] == []


def test_a_file_that_cannot_be_written_leaves_the_episode_open(cli, db_url, tmp_path):  # type: ignore[no-untyped-def]
    made = whole_episode(cli, db_url)
    result = cli("episode", "close", made.person, "--reason", "goals-met",
                 "--gp-summary", tmp_path / "missing" / "gp.json", db=db_url)  # fmt: skip
    assert result.code == 2 and result.err.startswith("linkwork: folder ")
    status = _rows(db_url, "SELECT status FROM episode")
    assert [r[0] for r in status] == ["open"]
    assert not (tmp_path / "missing").exists()


def test_summary_of_an_open_episode_is_refused_and_later_made(cli, db_url, tmp_path):  # type: ignore[no-untyped-def]
    made = whole_episode(cli, db_url, nhs=None)
    out = tmp_path / "later.json"
    result = cli("episode", "summary", made.person, "--out", out, db=db_url)
    assert result.code == 2 and "no closed episode" in result.err
    assert not out.exists()
    ok(cli, "episode", "close", made.person, "--reason", "no-contact", db=db_url)
    data = ok(cli, "episode", "summary", made.person, "--out", out, db=db_url)
    assert (data["needs"], data["goals"], data["referrals"], data["observations"]) == (3, 2, 2, 8)
    patient = resources(json.loads(out.read_text()), "Patient")[0]
    assert "identifier" not in patient  # no NHS number on record, none invented


def test_withdrawn_and_corrected_needs_are_never_sent_as_active() -> None:
    from screening.exchange import fhir as F
    from screening.exchange.fhir_build import condition_resource

    def built(status: str) -> dict[str, Any]:
        need = F.NeedData(id="n1", code="Z59.0", system=F.ICD10, display="Homelessness",
                          domain="housing", status=status)  # fmt: skip
        return condition_resource(need, "p1")

    def codes(res: dict[str, Any], key: str) -> str | None:
        return res[key]["coding"][0]["code"] if key in res else None

    assert (codes(built("active"), "clinicalStatus"), codes(built("active"), "verificationStatus")) == ("active", "confirmed")  # fmt: skip  # noqa: E501
    assert codes(built("resolved"), "clinicalStatus") == "resolved"
    withdrawn = built("withdrawn")
    assert (codes(withdrawn, "clinicalStatus"), codes(withdrawn, "verificationStatus")) == ("inactive", "refuted")  # fmt: skip  # noqa: E501
    corrected = built("corrected")
    # FHIR R4 con-5: no clinical status on a condition entered in error.
    assert codes(corrected, "clinicalStatus") is None
    assert codes(corrected, "verificationStatus") == "entered-in-error"
