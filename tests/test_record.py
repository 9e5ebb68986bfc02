"""The person's record (domain core): people, questionnaire, needs, consent, referrals,
outcomes, follow-ups and the audit chain, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from screening import audit, consent, needs, people, referrals
from screening import questionnaire as qn
from screening.exchange import fhir_questionnaire as fq
from screening.models import AuditEvent, Need, OutcomeNeed, Person, Referral, ReferralEvent
from screening.nhs import normalise_nhs_number

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data" / "record"
HUB = "Valeshire Wellbeing Hub"


def _mod11(nine: str) -> int:
    """The NHS Data Dictionary check digit, written out here independently of the code."""
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    return 0 if check == 11 else check


def _person(session: Session, **extra: str) -> people.Person:  # type: ignore[name-defined]
    fields = {"given_name": "Ann", "family_name": "Example", "birth_date": "1970-05-06"}
    fields.update(extra)
    return people.create_person(session, actor="worker.a", **fields)  # type: ignore[arg-type]


# --- people and identifiers ----------------------------------------------------------------


def test_nhs_number_check_digit_and_length() -> None:
    # 943 476 5919 is the NHS's own published example of a valid number.
    assert normalise_nhs_number("943 476 5919") == "9434765919"
    assert normalise_nhs_number("943-476-5919") == "9434765919"
    nine = "999123457"
    good = nine + str(_mod11(nine))
    assert normalise_nhs_number(good) == good
    wrong = nine + str((_mod11(nine) + 1) % 10)
    with pytest.raises(ValueError, match="wrong check digit"):
        normalise_nhs_number(wrong)
    # 999 000 000x: the check digit would be 10, so no such number is valid.
    assert _mod11("999000000") == 10
    with pytest.raises(ValueError, match="wrong check digit"):
        normalise_nhs_number("9990000000")
    for bad in ("12345", "99912345678", "abcdefghij", ""):
        with pytest.raises(ValueError, match="must be 10 digits"):
            normalise_nhs_number(bad)


def test_person_fields_validated_and_normalised(session: Session) -> None:
    nine = "999765432"
    nhs = nine + str(_mod11(nine))
    person = _person(
        session,
        nhs_number=f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}",
        postcode="zz3  4ab",
        practice_ods="y02101",
        ethnic_category="prefer not to say",
        sex="Female",
        disability="yes",
    )
    assert person.nhs_number == nhs
    assert person.postcode == "ZZ3 4AB"
    assert person.practice_ods == "Y02101"
    assert person.ethnic_category == "Z"
    assert person.sex == "female"
    assert person.religion == "not-asked"  # never asked, never guessed
    data = people.person_dict(person, on=date(2026, 5, 6))
    assert data["age_band"] == "55-64"  # 56 on that day
    assert data["ethnic_category_label"].startswith("Not stated")
    with pytest.raises(ValueError, match="postcode"):
        _person(session, postcode="not a postcode")
    with pytest.raises(ValueError, match="ethnic category"):
        _person(session, ethnic_category="Q")
    with pytest.raises(ValueError, match="already recorded"):
        _person(session, nhs_number=nhs)
    with pytest.raises(ValueError, match="future"):
        _person(session, birth_date=(date.today() + timedelta(days=2)).isoformat())


def test_find_and_show_person_audits_the_view(session: Session) -> None:
    person = _person(session, postcode="ZZ1 2CD")
    _person(session, given_name="Bob", family_name="Other")
    assert [p.id for p in people.find_people(session, "ann exam")] == [person.id]
    assert [p.id for p in people.find_people(session, "zz12cd")] == [person.id]
    with pytest.raises(LookupError, match="unknown person 'nobody-with-this-id'"):
        people.get_person(session, "nobody-with-this-id")
    session.commit()  # audit events are appended to their chain as the transaction commits
    before = session.exec(select(AuditEvent)).all()
    people.show_person(session, person.id[:8], actor="worker.b")
    session.commit()
    events = session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()  # type: ignore[arg-type]
    assert len(events) == len(before) + 1
    assert (events[-1].action, events[-1].actor, events[-1].entity_id) == (
        "view",
        "worker.b",
        person.id,
    )


# --- questionnaire ---------------------------------------------------------------------------


def test_questionnaire_covers_every_domain_and_ons4_wording() -> None:
    with (ROOT / "codes" / "domains.csv").open(encoding="utf-8") as handle:
        domains = {row["key"] for row in csv.DictReader(handle)}
    q = qn.load_questionnaire()
    covered = {s.domain for s in q.sections if s.questions}
    assert domains <= covered
    texts = {question.text for question in q.questions()}
    # BRIEF.md section 6, exactly.
    for wording in (
        "Overall, how satisfied are you with your life nowadays?",
        "Overall, to what extent do you feel that the things you do in your life are worthwhile?",
        "Overall, how happy did you feel yesterday?",
        "On a scale where 0 is 'not at all anxious' and 10 is 'completely anxious', overall, "
        "how anxious did you feel yesterday?",
    ):
        assert wording in texts
    ons4 = [x for x in q.questions() if x.ons4]
    assert sorted(x.ons4 for x in ons4) == ["anxious", "happy", "satisfied", "worthwhile"]  # type: ignore[type-var]
    assert all((x.min, x.max) == (0, 10) for x in ons4)


def test_every_suggested_code_is_in_the_catalogue() -> None:
    from codes.catalogue import load_catalogue

    catalogue = load_catalogue()
    domains = {d.key for d in catalogue.domains()}
    seen = 0
    for question in qn.load_questionnaire().questions():
        suggestions = list(question.suggests)
        for option in question.options:
            suggestions.extend(option.suggests)
        for s in suggestions:
            seen += 1
            if s.system == needs.DOMAIN_SYSTEM:
                assert s.code in domains
            else:
                assert catalogue.get(s.code).domain == s.domain
    assert seen > 30


def test_practice_extra_questions_validated(tmp_path: Path) -> None:
    q = qn.load_questionnaire(DATA / "extra-questions.yaml")
    extra = q.question("practice.pets")
    assert extra.domain == "isolation"
    assert [s.code for s in extra.option("yes").suggests] == ["Z60.2"]
    assert len(q.questions()) == len(qn.load_questionnaire().questions()) + 1
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "sections:\n  - domain: food\n    questions:\n      - id: x.y\n        text: Hungry?\n"
        "        options:\n          - {code: 'yes', text: 'Yes', suggests: [Z99.9]}\n"
        "          - {code: 'no', text: 'No'}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"Z99\.9"):
        qn.load_questionnaire(bad)
    clash = tmp_path / "clash.yaml"
    clash.write_text(
        "sections:\n  - domain: food\n    questions:\n      - id: food.worried\n"
        "        text: Again?\n        options:\n          - {code: a, text: A}\n"
        "          - {code: b, text: B}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="used twice"):
        qn.load_questionnaire(clash)


def test_fhir_questionnaire_and_response_validate(session: Session) -> None:
    from fhir.resources.R4B.questionnaire import Questionnaire
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

    q = qn.load_questionnaire()
    resource = Questionnaire.model_validate_json(fq.to_fhir_questionnaire(q).model_dump_json())
    link_ids = {i.linkId for g in resource.item for i in g.item}
    assert link_ids == {x.id for x in q.questions()}
    person = _person(session)
    screening, _ = qn.complete_screening(
        session,
        person,
        {"food.worried": "often", "ons4.happy": 3, "housing.situation": "settled"},
        actor="worker.a",
    )
    response = QuestionnaireResponse.model_validate_json(
        fq.to_fhir_questionnaire_response(session, screening, q).model_dump_json()
    )
    answers = {i.linkId: i.answer[0] for g in response.item for i in g.item}
    assert answers["ons4.happy"].valueInteger == 3
    assert answers["food.worried"].valueCoding.code == "often"
    assert response.subject.reference == f"Patient/{person.id}"
    assert response.questionnaire.startswith(resource.url)


def test_answers_checked_before_anything_is_stored(session: Session) -> None:
    person = _person(session)
    for answers, message in (
        ({"no.such.question": "yes"}, "unknown question"),
        ({"food.worried": "perhaps"}, "must be one of"),
        ({"ons4.happy": 11}, "from 0 to 10"),
        ({"ons4.happy": "lots"}, "whole number"),
    ):
        with pytest.raises(ValueError, match=message):
            qn.complete_screening(session, person, answers, actor="worker.a")
    count = session.execute(sa.text("SELECT count(*) FROM screening")).scalar_one()
    assert count == 0


# --- the whole case ----------------------------------------------------------------------------


def test_whole_case_from_screening_to_outcome(session: Session) -> None:
    person = _person(session, practice_ods="Y02101")
    answers = qn.load_answers_file(DATA / "answers.yaml")
    screening, suggested = qn.complete_screening(session, person, answers, actor="worker.a")
    codes = {s["code"] for s in suggested}
    assert {"Z59.0", "Z59.4", "fuel", "wellbeing"} <= codes
    # Suggestions are not needs until confirmed.
    assert session.exec(select(Need)).all() == []
    housing = needs.confirm_need(
        session, screening, "Z59.0", actor="worker.a", words="sofa surfing at my sister's"
    )
    food = needs.confirm_need(session, screening, "Z59.4", actor="worker.a")
    fuel = needs.confirm_need(session, screening, "fuel", actor="worker.a", priority="high")
    needs.reject_suggestion(session, screening, "wellbeing", actor="worker.a")
    assert (fuel.system, fuel.code, fuel.domain) == (needs.DOMAIN_SYSTEM, "fuel", "fuel")
    assert housing.domain == "housing" and housing.screening_id == screening.id
    states = {s["code"]: s["state"] for s in screening.suggestions}
    assert states["wellbeing"] == "rejected" and states["Z59.0"] == "confirmed"
    with pytest.raises(ValueError, match="already"):
        needs.confirm_need(session, screening, "Z59.0", actor="worker.a")

    given = consent.record_consent(session, person, actor="worker.a", hub=HUB, shares="needs")
    referral = referrals.create_referral(
        session, person, [housing, food], actor="worker.a", hub=HUB, reason="needs a home"
    )
    assert referral.status == "requested" and referral.consent_id == given.id
    assert referral.followup_due == (referral.created_at + timedelta(days=14)).date()
    referrals.set_business_status(
        session, referral, "received, awaiting triage", actor="hub.worker"
    )
    referrals.set_status(session, referral, "accepted", actor="hub.worker")
    referrals.set_status(session, referral, "in-progress", actor="hub.worker")
    referrals.set_status(
        session, referral, "on-hold", actor="hub.worker", reason="person in hospital"
    )
    referrals.set_status(session, referral, "in-progress", actor="hub.worker")
    outcome = referrals.complete_referral(
        session,
        referral,
        actor="hub.worker",
        resolved=["Z59.0"],
        ons4={"satisfied": 6, "worthwhile": 6, "happy": 7, "anxious": 3},
        note="housed by the council",
    )
    session.commit()

    assert referral.status == "completed"
    events = referrals.referral_events(session, referral)
    assert [(e.from_status, e.to_status) for e in events] == [
        (None, "requested"),
        ("requested", "requested"),
        ("requested", "accepted"),
        ("accepted", "in-progress"),
        ("in-progress", "on-hold"),
        ("on-hold", "in-progress"),
        ("in-progress", "completed"),
    ]
    assert events[4].reason == "person in hospital"
    flags = {
        f.need_id: f.resolved
        for f in session.exec(select(OutcomeNeed).where(OutcomeNeed.outcome_id == outcome.id)).all()
    }
    assert flags == {housing.id: True, food.id: False}
    session.refresh(housing)
    session.refresh(food)
    assert (housing.status, food.status) == ("resolved", "active")
    assert outcome.ons4_anxious == 3
    report = audit.verify_chain(session)
    assert report.ok and report.checked >= 12


def test_work_must_start_before_a_referral_is_completed(session: Session) -> None:
    """Gravity workflow: accepted -> in-progress -> completed | failed; no shortcut."""
    person = _person(session)
    need = needs.add_need(session, person, "Z59.6", actor="worker.a")
    consent.record_consent(session, person, actor="worker.a", hub=HUB)
    referral = referrals.create_referral(session, person, [need], actor="worker.a", hub=HUB)
    referrals.set_status(session, referral, "accepted", actor="hub")
    for target in ("completed", "failed", "on-hold"):
        with pytest.raises(ValueError, match=f"cannot go from accepted to {target}"):
            referrals.set_status(session, referral, target, actor="hub", reason="x")
    assert referral.status == "accepted"
    referrals.set_status(session, referral, "in-progress", actor="hub")
    referrals.set_status(session, referral, "on-hold", actor="hub", reason="in hospital")
    with pytest.raises(ValueError, match="cannot go from on-hold to completed"):
        referrals.set_status(session, referral, "completed", actor="hub")
    referrals.set_status(session, referral, "failed", actor="hub", reason="could not contact")
    assert referral.status == "failed"


def test_forbidden_transitions_and_reasons(session: Session) -> None:
    person = _person(session)
    need = needs.add_need(session, person, "Z59.6", actor="worker.a")
    consent.record_consent(session, person, actor="worker.a", hub=HUB)
    referral = referrals.create_referral(session, person, [need], actor="worker.a", hub=HUB)
    with pytest.raises(ValueError, match="cannot go from requested to completed"):
        referrals.set_status(session, referral, "completed", actor="x")
    with pytest.raises(ValueError, match="reason is required"):
        referrals.set_status(session, referral, "rejected", actor="x")
    referrals.set_status(session, referral, "rejected", actor="x", reason="not eligible")
    with pytest.raises(ValueError, match="cannot go from rejected to requested"):
        referrals.set_status(session, referral, "requested", actor="x")
    with pytest.raises(ValueError, match="unknown referral status"):
        referrals.set_status(session, referral, "received", actor="x")


# The referral workflow (the Gravity SDOHCC referral Task), every from -> to pair written out
# here by hand, not read from the code's own table: "yes" allowed, "-" refused, "=" already so.
WORKFLOW = """
from\\to     draft requested accepted rejected in-progress on-hold completed failed cancelled
draft         =     yes       -        -        -           -       -         -      yes
requested     -     =         yes      yes      -           -       -         -      yes
accepted      -     -         =        -        yes         -       -         -      yes
rejected      -     -         -        =        -           -       -         -      -
in-progress   -     -         -        -        =           yes     yes       yes    yes
on-hold       -     -         -        -        yes         =       -         yes    yes
completed     -     -         -        -        -           -       =         -      -
failed        -     -         -        -        -           -       -         =      -
cancelled     -     -         -        -        -           -       -         -      =
"""


def _workflow() -> dict[tuple[str, str], str]:
    header, *rows = WORKFLOW.strip().splitlines()
    targets = header.split()[1:]
    table = {}
    for row in rows:
        source, *marks = row.split()
        assert len(marks) == len(targets), row
        table.update({(source, target): mark for target, mark in zip(targets, marks, strict=True)})
    return table


def test_every_transition_of_the_workflow_written_out(session: Session) -> None:
    table = _workflow()
    assert len(table) == 81 and sum(m == "yes" for m in table.values()) == 14
    assert set(referrals.STATUSES) == {s for s, _ in table}  # no status the table misses
    person = _person(session)
    need = needs.add_need(session, person, "Z59.6", actor="worker.a")
    consent.record_consent(session, person, actor="worker.a", hub=HUB)
    referral = referrals.create_referral(session, person, [need], actor="worker.a", hub=HUB)
    wrong = []
    for (current, target), mark in table.items():
        allowed = [t for (s, t), m in table.items() if s == current and m == "yes"]
        expected = {
            "yes": None,
            "=": f"referral {referral.id[:8]} (Ann Example to {HUB}) is already {current}",
            "-": f"referral {referral.id[:8]} (Ann Example to {HUB}) cannot go from {current} "
            f"to {target}: allowed next: " + (", ".join(allowed) or "nothing (it is closed)"),
        }[mark]
        referral.status = current
        try:
            referrals.set_status(session, referral, target, actor="x", reason="a reason")
            said = None
        except ValueError as exc:
            said = str(exc)
        if said != expected or referral.status != (target if mark == "yes" else current):
            wrong.append((current, target, said, referral.status))
    assert wrong == []


def test_referral_needs_consent_and_withdrawal_stops_sharing(session: Session) -> None:
    person = _person(session)
    need = needs.add_need(session, person, "Z59.0", actor="worker.a")
    with pytest.raises(ValueError, match="no consent"):
        referrals.create_referral(session, person, [need], actor="worker.a", hub=HUB)
    draft = referrals.create_referral(
        session, person, [need], actor="worker.a", hub=HUB, send=False
    )
    assert draft.status == "draft"
    with pytest.raises(ValueError, match="no consent"):
        referrals.set_status(session, draft, "requested", actor="worker.a")
    other_hub = consent.record_consent(session, person, actor="worker.a", hub="Another Hub")
    with pytest.raises(ValueError, match="no consent"):
        consent.require_active_consent(session, draft)
    given = consent.record_consent(session, person, actor="worker.a", hub=HUB)
    referrals.set_status(session, draft, "requested", actor="worker.a")
    assert consent.require_active_consent(session, draft).id == given.id
    consent.withdraw_consent(session, given, actor="worker.a", reason="changed mind")
    with pytest.raises(ValueError, match="withdrawn"):
        consent.require_active_consent(session, draft)
    with pytest.raises(ValueError, match="already withdrawn"):
        consent.withdraw_consent(session, given, actor="worker.a")
    assert other_hub.withdrawn_at is None


def test_referral_to_unknown_service_refused(session: Session) -> None:
    person = _person(session)
    need = needs.add_need(session, person, "Z59.0", actor="worker.a")
    with pytest.raises(LookupError, match="unknown service"):
        consent.record_consent(session, person, actor="worker.a", service_id=987654)
    with pytest.raises(LookupError, match="unknown service"):
        referrals.create_referral(session, person, [need], actor="worker.a", service_id=987654)
    with pytest.raises(LookupError, match="unknown need code"):
        needs.add_need(session, person, "Z99.9", actor="worker.a")


def test_apply_status_is_idempotent_and_never_backwards(session: Session) -> None:
    person = _person(session)
    need = needs.add_need(session, person, "Z59.4", actor="worker.a")
    consent.record_consent(session, person, actor="worker.a", hub=HUB)
    t0 = datetime.now(UTC) - timedelta(days=3)
    referral = referrals.create_referral(session, person, [need], actor="worker.a", hub=HUB, at=t0)

    def apply(status: str, hours: int, reason: str = "", business: str | None = None) -> bool:
        return referrals.apply_status(
            session,
            referral,
            status,
            by="hub",
            at=t0 + timedelta(hours=hours),
            reason=reason,
            business_status=business,
            source="remote:hub",
        )

    assert apply("requested", 1, business="received, awaiting triage") is True
    assert referral.business_status == "received, awaiting triage"
    assert apply("completed", 5) is True  # skips accepted/in-progress: still forward
    assert apply("accepted", 3) is False  # older and backwards
    assert apply("accepted", 9) is False  # newer but backwards
    assert apply("completed", 5) is False  # a replay
    assert referral.status == "completed"
    events = session.exec(
        select(ReferralEvent).where(ReferralEvent.referral_id == referral.id)
    ).all()
    assert len(events) == 3
    with pytest.raises(ValueError, match="unknown referral status"):
        apply("received", 20)


def test_apply_status_needs_reason_for_failed(session: Session) -> None:
    person = _person(session)
    need = needs.add_need(session, person, "Z59.4", actor="worker.a")
    consent.record_consent(session, person, actor="worker.a", hub=HUB)
    t0 = datetime.now(UTC) - timedelta(days=1)
    referral = referrals.create_referral(session, person, [need], actor="w", hub=HUB, at=t0)
    with pytest.raises(ValueError, match="no reason"):
        referrals.apply_status(session, referral, "rejected", by="hub", at=t0 + timedelta(hours=1))
    assert referrals.apply_status(
        session, referral, "rejected", by="hub", at=t0 + timedelta(hours=1), reason="no capacity"
    )
    assert referral.status_reason == "no capacity"


def test_followups_list_overdue_and_due_soon(session: Session) -> None:
    person = _person(session)
    consent.record_consent(session, person, actor="w", hub=HUB)
    now = datetime.now(UTC)
    made = {}
    for code, days_ago in (("Z59.0", 20), ("Z59.4", 12), ("Z59.6", 2)):
        need = needs.add_need(session, person, code, actor="w")
        made[code] = referrals.create_referral(
            session, person, [need], actor="w", hub=HUB, at=now - timedelta(days=days_ago)
        )
    closed_need = needs.add_need(session, person, "Z60.2", actor="w")
    closed = referrals.create_referral(
        session, person, [closed_need], actor="w", hub=HUB, at=now - timedelta(days=30)
    )
    referrals.set_status(session, closed, "cancelled", actor="w", reason="moved away")
    items = referrals.followups(session, today=now.date(), soon_days=3)
    assert [(f.referral.id, f.state) for f in items] == [
        (made["Z59.0"].id, "overdue"),
        (made["Z59.4"].id, "due-soon"),
    ]
    assert items[0].days == 6


def test_audit_chain_detects_edit_and_deletion(session: Session) -> None:
    person = _person(session)
    for code in ("Z59.0", "Z59.4", "Z60.2"):
        needs.add_need(session, person, code, actor="w")
    session.commit()
    assert audit.verify_chain(session).ok
    session.execute(sa.text("UPDATE audit_event SET actor = 'mallory' WHERE seq = 3"))
    report = audit.verify_chain(session)
    assert (report.ok, report.broken_seq) == (False, 3)
    session.rollback()
    session.execute(sa.text("DELETE FROM audit_event WHERE seq = 2"))
    report = audit.verify_chain(session)
    assert (report.ok, report.broken_seq) == (False, 3)
    assert "missing" in report.problem
    session.rollback()


def test_audit_appends_are_serialised_across_sessions(engine: sa.Engine) -> None:
    """Two sessions appending in turn continue one chain (no fork, no reused seq)."""
    with Session(engine) as first, Session(engine) as second:
        audit.record_event(first, "a", "view", "person", "1")
        first.commit()
        audit.record_event(second, "b", "view", "person", "2")
        second.commit()
        audit.record_event(first, "a", "view", "person", "3")
        first.commit()
    with Session(engine) as check:
        rows = check.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()  # type: ignore[arg-type]
        assert [r.seq for r in rows] == [1, 2, 3]
        assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
        assert audit.verify_chain(check).ok


def test_referral_rows_reference_the_directory(session: Session) -> None:
    from linkwork.sample import load_sample_directory

    load_sample_directory(session)
    service_id = session.execute(sa.text("SELECT min(id) FROM service")).scalar_one()
    person = _person(session)
    need = needs.add_need(session, person, "Z59.0", actor="w")
    consent.record_consent(
        session, person, actor="w", service_id=service_id, shares="needs,contact"
    )
    referral = referrals.create_referral(session, person, [need], actor="w", service_id=service_id)
    session.commit()
    stored = session.get(Referral, referral.id)
    assert stored is not None and stored.service_id == service_id
    assert referrals.referral_dict(session, stored)["service_name"]


def test_concurrent_audit_appends_never_fork_the_chain(engine: sa.Engine) -> None:
    """Writers in parallel threads: every append lands, one chain, no seq used twice."""
    import threading

    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            for i in range(15):
                with Session(engine) as s:
                    audit.record_event(s, name, "view", "person", str(i))
                    s.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Session(engine) as check:
        rows = check.execute(sa.text("SELECT seq, chain_seq FROM audit_event ORDER BY seq"))
        seqs, places = zip(*rows, strict=True)
        # one chain (organisation ''), every place once; seq numbers the table's rows (on
        # PostgreSQL from a sequence: an append that lost a race for its place skips one)
        assert sorted(places) == list(range(1, 46)) and len(set(seqs)) == 45
        assert audit.verify_chain(check).ok


def test_fhir_questionnaire_and_response_pass_independent_validators(
    session: Session, tmp_path: Path
) -> None:
    """The official FHIR R4 JSON schema (ajv) and FHIR.js, via tests/node (see setup-node.sh)."""
    import json

    from test_exchange_support import node

    person = _person(session)
    screening, _ = qn.complete_screening(
        session,
        person,
        qn.load_answers_file(DATA / "answers.yaml"),
        actor="worker.a",
    )
    q = qn.load_questionnaire(DATA / "extra-questions.yaml")
    files = []
    for name, resource in (
        ("questionnaire.json", fq.questionnaire_resource_dict(q)),
        ("response.json", fq.questionnaire_response_dict(session, screening, q)),
    ):
        path = tmp_path / name
        path.write_text(json.dumps(resource), encoding="utf-8")
        files.append(path)
    result = node("fhir-validate.mjs", *files)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert all(not r["schema"] and not r["fhirjs"] for r in report.values())


PATHS = (
    ["requested", "accepted", "in-progress", "on-hold", "in-progress", "completed"],
    ["requested", "accepted", "in-progress", "failed"],
    ["requested", "rejected"],
    ["requested", "accepted", "cancelled"],
)


def test_remote_updates_in_any_order_never_go_backwards(engine: sa.Engine) -> None:
    """Property: however the hub's updates arrive (shuffled, repeated), the practice's
    status only moves forward and ends at the hub's latest status."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    with Session(engine) as setup:
        person = _person(setup)
        consent.record_consent(setup, person, actor="w", hub=HUB)
        need = needs.add_need(setup, person, "Z59.0", actor="w")
        setup.commit()
        person_id, need_id = person.id, need.id

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        path=st.sampled_from(PATHS),
        order=st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=12),
    )
    def check(path: list[str], order: list[int]) -> None:
        t0 = datetime.now(UTC) - timedelta(days=10)
        with Session(engine) as s:
            person = s.get(people.Person, person_id)  # type: ignore[attr-defined]
            need = s.get(Need, need_id)
            referral = referrals.create_referral(s, person, [need], actor="w", hub=HUB, at=t0)
            steps = [(status, t0 + timedelta(hours=i + 1)) for i, status in enumerate(path)]
            arrivals = [steps[i % len(steps)] for i in order] + steps  # all arrive eventually
            position = -1  # index in path of the current status (-1: requested at t0)
            for status, at in arrivals:
                reason = "because" if status in referrals.REASON_REQUIRED else ""
                referrals.apply_status(
                    s, referral, status, by="hub", at=at, reason=reason, source="remote:hub"
                )
                current = max(
                    (i for i, (st_, t) in enumerate(steps) if t == referral.status_at),
                    default=-1,
                )
                assert current >= position
                position = current
            assert referral.status == path[-1]
            s.rollback()

    check()


