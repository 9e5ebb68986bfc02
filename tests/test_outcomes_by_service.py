"""Outcomes by service and by provider organisation (issue 21, point 3): ``report outcomes
--by service|provider``, an outcome counted under the service its referral went to (or
the named hub) and the organisation running it, as ``report timeliness`` places a
referral; with the same disclosure control as every outcomes report, and service and
provider names from directory feeds shown safely in every format.

Every expected value below is worked out by hand from the records built here:

=====================  =========  ======  ========  =====  =======  ===================
service                provider   needs   resolved  pairs  missing  satisfied change
=====================  =========  ======  ========  =====  =======  ===================
Riverside Money Advice Riverside  20 + 1  12 + 1    20     0 + 1    12 x +2, 8 x +3
Riverside Debt Line    Riverside  10 + 1  10 + 1    8      2 + 1    8 x +2
(hostile name)         (hostile)  12      3         12     0        12 x +1
Hollinsford Hub (hub)  (the hub)  9       9         9      0        9 x 0
=====================  =========  ======  ========  =====  =======  ===================

"+ 1": one person's one need was referred to both Riverside services, and each referral
has an outcome (resolved, no ONS4 after): the need counts once under each service, once
under Riverside Advice Trust and once in the total (so, for needs, services do not add up
to the total: the disclosure control is told so).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from demo_support import built_copy

from linkwork import db as lwdb
from screening.counts import ALL, leaks, outcomes_report
from screening.counts.dimensions import partitions
from screening.disclosure import recoverable_cells

ACTOR = "sam.worker"
WHEN = datetime(2026, 10, 5, 10, 0, tzinfo=UTC)
RIVERSIDE = "Riverside Advice Trust"
MONEY, DEBT, HUB = "Riverside Money Advice", "Riverside Debt Line", "Hollinsford Hub"
# names as a hostile directory feed might send them: a formula, a terminal escape, markup
BAD_SERVICE = '=HYPERLINK("http://x")\x1b[31m [bold]Walk[/bold] group\x07'
BAD_PROVIDER = "@SUM(1+1)\x1b]8;;http://x\x1b\\ Org"
# ... and as reports show them: printable characters only, a formula made text
SAFE_SERVICE = '\'=HYPERLINK("http://x")[31m [bold]Walk[/bold] group'
SAFE_PROVIDER = "'@SUM(1+1)]8;;http://x\\ Org"
BEFORE = {"satisfied": 5, "worthwhile": 5, "happy": 5, "anxious": 5}


def build(url: str) -> None:
    from directory.models import Organisation, Service
    from screening.models import Need, Outcome, OutcomeNeed, Referral, ReferralNeed, Screening
    from screening.people import create_person

    engine = lwdb.open_engine(url)
    n = 0
    with lwdb.session_scope(engine) as session:
        riverside = Organisation(source="test-feed", source_id="org-1", name=RIVERSIDE)
        bad_org = Organisation(source="test-feed", source_id="org-2", name=BAD_PROVIDER)
        session.add_all([riverside, bad_org])
        session.flush()
        services = {}
        for source_id, name, org in (
            ("svc-1", MONEY, riverside),
            ("svc-2", DEBT, riverside),
            ("svc-3", BAD_SERVICE, bad_org),
        ):
            service = Service(
                source="test-feed", source_id=source_id, organisation_id=org.id, name=name
            )
            session.add(service)
            session.flush()
            services[name] = service.id

        def person() -> Any:
            nonlocal n
            n += 1
            return create_person(
                session, given_name="P", family_name=f"Person{n}", birth_date=date(1970, 1, 1),
                actor=ACTOR, practice_ods="Y02101", ethnic_category="A", sex="female",
            )  # fmt: skip

        def need(who: Any) -> Any:
            found = Need(
                person_id=who.id, code="Z59.0", system="http://hl7.org/fhir/sid/icd-10",
                display="Homelessness", domain="housing", recorded_at=WHEN, recorded_by=ACTOR,
            )  # fmt: skip
            session.add(found)
            session.flush()
            return found

        def outcome(
            who: Any,
            what: Any,
            to: str,
            resolved: bool,
            before: dict[str, int] | None,
            after: dict[str, int] | None,
        ) -> None:
            screening = Screening(person_id=who.id, questionnaire_id="q", **_ons4(before))
            session.add(screening)
            session.flush()
            referral = Referral(
                person_id=who.id, service_id=services.get(to), hub="" if to in services else to,
                screening_id=screening.id, status="completed", direction="outgoing",
                created_at=WHEN, created_by=ACTOR,
            )  # fmt: skip
            session.add(referral)
            session.flush()
            session.add(ReferralNeed(referral_id=referral.id, need_id=what.id))
            done = Outcome(
                referral_id=referral.id, person_id=who.id, recorded_at=WHEN, recorded_by=ACTOR,
                **_ons4(after),
            )  # fmt: skip
            session.add(done)
            session.flush()
            session.add(OutcomeNeed(outcome_id=done.id, need_id=what.id, resolved=resolved))

        def group(to: str, count: int, resolved: int, pairs: int, before: dict, after: Any) -> None:
            for i in range(count):
                who = person()
                paired = i < pairs
                outcome(who, need(who), to, i < resolved, before, after(i) if paired else None)

        group(MONEY, 20, 12, 20, BEFORE, lambda i: _after(7 if i < 12 else 8, 5, 6, 3))
        group(DEBT, 10, 10, 8, _after(4, 4, 4, 6), lambda i: _after(6, 6, 6, 4))
        group(BAD_SERVICE, 12, 3, 12, _after(3, 3, 3, 8), lambda i: _after(4, 4, 4, 7))
        group(HUB, 9, 9, 9, _after(6, 6, 6, 2), lambda i: _after(6, 6, 6, 2))
        # one need referred to both Riverside services, an outcome of each (no ONS4 after)
        who = person()
        both = need(who)
        outcome(who, both, MONEY, True, BEFORE, None)
        outcome(who, both, DEBT, True, BEFORE, None)
    engine.dispose()


def _after(satisfied: int, worthwhile: int, happy: int, anxious: int) -> dict[str, int]:
    return {"satisfied": satisfied, "worthwhile": worthwhile, "happy": happy, "anxious": anxious}


def _ons4(values: dict[str, int] | None) -> dict[str, int | None]:
    return {f"ons4_{k}": (values or {}).get(k) for k in BEFORE}


@pytest.fixture
def counted(request: pytest.FixtureRequest, db_url: str) -> str:
    built_copy(request, db_url, build)  # built once per process and backend, then copied
    return db_url


def run(url: str, by: str, **kw: Any) -> Any:
    engine = lwdb.open_engine(url)
    try:
        with lwdb.session_scope(engine) as session:
            return outcomes_report(session, by, **kw)
    finally:
        engine.dispose()


def rows(report: Any) -> dict[Any, dict[str, Any]]:
    return {row.keys: row.values for row in report.rows}


COUNTS = ("needs", "resolved", "ons4_people", "ons4_missing")


def counts_of(values: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(values[k] for k in COUNTS)


def test_outcomes_by_service_and_provider_by_hand(counted: str) -> None:
    # raw numbers (the practice's own view): every count as built
    by_service = rows(run(counted, "service", rule=None))
    assert counts_of(by_service[(MONEY,)]) == (21, 13, 20, 1)
    assert counts_of(by_service[(DEBT,)]) == (11, 11, 8, 3)
    assert counts_of(by_service[(SAFE_SERVICE,)]) == (12, 3, 12, 0)
    assert counts_of(by_service[(HUB,)]) == (9, 9, 9, 0)
    # the need referred to both counts once in the total: 20 + 10 + 12 + 9 + 1
    assert counts_of(by_service[(ALL,)]) == (52, 35, 49, 4)
    money = by_service[(MONEY,)]
    # satisfied: 12 x +2 and 8 x +3 = 48 / 20; spread sqrt((12 x 0.16 + 8 x 0.36) / 19)
    assert money["ons4_satisfied_change"] == 2.4 and money["ons4_satisfied_change_sd"] == 0.5
    assert money["ons4_satisfied_before"] == 5.0 and money["ons4_happy_change"] == 1.0
    assert money["ons4_anxious_change"] == -2.0 and money["ons4_worthwhile_change"] == 0.0
    assert by_service[(DEBT,)]["ons4_satisfied_before"] == 4.0
    assert by_service[(DEBT,)]["ons4_anxious_change"] == -2.0
    assert by_service[(HUB,)]["ons4_satisfied_change"] == 0.0
    assert by_service[(MONEY,)]["share_resolved"] == round(13 / 21, 3) == 0.619

    by_provider = rows(run(counted, "provider", rule=None))
    # Riverside: 20 + 10 needs and the one need of both services, counted once
    assert counts_of(by_provider[(RIVERSIDE,)]) == (31, 23, 28, 4)
    assert counts_of(by_provider[(SAFE_PROVIDER,)]) == (12, 3, 12, 0)
    assert counts_of(by_provider[(HUB,)]) == (9, 9, 9, 0)  # a hub provides itself
    assert counts_of(by_provider[(ALL,)]) == (52, 35, 49, 4)
    # satisfied at Riverside: 12 x 2 + 8 x 3 + 8 x 2 = 64 over 28 pairs
    assert by_provider[(RIVERSIDE,)]["ons4_satisfied_change"] == 2.3


def test_published_like_every_outcomes_report(counted: str) -> None:
    report = run(counted, "service")
    assert leaks(report) == []
    for table in report.tables:
        assert recoverable_cells(table, published=True) == []
    shown = rows(report)
    # 21 -> 20, 13 -> 15, 20 -> 20, 1 hidden (*)
    assert counts_of(shown[(MONEY,)]) == (20, 15, 20, None)
    # 3 resolved at the hostile service: hidden; 12 -> 10
    assert shown[(SAFE_SERVICE,)]["resolved"] is None
    assert shown[(SAFE_SERVICE,)]["needs"] == 10
    assert shown[(ALL,)]["needs"] == 50 and shown[(ALL,)]["ons4_people"] == 50
    money = shown[(MONEY,)]
    # the share from the published counts: 15 / 20, its Wilson interval
    # (0.75 + 3.8416/40) / (1 + 3.8416/20) = 0.7097, half 1.96 x 0.10852 / 1.19208 = 0.1784
    assert money["share_resolved"] == 0.75
    assert (money["share_resolved_low"], money["share_resolved_high"]) == (0.531, 0.888)
    # mean 2.4 (a step of 0.2), spread 0.5, interval 2.4 +/- 1.96 x 0.5 / sqrt(20) = 0.219
    assert money["ons4_satisfied_change"] == 2.4 and money["ons4_satisfied_change_sd"] == 0.5
    assert (money["ons4_satisfied_change_low"], money["ons4_satisfied_change_high"]) == (2.2, 2.6)
    # the hub: 9 needs and 9 pairs, each shown as 10; no change at all, so no spread
    hub = shown[(HUB,)]
    assert hub["needs"] == 10 and hub["ons4_people"] == 10
    assert (hub["ons4_satisfied_change"], hub["ons4_satisfied_change_sd"]) == (0.0, 0.0)
    assert (hub["ons4_satisfied_change_low"], hub["ons4_satisfied_change_high"]) == (0.0, 0.0)
    # the debt line: 8 pairs shown as 10 (+2 each, baseline 4), 3 missing hidden
    debt = shown[(DEBT,)]
    assert counts_of(debt) == (10, 10, 10, None)
    assert (debt["ons4_satisfied_change"], debt["ons4_satisfied_before"]) == (2.0, 4.0)
    assert debt["ons4_anxious_change"] == -2.0

    by_provider = rows(run(counted, "provider"))
    riverside = by_provider[(RIVERSIDE,)]
    assert counts_of(riverside) == (30, 25, 30, None)
    # 64 / 28 = 2.286 -> 2.2 (to 0.2); spread sqrt((20 x 0.0816 + 8 x 0.510) / 27) = 0.46 -> 0.5;
    # interval from the published 2.2, 0.5 and 30: 2.2 +/- 0.179
    assert riverside["ons4_satisfied_change"] == 2.2
    assert riverside["ons4_satisfied_change_sd"] == 0.5
    assert (riverside["ons4_satisfied_change_low"], riverside["ons4_satisfied_change_high"]) == (
        2.0,
        2.4,
    )


def test_needs_by_service_are_not_taken_to_add_up() -> None:
    # a need with outcomes from two referrals counts under both services: no equation
    assert not partitions("service", "needs") and not partitions("provider", "needs")
    # a referral goes to one service (report timeliness counts referrals), and an outcome
    # (its ONS4 pair) belongs to one referral: those lines add up
    assert partitions("service", "referrals") and partitions("provider", "referrals")
    assert partitions("service", "outcomes") and partitions("provider", "outcomes")


def test_crossed_with_a_group_and_for_one_practice(counted: str) -> None:
    crossed = run(counted, "provider,sex")
    assert leaks(crossed) == []
    cells = rows(crossed)
    assert cells[(RIVERSIDE, "female")]["needs"] == 30
    assert cells[(HUB, "female")]["needs"] is None  # a line of 9: withheld
    with pytest.raises(ValueError, match="outcomes can be counted by at most 2 dimensions"):
        run(counted, "service,provider,sex")
    one = rows(run(counted, "service", filters=_practice("Y02101")))
    assert one[(MONEY,)]["needs"] == 20


def _practice(ods: str) -> Any:
    from screening.counts import Filters

    return Filters(practice=ods)


def test_every_format_shows_names_safely(cli: Any, counted: str, tmp_path: Path) -> None:
    result = cli("report", "outcomes", "--by", "service", "--format", "csv", db=counted)
    assert result.code == 0, result.err
    body = result.out.split("\n", 1)[1]
    lines = list(csv.DictReader(io.StringIO(body)))
    services = {line["service"] for line in lines}
    assert {MONEY, DEBT, HUB, SAFE_SERVICE, "all"} == services
    assert "\x1b" not in result.out and "\x07" not in result.out
    assert not any(line["service"].startswith(("=", "+", "@", "-")) for line in lines)
    hostile = [ln for ln in lines if ln["service"] == SAFE_SERVICE and ln["measure"] == "resolved"]
    assert hostile[0]["value"] == "" and hostile[0]["suppressed"] == "1"

    result = cli("report", "outcomes", "--by", "provider", "--format", "json", db=counted)
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert {r["provider"] for r in data["rows"]} == {RIVERSIDE, HUB, SAFE_PROVIDER, None}

    result = cli("report", "outcomes", "--by", "provider", "--format", "fhir", db=counted)
    assert result.code == 0, result.err
    text = json.dumps(json.loads(result.out))
    assert "Riverside Advice Trust" in text and "\\u001b" not in text

    # the table (to a file, 160 wide): the markup in a name shown as typed, never read
    table = tmp_path / "outcomes.txt"
    result = cli("report", "outcomes", "--by", "service", "--out", str(table), db=counted)
    assert result.code == 0, result.err
    text = table.read_text(encoding="utf-8")
    assert "[bold]Walk" in text and "Money Advice" in text  # names wrap in a narrow column
    assert "\x1b" not in text and "\x07" not in text

    bad = cli("report", "needs", "--by", "service", db=counted)
    assert bad.code == 2 and bad.err.count("\n") == 1
    assert "service is a dimension of reports timeliness and outcomes only" in bad.err
    bad = cli("report", "outcomes", "--by", "service,provider,sex", db=counted)
    assert bad.code == 2 and bad.err.count("\n") == 1 and bad.out == ""
    assert "outcomes can be counted by at most 2 dimensions" in bad.err


def test_published_extract_by_provider(cli: Any, counted: str) -> None:
    from screening.counts.extracts import report_data, report_from_data

    published = cli("report", "publish", "outcomes", "--by", "provider", "--json", db=counted)
    assert published.code == 0, published.err
    listed = cli("report", "published", "--json", db=counted).json()
    assert [(item["name"], item["rows"]) for item in listed] == [("outcomes", 4)]
    # the extract as stored reads back as it was built: the safe names, the same values
    report = run(counted, "provider")
    stored = json.loads(json.dumps(report_data(report)))
    again = report_from_data(stored)
    assert rows(again) == rows(report)
    assert {row.keys[0] for row in again.rows} == {RIVERSIDE, SAFE_PROVIDER, HUB, ALL}
    # a stored extract is untrusted: a name with a terminal escape in it is cleaned
    stored["rows"][0]["keys"] = ["=evil\x1b[2J"]
    assert report_from_data(stored).rows[0].keys == ("'=evil[2J",)
