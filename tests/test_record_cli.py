"""The record on the command line: a whole case, bad input refused with nothing written,
tamper detection by ``linkwork audit verify``, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from db_rows_support import rows_as_text

from linkwork import db as lwdb

DATA = Path(__file__).parent / "data" / "record"
HUB = "Valeshire Wellbeing Hub"
VALID_NHS = "9434765919"  # the NHS's published example of a valid number


def snapshot(db_url: str) -> dict[str, list[str]]:
    """Every row of every table, as text, to compare before and after a command."""
    return rows_as_text(db_url)


def _add_person(cli, db_url: str, *extra: str) -> str:  # type: ignore[no-untyped-def]
    result = cli(
        "person", "add", "--given", "Ann", "--family", "Example", "--birth-date", "1970-05-06",
        *extra, "--json", db=db_url,
    )  # fmt: skip
    assert result.code == 0, result.err
    return str(result.json()["id"])


def test_whole_case_on_the_command_line(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    pid = _add_person(
        cli, db_url, "--nhs-number", "943 476 5919", "--postcode", "zz1 1aa",
        "--practice", "Y02101", "--ethnicity", "N", "--sex", "female",
    )  # fmt: skip
    screened = cli("screen", pid, "--answers", DATA / "answers.yaml", "--json", db=db_url)
    assert screened.code == 0, screened.err
    sid = screened.json()["id"]
    suggested = {s["code"] for s in screened.json()["suggestions"]}
    assert {"Z59.0", "Z59.4"} <= suggested
    assert cli("need", "list", pid, db=db_url).code == 1  # nothing coded yet
    confirmed = cli("need", "confirm", sid, "Z59.0", "--words", "sofa surfing", "--json", db=db_url)
    assert confirmed.code == 0, confirmed.err
    assert confirmed.json()["code"] == "Z59.0"
    assert cli("need", "confirm", sid, "Z59.4", db=db_url).code == 0
    assert cli("need", "reject", sid, "wellbeing", db=db_url).code == 0

    given = cli("consent", "record", VALID_NHS, "--hub", HUB, "--method", "written", "--json",
                db=db_url)  # fmt: skip
    assert given.code == 0, given.err
    assert given.json()["shares"] == ["needs", "contact"]
    referred = cli("refer", pid, "--need", "Z59.0", "--need", "z594", "--hub", HUB,
                   "--reason", "needs somewhere to live", "--json", db=db_url)  # fmt: skip
    assert referred.code == 0, referred.err
    rid = referred.json()["id"]
    assert referred.json()["status"] == "requested"
    assert sorted(n["code"] for n in referred.json()["needs"]) == ["Z59.0", "Z59.4"]

    assert cli("referral", "status", rid, "accepted", "--business", "triaged", db=db_url).code == 0
    assert cli("referral", "status", rid, "in-progress", db=db_url).code == 0
    done = cli(
        "referral", "status", rid, "completed", "--resolved", "Z59.0", "--ons4", "6,7,7,3",
        "--note", "moved into a council flat", "--json", db=db_url,
    )  # fmt: skip
    assert done.code == 0, done.err
    shown = cli("referral", "show", rid, "--json", db=db_url).json()
    assert shown["status"] == "completed"
    assert [e["to"] for e in shown["events"]] == [
        "requested",
        "accepted",
        "in-progress",
        "completed",
    ]
    assert shown["outcome"]["ons4"] == {"satisfied": 6, "worthwhile": 7, "happy": 7, "anxious": 3}
    resolved = {n["id"]: v for n in shown["needs"] for k, v in shown["outcome"]["needs"].items()
                if k == n["id"]}  # fmt: skip
    by_code = {n["code"]: resolved[n["id"]] for n in shown["needs"]}
    assert by_code == {"Z59.0": True, "Z59.4": False}

    record = cli("person", "show", pid, "--json", db=db_url).json()
    assert record["nhs_number"] == VALID_NHS and record["postcode"] == "ZZ1 1AA"
    assert [s["id"] for s in record["screenings"]] == [sid]
    assert record["screenings"][0]["ons4"] == {
        "satisfied": 3, "worthwhile": 5, "happy": 4, "anxious": 7,
    }  # fmt: skip
    assert {n["code"]: n["status"] for n in record["needs"]} == {
        "Z59.0": "resolved",
        "Z59.4": "active",
    }
    assert cli("referral", "list", "--status", "completed", db=db_url).code == 0
    assert cli("audit", "verify", db=db_url).code == 0
    events = cli("audit", "show", "--person", pid, "--limit", "100", "--json", db=db_url).json()
    actions = {(e["action"], e["entity"]) for e in events}
    assert {("create", "person"), ("view", "person"), ("status", "referral")} <= actions


def _prepare(cli, db_url: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    pid = _add_person(cli, db_url)
    assert cli("need", "add", pid, "--code", "Z59.0", db=db_url).code == 0
    assert cli("consent", "record", pid, "--hub", HUB, db=db_url).code == 0
    referred = cli("refer", pid, "--need", "Z59.0", "--hub", HUB, "--json", db=db_url)
    assert referred.code == 0, referred.err
    return pid, referred.json()["id"]


BAD_INPUTS = {
    "invalid NHS number": lambda pid, rid: [
        "person", "add", "--given", "B", "--family", "C", "--birth-date", "1980-01-01",
        "--nhs-number", "9434765918",
    ],
    "short NHS number": lambda pid, rid: [
        "person", "add", "--given", "B", "--family", "C", "--birth-date", "1980-01-01",
        "--nhs-number", "94347659",
    ],
    "unknown code": lambda pid, rid: ["need", "add", pid, "--code", "Z99.9"],
    "referral without consent": lambda pid, rid: [
        "refer", pid, "--need", "Z59.0", "--hub", "Some Other Hub",
    ],
    "completed -> requested": lambda pid, rid: ["referral", "status", rid, "requested"],
    "rejected without reason": lambda pid, rid: ["referral", "status", rid, "rejected"],
    "malformed answers file": lambda pid, rid: [
        "screen", pid, "--answers", str(DATA / "malformed-answers.yaml"),
    ],
    "answer not allowed": lambda pid, rid: [
        "screen", pid, "--answers", str(DATA / "answers-bad-option.json"),
    ],
    "unknown status": lambda pid, rid: ["referral", "status", rid, "received"],
    "cancelled without reason": lambda pid, rid: ["referral", "status", rid, "cancelled"],
    "refer with a need not recorded": lambda pid, rid: [
        "refer", pid, "--need", "Z59.4", "--hub", HUB,
    ],
    "answers of the wrong type": lambda pid, rid: [
        "screen", pid, "--answers", str(DATA / "answers-wrong-type.yaml"),
    ],
    "answer out of range": lambda pid, rid: [
        "screen", pid, "--answers", str(DATA / "answers-out-of-range.json"),
    ],
    "truncated JSON answers": lambda pid, rid: [
        "screen", pid, "--answers", str(DATA / "answers-truncated.json"),
    ],
    "HTML page as answers": lambda pid, rid: [
        "screen", pid, "--answers", str(DATA / "answers-html.json"),
    ],
    "answers as a list": lambda pid, rid: [
        "screen", pid, "--answers", str(DATA / "answers-list.yaml"),
    ],
    "missing answers file": lambda pid, rid: [
        "screen", pid, "--answers", str(DATA / "no-such-file.yaml"),
    ],
}  # fmt: skip


# A record named by its id (or NHS number) that does not exist is "nothing found": exit 1,
# whichever command names it (the README's rule; these were exit 2 until issue 15).
NOT_FOUND = {
    "show unknown person": lambda pid, rid: ["person", "show", "nobody"],
    "unknown person": lambda pid, rid: ["need", "add", "no-such-person", "--code", "Z59.0"],
    "unknown service": lambda pid, rid: ["consent", "record", pid, "--service", "999999"],
    "unknown referral": lambda pid, rid: ["referral", "status", "no-such-referral", "accepted"],
    "show unknown referral": lambda pid, rid: ["referral", "show", "no-such-referral"],
    "refer to unknown service": lambda pid, rid: [
        "refer", pid, "--need", "Z59.0", "--service", "no-such-service",
    ],
    "refer unknown person": lambda pid, rid: [
        "refer", "no-such-person", "--need", "Z59.0", "--hub", HUB,
    ],
    "consent unknown person": lambda pid, rid: [
        "consent", "record", "no-such-person", "--hub", HUB,
    ],
    "show unknown service": lambda pid, rid: ["directory", "show", "no-such-service"],
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(NOT_FOUND))
def test_no_such_record_exit_1_nothing_written(cli, db_url: str, case: str) -> None:  # type: ignore[no-untyped-def]
    pid, rid = _prepare(cli, db_url)
    before = snapshot(db_url)
    result = cli(*NOT_FOUND[case](pid, rid), db=db_url)
    assert result.code == 1, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("linkwork: "), result.err
    assert "unknown" in lines[0] or "no service with id" in lines[0]
    assert snapshot(db_url) == before


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_one_line_exit_2_nothing_written(cli, db_url: str, case: str) -> None:  # type: ignore[no-untyped-def]
    pid, rid = _prepare(cli, db_url)
    if case == "completed -> requested":
        for status in ("accepted", "in-progress", "completed"):
            assert cli("referral", "status", rid, status, db=db_url).code == 0
    before = snapshot(db_url)
    result = cli(*BAD_INPUTS[case](pid, rid), db=db_url)
    assert result.code == 2, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("linkwork: "), result.err
    assert "Traceback" not in result.err
    assert snapshot(db_url) == before


def test_refusal_messages_say_why(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    pid, rid = _prepare(cli, db_url)
    bad = cli("person", "add", "--given", "B", "--family", "C", "--birth-date", "1980-01-01",
              "--nhs-number", "9434765918", db=db_url)  # fmt: skip
    assert "wrong check digit" in bad.err
    short = cli("person", "add", "--given", "B", "--family", "C", "--birth-date", "1980-01-01",
                "--nhs-number", "12345", db=db_url)  # fmt: skip
    assert "must be 10 digits" in short.err
    no_consent = cli("refer", pid, "--need", "Z59.0", "--hub", "Other Hub", db=db_url)
    assert "consent" in no_consent.err
    no_reason = cli("referral", "status", rid, "rejected", db=db_url)
    assert "reason is required" in no_reason.err
    wrong_type = cli("screen", pid, "--answers", DATA / "answers-wrong-type.yaml", db=db_url)
    assert "ons4.satisfied must be a whole number" in wrong_type.err
    out_of_range = cli("screen", pid, "--answers", DATA / "answers-out-of-range.json", db=db_url)
    assert "ons4.anxious must be from 0 to 10" in out_of_range.err
    truncated = cli("screen", pid, "--answers", DATA / "answers-truncated.json", db=db_url)
    assert "answers-truncated.json is not valid JSON" in truncated.err
    assert "(line 1, column " in truncated.err
    malformed = cli("screen", pid, "--answers", DATA / "malformed-answers.yaml", db=db_url)
    assert "not valid YAML" in malformed.err and "(line 3, column 1)" in malformed.err


def test_withdrawn_consent_is_shown_and_blocks_sending(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    pid = _add_person(cli, db_url)
    assert cli("need", "add", pid, "--code", "Z59.6", db=db_url).code == 0
    cid = cli("consent", "record", pid, "--hub", HUB, "--json", db=db_url).json()["id"]
    draft = cli("refer", pid, "--need", "Z59.6", "--hub", HUB, "--draft", "--json", db=db_url)
    assert draft.json()["status"] == "draft"
    withdrawn = cli("consent", "withdraw", cid, "--reason", "asked us to stop", "--json", db=db_url)
    assert withdrawn.code == 0 and withdrawn.json()["active"] is False
    send = cli("referral", "status", draft.json()["id"], "requested", db=db_url)
    assert send.code == 2 and "consent" in send.err


def test_editing_an_audit_row_makes_verify_fail_naming_it(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _prepare(cli, db_url)
    ok = cli("audit", "verify", "--json", db=db_url)
    assert ok.code == 0 and ok.json()["ok"] is True
    checked = ok.json()["checked"]
    assert checked >= 4
    engine = lwdb.create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_event SET action = 'view' WHERE seq = 2"))
    engine.dispose()
    broken = cli("audit", "verify", db=db_url)
    assert broken.code == 2
    assert "seq 2" in broken.err and broken.err.count("\n") == 1
    as_json = cli("audit", "verify", "--json", db=db_url)
    assert as_json.code == 2 and as_json.json()["broken_seq"] == 2


def test_audit_verify_help_mentions_exit_2(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("audit", "verify", "--help")
    assert result.code == 0
    assert "exit 2" in " ".join(result.out.split())


def test_need_add_by_lay_words(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    pid = _add_person(cli, db_url)
    added = cli("need", "add", pid, "--search", "sofa surfing", "--json", db=db_url)
    assert added.code == 0, added.err
    assert added.json()["code"] == "Z59.0"
    assert added.json()["words"] == "sofa surfing"
    again = cli("need", "add", pid, "--code", "z590", db=db_url)
    assert again.code == 2 and "already an active need" in again.err


def test_screen_interactive_prompts(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from screening.questionnaire import load_questionnaire

    pid = _add_person(cli, db_url)
    q = load_questionnaire()
    replies = []
    for question in q.questions():
        if question.id == "housing.situation":
            codes = [o.code for o in question.options]
            replies.append(str(codes.index("rough-sleeping") + 1))
        elif question.id == "ons4.happy":
            replies.append("12")  # out of range: asked again
            replies.append("8")
        else:
            replies.append("")  # skipped
    replies.append("y")  # record Z59.0
    replies.append("lives in a tent")  # their words
    result = cli("screen", pid, db=db_url, stdin="\n".join(replies) + "\n")
    assert result.code == 0, result.err
    needs = cli("need", "list", pid, "--json", db=db_url).json()
    assert [(n["code"], n["words"]) for n in needs] == [("Z59.0", "lives in a tent")]


def test_followups_lists_overdue(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    _, rid = _prepare(cli, db_url)
    assert cli("followups", db=db_url).code == 1  # due in 14 days: nothing yet
    engine = lwdb.create_engine(db_url)
    with engine.begin() as conn:
        due = conn.execute(sa.text("SELECT followup_due FROM referral")).scalar_one()
        if isinstance(due, str):
            from datetime import date

            due = date.fromisoformat(due)
        conn.execute(
            sa.text("UPDATE referral SET followup_due = :d"), {"d": due - timedelta(days=20)}
        )
    engine.dispose()
    listed = cli("followups", "--json", db=db_url)
    assert listed.code == 0, listed.err
    assert [(r["id"], r["followup"]) for r in listed.json()] == [(rid, "overdue")]


def test_practice_questions_person_find_and_update(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    pid = _add_person(cli, db_url, "--postcode", "ZZ2 3CD")
    answers = DATA / "extra-answers.yaml"
    without = cli("screen", pid, "--answers", answers, db=db_url)
    assert without.code == 2 and "unknown question 'practice.pets'" in without.err
    screened = cli("screen", pid, "--answers", answers, "--questions",
                   DATA / "extra-questions.yaml", "--json", db=db_url)  # fmt: skip
    assert screened.code == 0, screened.err
    assert [s["code"] for s in screened.json()["suggestions"]] == ["Z60.2"]
    assert screened.json()["questionnaire"].endswith("+practice-y02101")

    found = cli("person", "find", "ann", "example", "--json", db=db_url)
    assert [p["id"] for p in found.json()] == [pid]
    assert cli("person", "find", "nobody", "here", db=db_url).code == 1
    updated = cli("person", "update", pid, "--religion", "prefer not to say",
                  "--postcode", "zz5 9xy", "--json", db=db_url)  # fmt: skip
    assert updated.code == 0, updated.err
    assert (updated.json()["religion"], updated.json()["postcode"]) == (
        "prefer-not-to-say",
        "ZZ5 9XY",
    )
    assert cli("person", "find", "ZZ59XY", db=db_url).code == 0


def test_refer_to_a_service_without_or_after_withdrawn_consent(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    assert cli("directory", "load-sample", db=db_url).code == 0
    found = cli("directory", "search", "food bank", "--limit", "1", "--json", db=db_url)
    service = found.json()[0]
    pid = _add_person(cli, db_url)
    assert cli("need", "add", pid, "--code", "Z59.4", db=db_url).code == 0
    refer = ("refer", pid, "--need", "Z59.4", "--service", service["id"])
    before = snapshot(db_url)
    none = cli(*refer, db=db_url)
    assert none.code == 2 and none.err.count("\n") == 1
    assert "no consent recorded" in none.err
    assert service["name"] in none.err and service["id"] in none.err  # as the user knows it
    assert snapshot(db_url) == before
    cid = cli("consent", "record", pid, "--service", service["id"], "--json", db=db_url)
    assert cli("consent", "withdraw", cid.json()["id"], db=db_url).code == 0
    before = snapshot(db_url)
    after = cli(*refer, db=db_url)
    assert after.code == 2 and "has been withdrawn" in after.err
    assert snapshot(db_url) == before
