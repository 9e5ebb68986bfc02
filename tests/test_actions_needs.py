"""Coded needs and screening are one set of actions: the CLI's ``need``/``screen``
commands and the app's screens (the calls they make) give the same result and the same
audit rows on fresh databases, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlmodel import Session, select
from test_exchange_support import second_db

from linkwork import db as lwdb
from linkwork.actions import codes as codes_act
from linkwork.actions import needs as needs_act
from linkwork.actions import people as people_act
from linkwork.actions import screening as screening_act
from linkwork.settings import load_settings
from linkwork.workspace import Workspace
from screening.models import AuditEvent
from tui.screens.code_picker import match_rows
from tui.screens.screening import suggestion_rows

DATA = Path(__file__).parent / "data" / "record"
ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TIMES = {"recorded_at", "resolved_at", "completed_at", "started_at"}


@pytest.fixture
def app_url(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[str]:
    """A second fresh database on the same backend: the app's, beside the CLI's ``db_url``."""
    yield from second_db(request, db_url, tmp_path)


def _workspace(url: str) -> Workspace:
    return Workspace(load_settings(database_url=url), lwdb.open_engine(url))


def _person(url: str) -> str:
    person = people_act.add_person(
        _workspace(url), given_name="Ann", family_name="Example", birth_date="1970-05-06"
    )
    return str(person["id"])


def plain(value: Any) -> Any:
    """``value`` with every record id as ``<id>`` and times left out: what is compared."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k not in TIMES}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return ID.sub("<id>", value)
    return value


def audit(url: str) -> list[tuple[str, str, Any, str]]:
    engine = lwdb.open_engine(url)
    with Session(engine) as session:
        rows = session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()  # type: ignore[arg-type]
        found = [(e.action, e.entity, plain(e.detail), e.actor) for e in rows]
    engine.dispose()
    return found


def form_answers() -> dict[str, str]:
    """``answers.yaml`` as the app's form holds it: every answer as text."""
    raw = yaml.safe_load((DATA / "answers.yaml").read_text(encoding="utf-8"))
    return {k: str(v) for k, v in raw.items()}


# --- add a need ---------------------------------------------------------------------------


def test_add_need_same_through_cli_and_app(cli, db_url: str, app_url: str) -> None:  # type: ignore[no-untyped-def]
    cli_pid, app_pid = _person(db_url), _person(app_url)
    # The CLI takes the best match for the words; the app's Code-a-need screen shows the
    # same search's matches and records the highlighted one (the first) with the words.
    by_words = cli("need", "add", cli_pid, "--search", "sofa surfing", "--json", db=db_url)
    assert by_words.code == 0, by_words.err
    ws = _workspace(app_url)
    rows, message = match_rows(codes_act.search_codes("sofa surfing", limit=15))
    assert message == "" and rows[0]["code"] == "Z59.0"
    from_app = needs_act.add_need(ws, app_pid, code=rows[0]["code"], words="sofa surfing")
    from_cli = by_words.json()
    assert [m["code"] for m in from_cli.pop("alternatives")] == [r["code"] for r in rows[1:5]]
    assert plain(from_cli) == plain(from_app)
    assert from_app["words"] == "sofa surfing" and from_app["recorded_by"] == "test.worker"

    by_code = cli("need", "add", cli_pid, "--code", "z594", "--words", "no food", "--json",
                  db=db_url)  # fmt: skip
    assert by_code.code == 0, by_code.err
    app_need = needs_act.add_need(ws, app_pid, code="z594", words="no food")
    assert plain(by_code.json()) == plain(app_need) and app_need["code"] == "Z59.4"

    # A second active need with the same code: refused the same way by both.
    again = cli("need", "add", cli_pid, "--code", "Z59.0", db=db_url)
    with pytest.raises(ValueError, match="is already an active need of ") as refused:
        needs_act.add_need(ws, app_pid, code="Z59.0")
    assert again.code == 2
    assert plain(again.err.strip()) == plain(f"linkwork: {refused.value}")
    assert "already an active need" in again.err

    assert audit(db_url) == audit(app_url)
    assert audit(app_url)[-2:] == [
        ("create", "need", {"code": "Z59.0", "domain": "housing"}, "test.worker"),
        ("create", "need", {"code": "Z59.4", "domain": "food"}, "test.worker"),
    ]
    listed = cli("need", "list", cli_pid, "--json", db=db_url).json()
    assert plain(listed) == plain(needs_act.list_person_needs(ws, app_pid))