def test_records_found_by_a_unique_start_of_their_id(session: Session) -> None:
    # Ids set by hand so that two share their first 8 characters.
    ann, bob = (
        Person(id=f"abcdef01-{n * 4}-4000-8000-000000000001", given_name=name,
               family_name="Example", birth_date=date(1970, 5, 6))
        for n, name in (("a", "Ann"), ("b", "Bob"))
    )  # fmt: skip
    session.add_all([ann, bob])
    session.flush()
    need = needs.add_need(session, ann, "Z59.0", actor="worker.a")
    given = consent.record_consent(session, ann, hub=HUB, actor="worker.a")
    assert people.get_person(session, "ABCDEF01-AAAA") is ann
    assert people.get_person(session, "abcdef01-b") is bob
    with pytest.raises(ValueError, match="ambiguous"):
        people.get_person(session, "abcdef01")
    assert needs.get_need(session, need.id[:8].upper()) is need
    assert consent.get_consent(session, given.id[:10]) is given
    for ref in ("%%%%%%%%", "________", "abcdef0"):  # wildcards are literal; 7 chars too short
        with pytest.raises(LookupError, match="unknown person"):
            people.get_person(session, ref)
    with pytest.raises(LookupError, match="unknown referral"):
        referrals.get_referral(session, "________")
