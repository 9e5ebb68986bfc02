"""A screening section the person did not raise is skipped, and the record says so
(issue 22, point 7, what was left): it was stored only as no answers, so "not asked"
could not be told from "answered no". Now the screening lists its skipped sections
(``screening.skipped``, migration scr_0006), the timeline and ``person show`` say
"skipped: Housing, Food", the CLI's ``screen`` skips with ``--skip SECTION`` or 'skip'
at a question, both through linkwork.actions.screening, and a skipped section never
counts as answered, nor as "no need" (its answers dropped, its ONS4 missing, not zero).
Each case on SQLite and on PostgreSQL (db_url)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import Session, select

from linkwork import db as lwdb
from linkwork.actions import people as people_act
from linkwork.actions import screening as screening_act
from linkwork.settings import load_settings
from linkwork.workspace import Workspace
from screening.models import Answer, AuditEvent, Screening

ANSWERS = {
    "housing.situation": "sofa-surfing",  # would suggest Z59.0, were housing asked
    "food.worried": "often",
    "ons4.satisfied": "6",
    "ons4.worthwhile": "7",
    "ons4.happy": "5",
    "ons4.anxious": "3",
}


def _workspace(url: str) -> Workspace:
    return Workspace(load_settings(database_url=url), lwdb.open_engine(url))


def _person(ws: Workspace) -> str:
    person = people_act.add_person(
        ws, given_name="Ann", family_name="Example", birth_date="1970-05-06"
    )
    return str(person["id"])


def _answers(ws: Workspace) -> dict[str, str]:
    """ANSWERS, keeping only questions this questionnaire has (ids checked, not assumed)."""
    ids = {q["id"] for s in screening_act.questionnaire_sections(ws) for q in s["questions"]}
    assert {"housing.situation", "food.worried", "ons4.satisfied"} <= ids
    return {k: v for k, v in ANSWERS.items() if k in ids}


def test_skipped_sections_are_recorded_and_their_answers_dropped(db_url: str) -> None:
    ws = _workspace(db_url)
    pid = _person(ws)
    done = screening_act.complete_screening(ws, pid, _answers(ws), skipped=["housing", "Wellbeing"])
    assert done["skipped"] == ["Housing", "Wellbeing"]
    # Nothing suggested from a section not asked, though an answer for it was given.
    assert "Z59.0" not in [s["code"] for s in done["suggestions"]]
    with Session(lwdb.open_engine(db_url)) as session:
        screening = session.get(Screening, done["id"])
        assert screening is not None and screening.skipped == ["housing", "wellbeing"]
        kept = {a.question_id for a in session.exec(select(Answer)).all()}
        assert "housing.situation" not in kept and "ons4.happy" not in kept
        assert kept  # the sections that were asked keep their answers
        # ONS4 not asked: missing (NULL), never 0, so no report reads it as a score.
        assert screening.ons4_satisfied is None and screening.ons4_anxious is None
        event = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "create", AuditEvent.entity == "screening"
            )
        ).one()
        assert event.detail["skipped"] == ["housing", "wellbeing"]
    record = people_act.person_record(ws, pid, timeline=True)
    assert record["screenings"][0]["skipped_titles"] == ["Housing", "Wellbeing"]
    line = next(i for i in record["timeline"] if i["what"] == "Screening")
    assert line["detail"].endswith("; skipped: Housing, Wellbeing")


def test_saved_half_done_keeps_its_skipped_sections(db_url: str) -> None:
    ws = _workspace(db_url)
    pid = _person(ws)
    saved = screening_act.save_screening_progress(
        ws, pid, {"food.worried": "often", "housing.situation": "settled"}, skipped=["Housing"]
    )
    assert saved["skipped"] == ["Housing"]
    progress = screening_act.screening_in_progress(ws, pid)
    assert progress is not None and progress["skipped"] == ["housing"]
    form = screening_act.open_screening(ws, pid)
    assert form["in_progress"]["skipped"] == ["housing"]
    assert form["sections"][0]["key"] == "housing"
    line = next(
        i for i in people_act.person_record(ws, pid, timeline=True)["timeline"]
        if i["what"] == "Screening"
    )  # fmt: skip
    assert "S to resume; skipped: Housing" in line["detail"]


def test_an_unknown_section_is_refused_in_one_line(db_url: str) -> None:
    ws = _workspace(db_url)
    pid = _person(ws)
    with pytest.raises(ValueError, match=r"no section 'garden' to skip; the sections are: housing"):
        screening_act.complete_screening(ws, pid, _answers(ws), skipped=["garden"])
    assert people_act.person_record(ws, pid)["screenings"] == []


def test_cli_screen_skip_option(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ws = _workspace(db_url)
    pid = _person(ws)
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(_answers(ws)), encoding="utf-8")
    result = cli("screen", pid, "--answers", path, "--skip", "housing", "--skip", "food",
                 db=db_url)  # fmt: skip
    assert result.code == 0, result.err
    assert "skipped (not asked): Housing, Food" in result.out
    shown = cli("person", "show", pid, db=db_url)
    assert shown.code == 0, shown.err
    assert "skipped: Housing, Food" in shown.out
    screening = people_act.person_record(ws, pid)["screenings"][0]["id"]
    told = cli("need", "suggestions", screening[:8], db=db_url)
    assert told.code == 0, told.err
    assert "skipped (not asked): Housing, Food" in told.out
    data = cli("screen", pid, "--answers", path, "--skip", "HOUSING", "--json", db=db_url).json()
    assert data["skipped"] == ["Housing"]
    bad = cli("screen", pid, "--answers", path, "--skip", "garden", db=db_url)
    assert bad.code == 2
    assert "no section 'garden' to skip" in bad.err and "Traceback" not in bad.err
    assert len(people_act.person_record(ws, pid)["screenings"]) == 2  # nothing more


def test_cli_skip_typed_at_a_question_skips_its_section(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    ws = _workspace(db_url)
    pid = _person(ws)
    form = screening_act.open_screening(ws, pid)
    replies: list[str] = []
    for section in form["sections"]:
        if section["key"] == "housing":
            replies.append("skip")  # at its first question: the rest not asked
            continue
        for q in section["questions"]:
            replies.append("5" if q["id"] == "ons4.happy" else "")
    result = cli("screen", pid, db=db_url, stdin="\n".join(replies) + "\n")
    assert result.code == 0, result.err
    assert "Skipped Housing: not asked." in result.out
    record = people_act.person_record(ws, pid)
    assert record["screenings"][0]["skipped"] == ["housing"]


def _outcomes_by_skipping(db_url: str, skipped: list[str]) -> dict[str, Any]:
    """One person screened (wellbeing asked or skipped), referred with that screening,
    the referral completed with ONS4 after: the outcomes report's row for everyone."""
    from screening.consent import record_consent
    from screening.counts import ALL, outcomes_report
    from screening.needs import add_need
    from screening.people import get_person
    from screening.referrals import create_referral, record_outcome, set_status

    ws = _workspace(db_url)
    pid = _person(ws)
    done = screening_act.complete_screening(ws, pid, _answers(ws), skipped=skipped)
    engine = lwdb.open_engine(db_url)
    with Session(engine) as session:
        person = get_person(session, pid)
        need = add_need(session, person, "Z59.4", actor="t")
        record_consent(session, person, actor="t", hub="Northside Hub", shares=["needs"])
        referral = create_referral(
            session, person, [need], actor="t", hub="Northside Hub", screening_id=done["id"]
        )
        for status in ("accepted", "in-progress", "completed"):
            set_status(session, referral, status, actor="t")
        after = {"satisfied": 8, "worthwhile": 8, "happy": 7, "anxious": 2}
        record_outcome(session, referral, actor="t", ons4=after)
        session.commit()
        report = outcomes_report(session, "sex", rule=None)
        row = next(r for r in report.rows if r.keys[0] is ALL)
        values = dict(row.values)
    engine.dispose()
    return values