def test_need_with_no_code_is_offered_by_its_domain_on_both(cli, db_url: str, app_url: str) -> None:  # type: ignore[no-untyped-def]
    searched = cli("codes", "search", "no bus pass")
    assert searched.code == 1 and "'transport'" in searched.err
    rows, message = match_rows(codes_act.search_codes("no bus pass"))
    assert [r["code"] for r in rows] == ["transport"] and "Transport" in message
    # Recording it by the domain, as both say: the same need.
    cli_pid, app_pid = _person(db_url), _person(app_url)
    added = cli("need", "add", cli_pid, "--code", "transport", "--words", "no bus pass",
                "--json", db=db_url)  # fmt: skip
    assert added.code == 0, added.err
    from_app = needs_act.add_need(
        _workspace(app_url), app_pid, code=rows[0]["code"], words="no bus pass"
    )
    assert plain(added.json()) == plain(from_app)
    assert from_app["system"] == "urn:linkwork:need-domain"
    # Lay words with no code fail the CLI's --search, saying which domain to use.
    failed = cli("need", "add", cli_pid, "--search", "no bus pass", db=db_url)
    assert failed.code == 2 and "--code transport" in failed.err
    assert audit(db_url) == audit(app_url)


# --- complete a screening -----------------------------------------------------------------


def test_complete_screening_same_through_cli_and_app(cli, db_url: str, app_url: str) -> None:  # type: ignore[no-untyped-def]
    cli_pid, app_pid = _person(db_url), _person(app_url)
    screened = cli("screen", cli_pid, "--answers", DATA / "answers.yaml", "--json", db=db_url)
    assert screened.code == 0, screened.err
    # The app's form: opened (no screening in progress), finished with the same answers.
    ws = _workspace(app_url)
    form = screening_act.open_screening(ws, app_pid)
    assert form["in_progress"] is None and form["person"]["name"] == "Ann Example"
    asked = {q["id"] for s in form["sections"] for q in s["questions"]}
    assert set(form_answers()) <= asked
    done = screening_act.complete_screening(ws, app_pid, form_answers(), screening_ref=None)
    from_cli = screened.json()
    assert plain(from_cli) == plain(done)
    assert done["answers"] == 12 and done["resumed"] is False
    suggested = {s["code"]: s for s in done["suggestions"]}
    assert {"Z59.0", "Z59.4"} <= set(suggested)
    assert suggested["Z59.0"]["because"] and all(
        s["state"] == "pending" for s in suggested.values()
    )
    rows = suggestion_rows(done["suggestions"])
    assert [r["code"] for r in rows] == [s["code"] for s in from_cli["suggestions"]]
    assert audit(db_url) == audit(app_url)
    assert audit(app_url)[-1][:2] == ("create", "screening")


def test_saved_screening_finished_by_the_next_on_both(  # type: ignore[no-untyped-def]
    cli, db_url: str, app_url: str, tmp_path: Path
) -> None:
    """Half-done (CLI --save; the app's leaving/switching save), then finished: the same
    screening is carried on, by either front end, with no screening left half-done."""
    half = {"housing.situation": "sofa-surfing", "ons4.happy": "3"}
    cli_pid, app_pid = _person(db_url), _person(app_url)
    ws = _workspace(app_url)

    path = tmp_path / "half.json"
    path.write_text(json.dumps(half), encoding="utf-8")
    saved = cli("screen", cli_pid, "--answers", path, "--save", "--json", db=db_url)
    assert saved.code == 0, saved.err
    app_saved = screening_act.save_screening_progress(ws, app_pid, half, screening_ref=None)
    assert plain(saved.json()) == plain(app_saved)
    assert app_saved["started"] is True and app_saved["answers"] == 2

    progress = screening_act.screening_in_progress(ws, app_pid)
    assert progress is not None and progress["answers"] == half
    finished = cli("screen", cli_pid, "--answers", DATA / "answers.yaml", "--json", db=db_url)
    assert finished.code == 0, finished.err
    done = screening_act.complete_screening(
        ws, app_pid, form_answers(), screening_ref=progress["id"]
    )
    assert finished.json()["id"] == saved.json()["id"]  # the saved one, finished
    assert done["id"] == app_saved["id"] and done["resumed"] is True
    assert plain(finished.json()) == plain(done)
    assert screening_act.screening_in_progress(ws, app_pid) is None
    assert audit(db_url) == audit(app_url)
    assert [a[:2] for a in audit(app_url)[-2:]] == [
        ("start", "screening"),
        ("complete", "screening"),
    ]


def test_cli_prompts_offer_the_saved_answers(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    pid = _person(db_url)
    ws = _workspace(db_url)
    screening_act.save_screening_progress(
        ws, pid, {"housing.situation": "rough-sleeping", "ons4.happy": "6"}
    )
    form = screening_act.open_screening(ws, pid)
    replies = []
    for section in form["sections"]:
        for q in section["questions"]:
            # Enter keeps the saved housing answer; '-' clears the saved ONS4 one.
            replies.append("-" if q["id"] == "ons4.happy" else "")
    replies.append("n")  # reject the Z59.0 the kept answer suggests
    result = cli("screen", pid, db=db_url, stdin="\n".join(replies) + "\n")
    assert result.code == 0, result.err
    assert "Carrying on the screening saved on" in result.out
    done = screening_act.screening_in_progress(ws, pid)
    assert done is None
    events = [a[:2] for a in audit(db_url)]
    assert events[-3:] == [
        ("start", "screening"),
        ("complete", "screening"),
        ("reject-suggestion", "screening"),
    ]


def test_practice_questions_from_the_settings_on_both(  # type: ignore[no-untyped-def]
    cli, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINKWORK_EXTRA_QUESTIONS", str(DATA / "extra-questions.yaml"))
    pid = _person(db_url)
    ws = _workspace(db_url)
    asked = {q["id"] for s in screening_act.questionnaire_sections(ws) for q in s["questions"]}
    assert "practice.pets" in asked  # the app's form asks them too
    screened = cli("screen", pid, "--answers", DATA / "extra-answers.yaml", "--json", db=db_url)
    assert screened.code == 0, screened.err
    assert screened.json()["questionnaire"].endswith("+practice-y02101")


# --- confirm or reject a suggestion -------------------------------------------------------


def _screened(cli, url: str, through_cli: bool) -> str:  # type: ignore[no-untyped-def]
    pid = _person(url)
    if through_cli:
        result = cli("screen", pid, "--answers", DATA / "answers.yaml", "--json", db=url)
        assert result.code == 0, result.err
        return str(result.json()["id"])
    done = screening_act.complete_screening(_workspace(url), pid, form_answers())
    return str(done["id"])


def test_confirm_and_reject_same_through_cli_and_app(cli, db_url: str, app_url: str) -> None:  # type: ignore[no-untyped-def]
    cli_sid = _screened(cli, db_url, True)
    app_sid = _screened(cli, app_url, False)
    ws = _workspace(app_url)

    # Y on a suggestion (the screen passes no words) / need confirm SID CODE.
    confirmed = cli("need", "confirm", cli_sid, "Z59.0", "--json", db=db_url)
    assert confirmed.code == 0, confirmed.err
    yes = needs_act.decide_suggestion(ws, app_sid, "Z59.0", confirm=True, use_code=None)
    assert plain(confirmed.json()) == plain(yes["need"])
    assert yes["decided"]["state"] == "confirmed"

    # C, a different code chosen in the picker / need confirm SID CODE --as OTHER.
    swapped = cli("need", "confirm", cli_sid, "z594", "--as", "Z59.1", "--json", db=db_url)
    assert swapped.code == 0, swapped.err
    other = needs_act.decide_suggestion(ws, app_sid, "z594", confirm=True, use_code="Z59.1")
    assert plain(swapped.json()) == plain(other["need"])
    assert (other["decided"]["state"], other["decided"]["confirmed_as"]) == ("edited", "Z59.1")

    # N / need reject SID CODE (a domain key as the code).
    rejected = cli("need", "reject", cli_sid, "wellbeing", "--json", db=db_url)
    assert rejected.code == 0, rejected.err
    no = needs_act.decide_suggestion(ws, app_sid, "wellbeing", confirm=False)
    assert no["need"] is None and no["decided"]["state"] == "rejected"
    assert plain(rejected.json()) == plain({"id": no["id"], "suggestions": no["suggestions"]})

    # Deciding twice: refused in the same words.
    twice = cli("need", "reject", cli_sid, "Z59.0", db=db_url)
    with pytest.raises(ValueError, match=r"suggestion Z59\.0 is already confirmed") as refused:
        needs_act.decide_suggestion(ws, app_sid, "Z59.0", confirm=False)
    assert twice.code == 2 and twice.err.strip() == f"linkwork: {refused.value}"

    shown = cli("need", "suggestions", cli_sid, "--json", db=db_url).json()
    assert plain(shown) == plain(
        {k: v for k, v in needs_act.screening_suggestions(ws, app_sid).items() if k != "person_id"}
    )
    assert audit(db_url) == audit(app_url)
    assert [a[:2] for a in audit(app_url)[-4:]] == [
        ("create", "need"),
        ("create", "need"),
        ("replace-suggestion", "screening"),
        ("reject-suggestion", "screening"),
    ]


def test_confirm_all_and_resolve(cli, db_url: str, app_url: str) -> None:  # type: ignore[no-untyped-def]
    cli_sid = _screened(cli, db_url, True)
    app_sid = _screened(cli, app_url, False)
    ws = _workspace(app_url)
    confirmed = cli("need", "confirm", cli_sid, "--all", "--json", db=db_url)
    assert confirmed.code == 0, confirmed.err
    needs = needs_act.confirm_all(ws, app_sid)
    assert plain(confirmed.json()) == plain(needs)
    assert cli("need", "confirm", cli_sid, "--all", db=db_url).code == 1  # nothing pending

    resolved = cli("need", "resolve", confirmed.json()[0]["id"], "--note", "housed", "--json",
                   db=db_url)  # fmt: skip
    assert resolved.code == 0, resolved.err
    done = needs_act.resolve_need(ws, needs[0]["id"], note="housed")
    assert plain(resolved.json()) == plain(done) and done["status"] == "resolved"
    assert audit(db_url) == audit(app_url)
    assert audit(app_url)[-1] == ("resolve", "need", {"note": "housed"}, "test.worker")


def test_cli_prompts_left_mid_way_keep_the_answers(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """As the app keeps a screening left or closed mid-way, so does the CLI (Ctrl+C, or
    the input ending): the answers so far are saved, and the next screening carries on."""
    pid = _person(db_url)
    ws = _workspace(db_url)
    first = screening_act.open_screening(ws, pid)["sections"][0]["questions"][0]
    assert first["id"] == "housing.situation"
    number = [code for code, _text in first["options"]].index("sofa-surfing") + 1
    left = cli("screen", pid, db=db_url, stdin=f"{number}\n")  # then the input ends
    assert left.code == 130 and "screening progress saved (1 answer)" in left.err
    progress = screening_act.screening_in_progress(ws, pid)
    assert progress is not None and progress["answers"] == {"housing.situation": "sofa-surfing"}
    assert [a[:2] for a in audit(db_url)][-1] == ("start", "screening")
    # Carried on and left again after one question: the answers not asked again are kept.
    screening_act.save_screening_progress(ws, pid, {"housing.situation": "sofa-surfing",
                                                    "ons4.happy": "6"})  # fmt: skip
    again = cli("screen", pid, db=db_url, stdin="\n")  # Enter keeps the saved housing answer
    assert again.code == 130, again.err
    progress = screening_act.screening_in_progress(ws, pid)
    assert progress is not None
    assert progress["answers"] == {"housing.situation": "sofa-surfing", "ons4.happy": "6"}