def test_a_skipped_wellbeing_section_is_missing_in_reports_not_zero(db_url: str) -> None:
    asked = _outcomes_by_skipping(db_url, [])
    assert asked["ons4_people"] == 1 and asked["ons4_missing"] == 0
    assert asked["ons4_satisfied_change"] == 2.0  # 8 after, 6 before
    skipped = _outcomes_by_skipping(db_url, ["wellbeing"])
    # Another person, the same outcome, but not asked before: one missing, no pair added
    # (a 0 before would have made a change of +8).
    assert skipped["ons4_missing"] == 1 and skipped["ons4_people"] == 1
    assert skipped["ons4_satisfied_change"] == 2.0


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_app_records_a_skipped_section_and_its_timeline_says_so(
    tui_practice_url: str, anyio_backend: str
) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    import tui_seed

    from tui.screens.screening import ScreeningScreen
    from tui.state import PersonRef

    nowak = PersonRef(tui_seed.pid(3), "Tomasz Nowak")
    app = tui_seed.make_app(tui_practice_url, "person")
    async with app.run_test(size=(120, 40)) as pilot:
        await tui_seed.settle(pilot)
        app.person = nowak
        screen: Any = ScreeningScreen(nowak)
        await app.push_screen(screen)
        await tui_seed.settle(pilot)
        await pilot.press("ctrl+o")  # Housing: not raised
        await tui_seed.settle(pilot)
        await pilot.press("enter")  # Food: the first answer
        await tui_seed.settle(pilot)
        await pilot.press("ctrl+g")
        await tui_seed.settle(pilot)
        await pilot.press("end", "enter")
        await tui_seed.settle(pilot)
        await pilot.press("ctrl+n")  # finish
        await tui_seed.settle(pilot)
        assert screen.reviewing
        engine = lwdb.open_engine(tui_practice_url)
        with Session(engine) as session:
            done = session.get(Screening, screen.screening_id)
            assert done is not None and done.skipped == ["housing"]
        engine.dispose()
    ws = _workspace(tui_practice_url)
    line = next(
        i for i in people_act.person_record(ws, nowak.id, timeline=True)["timeline"]
        if i["what"] == "Screening"
    )  # fmt: skip
    assert line["detail"].endswith("skipped: Housing")
