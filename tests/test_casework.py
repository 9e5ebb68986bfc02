"""Casework (issue 20): episodes, contacts, notes, goals, the caseload and fixing a need,
by the CLI on SQLite and PostgreSQL; bad input refused in one line with nothing changed."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from db_rows_support import rows_hash
from test_access_pg import A, _add_person, _psql, site  # noqa: F401  (site: a fixture)
from test_exchange_support import make_service

from linkwork import db as lwdb
from linkwork.actions import casework as act
from linkwork.settings import load_settings
from linkwork.workspace import Workspace
from screening.casework.common import parse_day, parse_when
from screening.casework.concepts import STARTED, UNCHECKED

PRACTICE = "Y02101"
CASEWORK_TABLES = ("episode", "contact", "case_note", "goal", "goal_progress")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def practice_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINKWORK_PRACTICE", PRACTICE)


def ok(cli: Any, *args: str, db: str) -> Any:
    result = cli(*args, "--json", db=db)
    assert result.code == 0, (args, result.err)
    return result.json()


def refused(cli: Any, *args: str, db: str, code: int = 2) -> str:
    result = cli(*args, db=db)
    assert result.code == code, (args, result.out, result.err)
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("linkwork: "), result.err
    assert result.out == ""
    return lines[0]


def rows(url: str, sql: str, **params: Any) -> list[Any]:
    engine = lwdb.open_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params).all())
    finally:
        engine.dispose()


def dump(url: str) -> str:
    """Every table's rows, sorted, hashed: equal = nothing changed."""
    return rows_hash(url)


def person(cli: Any, db: str, family: str = "Example") -> str:
    made = ok(
        cli, "person", "add", "--given", "Ann", "--family", family,
        "--birth-date", "06/05/1970", db=db,
    )  # fmt: skip
    return str(made["id"])


def with_service(url: str) -> None:
    engine = lwdb.open_engine(url)
    try:
        with lwdb.session_scope(engine) as session:
            make_service(session)
    finally:
        engine.dispose()


def local(days: int, hour: int = 10) -> str:
    """A date and time as a link worker types it, ``days`` from today (local time)."""
    return (datetime.now() + timedelta(days=days)).strftime(f"%Y-%m-%d {hour:02d}:00")


# --- the whole episode ----------------------------------------------------------------------


def test_a_whole_episode_by_cli(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    with_service(db_url)
    ann = person(cli, db_url)
    ok(cli, "need", "add", ann, "--code", "Z59.0", db=db_url)

    started = ok(cli, "episode", "start", ann, "--source", "self", db=db_url)
    assert (started["status"], started["source"]) == ("open", "self")
    assert (started["code"], started["code_display"]) == (
        "871731000000106",
        "Referral to social prescribing service",
    )
    assert "already has an open episode" in refused(cli, "episode", "start", ann, db=db_url)

    ok(cli, "episode", "what-matters", ann, "Seeing my grandchildren; a settled home", db=db_url)
    ok(cli, "note", "add", ann, "Sleeping on her sister's sofa since October", db=db_url)
    home = ok(
        cli, "goal", "add", ann, "Somewhere settled to live", "--need", "Z59.0",
        "--by", (date.today() + timedelta(days=90)).strftime("%d/%m/%Y"), db=db_url,
    )  # fmt: skip
    walk = ok(cli, "goal", "add", ann, "Join a walking group", db=db_url)
    assert home["need"]["code"] == "Z59.0" and walk["need"] is None

    first = ok(
        cli, "contact", "add", ann, "--when", local(-20), "--kind", "face-to-face",
        "--minutes", "50", "--ons4", "4,5,4,7", db=db_url,
    )  # fmt: skip
    assert first["status"] == "attended"  # a past contact, no status given
    missed = ok(
        cli, "contact", "add", ann, "--when", local(-13), "--kind", "phone",
        "--status", "did-not-attend", db=db_url,
    )  # fmt: skip
    review = ok(
        cli, "contact", "add", ann, "--when", local(-1), "--kind", "home-visit",
        "--status", "booked", db=db_url,
    )  # fmt: skip
    assert review["needs_outcome"] is True  # booked, and its time has passed
    load = ok(cli, "caseload", db=db_url)
    assert [(r["person_id"], r["no_outcome"], r["contacts"]) for r in load] == [(ann, 1, 2)]
    changed = ok(
        cli, "contact", "status", review["id"], "--status", "attended", "--minutes", "40",
        "--ons4", "6,7,6,4", db=db_url,
    )  # fmt: skip
    assert (changed["status"], changed["needs_outcome"]) == ("attended", False)
    assert "not booked" in refused(
        cli, "contact", "status", missed["id"], "--status", "attended", db=db_url
    )

    referral = ok(
        cli, "refer", ann, "--need", "Z59.0", "--service", "svc-101", "--reason",
        "sofa surfing", "--consent", "verbal", "--shares", "needs,contact", db=db_url,
    )  # fmt: skip
    ok(cli, "goal", "progress", home["id"], "some", db=db_url)
    ok(cli, "goal", "progress", walk["id"], "achieved", "--on", local(-2)[:10], db=db_url)

    listed = {g["id"]: g for g in ok(cli, "goal", "list", ann, db=db_url)}
    assert [(r["id"], r["to"]) for r in listed[home["id"]]["referrals"]] == [
        (referral["id"], "Riverside Money Advice")
    ]
    assert listed[walk["id"]]["referrals"] == []
    assert [h["progress"] for h in listed[walk["id"]]["history"]] == ["achieved"]
    assert listed[walk["id"]]["progress_on"] == local(-2)[:10]

    contacts = ok(cli, "contact", "list", ann, db=db_url)
    assert [c["status"] for c in contacts] == ["attended", "did-not-attend", "attended"]

    record = ok(cli, "person", "show", ann, db=db_url)
    trend = [
        (t["when"], t["satisfied"], t["worthwhile"], t["happy"], t["anxious"])
        for t in record["ons4_trend"]
    ]
    assert trend == [("start", 4, 5, 4, 7), ("review", 6, 7, 6, 4)]

    closed = ok(cli, "episode", "close", ann, "--reason", "goals-met", db=db_url)
    assert (closed["status"], closed["end_reason"], closed["contacts"]) == (
        "closed",
        "goals-met",
        3,
    )
    assert "no open episodes" in refused(cli, "caseload", db=db_url, code=1)
    assert "no open social prescribing episode" in refused(
        cli, "goal", "add", ann, "Another goal", db=db_url
    )

    # Every casework row is held by the practice; every change is audited on the person.
    for table in CASEWORK_TABLES:
        assert {r[0] for r in rows(db_url, f"SELECT org FROM {table}")} == {PRACTICE}, table
    audited = rows(
        db_url,
        "SELECT action, entity FROM audit_event WHERE person_id = :p "
        "AND entity IN ('episode', 'contact', 'goal') ORDER BY seq",
        p=ann,
    )
    assert [tuple(r) for r in audited] == [
        ("create", "episode"),
        ("what-matters", "episode"),
        ("create", "goal"),
        ("create", "goal"),
        ("create", "contact"),
        ("create", "contact"),
        ("create", "contact"),
        ("status", "contact"),
        ("progress", "goal"),
        ("progress", "goal"),
        ("close", "episode"),
    ]
    assert rows(db_url, "SELECT count(*) FROM audit_event WHERE person_id IS NULL AND "
                "entity IN ('episode', 'contact', 'goal', 'case-note')")[0][0] == 0  # fmt: skip

    # A new episode may start after the close; the start concept is recorded once each.
    again = ok(cli, "episode", "start", ann, db=db_url)
    assert again["id"] != started["id"]
    episodes = rows(db_url, "SELECT code FROM episode WHERE person_id = :p", p=ann)
    assert sorted(r[0] for r in episodes) == ["871731000000106"] * 2


def test_declining_records_no_unchecked_concept(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    ann = person(cli, db_url)
    declined = ok(cli, "episode", "decline", ann, "--note", "does not want it now", db=db_url)
    assert (declined["status"], declined["end_reason"]) == ("declined", "declined")
    assert declined["code"] == ""  # 871711000000103 could not be checked: not recorded
    assert "871711000000103" in UNCHECKED
    # Declining ends an open episode, which keeps its start concept.
    ok(cli, "episode", "start", ann, db=db_url)
    ended = ok(cli, "episode", "decline", ann, db=db_url)
    assert (ended["status"], ended["code"]) == ("declined", "871731000000106")
    assert [r[0] for r in rows(db_url, "SELECT status FROM episode")] == ["declined"] * 2


# --- notes ------------------------------------------------------------------------------------


def test_a_note_is_corrected_by_a_new_note_and_kept(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    ann = person(cli, db_url)
    first = ok(cli, "note", "add", ann, "Rang on Monday: no answer", db=db_url)
    fixed = ok(cli, "note", "correct", first["id"], "Rang on Tuesday: no answer", db=db_url)
    assert fixed["corrects"] == first["id"]
    notes = {n["id"]: n for n in ok(cli, "note", "list", ann, db=db_url)}
    assert notes[first["id"]]["text"] == "Rang on Monday: no answer"
    assert (notes[first["id"]]["current"], notes[first["id"]]["corrected_by"]) == (
        False,
        fixed["id"],
    )
    assert notes[fixed["id"]]["current"] is True
    assert "corrected already" in refused(cli, "note", "correct", first["id"], "x", db=db_url)
    audited = rows(
        db_url,
        "SELECT action, entity_id FROM audit_event WHERE entity = 'case-note' ORDER BY seq",
    )
    assert [tuple(r) for r in audited] == [("create", first["id"]), ("correct", first["id"])]


def test_notes_never_leave_the_organisation() -> None:
    """Nothing that sends, exports or counts reads the notes table."""
    readers = [
        path.relative_to(ROOT).as_posix()
        for folder in ("screening/exchange", "screening/counts", "linkwork/actions")
        for path in sorted((ROOT / folder).glob("*.py"))
        if re.search(
            r"CaseNote|case_note|casework\.notes|casework import .*\bnotes\b",
            path.read_text(encoding="utf-8"),
        )
    ]
    assert readers == ["linkwork/actions/casework.py"]


# --- bad input: one line, exit 2 (1 for nobody found), nothing changed ------------------------


BAD = [
    (["contact", "add", "{p}", "--when", "{future}", "--kind", "phone", "--status", "attended"],
     2, "in the future"),
    (["contact", "add", "{p}", "--when", "{past}", "--kind", "phone", "--ons4", "7,8,11,2"],
     2, "from 0 to 10"),
    (["contact", "add", "{p}", "--when", "{past}", "--kind", "phone", "--ons4", "7,8,-1,2"],
     2, "from 0 to 10"),
    (["contact", "add", "{p}", "--when", "{past}", "--kind", "phone", "--status",
      "did-not-attend", "--ons4", "7,8,6,2"], 2, "attended contact"),
    (["contact", "add", "{p}", "--when", "31/02/2026 10:00", "--kind", "phone"], 2, "real date"),
    (["contact", "add", "{p}", "--when", "{past}", "--kind", "carrier-pigeon"], 2, "kind"),
    (["contact", "add", "nobody-at-all", "--when", "{past}", "--kind", "phone"], 1,
     "unknown person"),
    (["goal", "add", "{q}", "Get out more"], 2, "no open social prescribing episode"),
    (["goal", "add", "{p}", "Get out more", "--need", "Z59.0"], 2, "not an active need"),
    (["goal", "progress", "{goal}", "nearly"], 2, "not one of"),
    (["note", "add", "{p}", "{long}"], 2, "too long"),
    (["note", "add", "{p}", "Ann said \x1b]0;owned\x07 hello"], 2, "control character"),
    (["note", "add", "{p}", "tab\x00nul"], 2, "control character"),
    (["episode", "close", "{p}", "--reason", "bored"], 2, "not one of"),
    (["episode", "start", "{q}", "--source", "radio"], 2, "not one of"),
    (["episode", "what-matters", "{q}", "Family"], 2, "no open social prescribing episode"),
    (["need", "withdraw", "{need}", "--reason", ""], 2, "give a reason"),
    (["need", "correct", "{need}", "Z59.0"], 2, "already"),
]  # fmt: skip


def test_bad_input_is_one_line_and_changes_nothing(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    ann = person(cli, db_url)
    other = person(cli, db_url, "Nobodysepisode")
    need = ok(cli, "need", "add", other, "--code", "Z59.0", db=db_url)
    ok(cli, "episode", "start", ann, db=db_url)
    goal = ok(cli, "goal", "add", ann, "Sleep better", db=db_url)
    values = {
        "{p}": ann,
        "{q}": other,
        "{goal}": goal["id"],
        "{need}": need["id"],
        "{future}": local(3),
        "{past}": local(-3),
        "{long}": "x" * 100_000,
    }
    before = dump(db_url)
    for argv, code, says in BAD:
        args = [values.get(a, a) for a in argv]
        line = refused(cli, *args, db=db_url, code=code)
        assert says in line, (argv, line)
        assert "\x1b" not in line and "\x00" not in line
        assert dump(db_url) == before, argv


# --- the caseload -----------------------------------------------------------------------------


def test_caseload_flags_and_fits_80_columns(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    ws = Workspace(load_settings(database_url=db_url))
    quiet = person(cli, db_url, "Quietly-Longfamilyname-Smith")
    busy = person(cli, db_url, "Busy")
    someone_elses = person(cli, db_url, "Elsewhere")
    now = datetime.now(UTC)
    act.start_episode(ws, quiet, at=now - timedelta(weeks=5))
    act.start_episode(ws, busy, at=now - timedelta(weeks=5))
    act.add_contact(ws, busy, at=local(-2), kind="phone", status="attended")
    act.add_contact(ws, busy, at=local(-1), kind="video", status="booked")
    act.add_contact(ws, busy, at=local(6), kind="group")
    other = Workspace(load_settings(database_url=db_url, user="someone.else"))
    act.start_episode(other, someone_elses)

    load = {r["person_id"]: r for r in ok(cli, "caseload", db=db_url)}
    assert set(load) == {quiet, busy}  # mine only
    assert (load[quiet]["quiet"], load[quiet]["last_contact"], load[quiet]["no_outcome"]) == (
        True,
        None,
        0,
    )
    assert load[quiet]["days_since_contact"] >= 35
    assert (load[busy]["quiet"], load[busy]["no_outcome"]) == (False, 1)
    assert load[busy]["last_contact"]["status"] == "attended"
    assert load[busy]["next_contact"]["kind"] == "group"
    assert len(ok(cli, "caseload", "--all", db=db_url)) == 3
    assert [r["person_id"] for r in ok(cli, "caseload", "--sort", "next", db=db_url)] == [
        busy,
        quiet,
    ]
    assert not ok(cli, "caseload", "--quiet-weeks", "6", db=db_url)[0]["quiet"]

    shown = cli("caseload", db=db_url)
    assert shown.code == 0, shown.err
    lines = shown.out.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert any(busy[:8] in line and "1 without outcome" in line for line in lines)
    assert any(quiet[:8] in line and "quiet 5 wk" in line for line in lines)
    audited = rows(db_url, "SELECT count(*) FROM audit_event WHERE entity_id = 'caseload'")
    assert audited[0][0] >= 1


# --- needs fixed: resolve (existing), correct, withdraw -----------------------------------------


def test_a_need_is_corrected_or_withdrawn_never_deleted(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    ann = person(cli, db_url)
    wrong = ok(cli, "need", "add", ann, "--code", "Z59.0", "--words", "no heating", db=db_url)
    right = ok(cli, "need", "correct", wrong["id"], "Z59.1", "--reason", "typo", db=db_url)
    assert (right["code"], right["status"], right["words"]) == ("Z59.1", "active", "no heating")
    assert (right["corrects"]["id"], right["corrects"]["status"]) == (wrong["id"], "corrected")
    # Counted once, under the right code, on the day first recorded.
    counted = rows(db_url, "SELECT need_id, code FROM count_need")
    assert [tuple(r) for r in counted] == [(right["id"], "Z59.1")]

    gone = ok(cli, "need", "withdraw", right["id"], "--reason", "recorded for the wrong person",
              db=db_url)  # fmt: skip
    assert gone["status"] == "withdrawn"
    statuses = dict(rows(db_url, "SELECT id, status FROM need WHERE person_id = :p", p=ann))
    assert statuses == {wrong["id"]: "corrected", right["id"]: "withdrawn"}
    assert "withdrawn already" in refused(
        cli, "need", "withdraw", right["id"], "--reason", "again", db=db_url
    )
    audited = rows(
        db_url,
        "SELECT action, entity_id FROM audit_event WHERE entity = 'need' AND person_id = :p "
        "ORDER BY seq",
        p=ann,
    )
    assert [tuple(r) for r in audited] == [
        ("create", wrong["id"]),
        ("correct", wrong["id"]),
        ("create", right["id"]),
        ("withdraw", right["id"]),
    ]
    listed = ok(cli, "need", "list", ann, "--status", "withdrawn", db=db_url)
    assert [n["id"] for n in listed] == [right["id"]]


# --- pure parts -------------------------------------------------------------------------------


def _verhoeff_ok(number: str) -> bool:
    d = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6], [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8], [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2], [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ]  # fmt: skip
    p = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2], [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0], [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5], [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ]  # fmt: skip
    c = 0
    for i, digit in enumerate(reversed(number)):
        c = d[c][p[i % 8][int(digit)]]
    return c == 0


def test_concept_ids_are_well_formed_extension_concepts() -> None:
    for code in (STARTED.code, *UNCHECKED):
        assert _verhoeff_ok(code), code
        assert code[-3:-1] == "10", code  # partition: a concept id in an extension namespace
        assert code[-10:-3] == "1000000", code  # the UK namespace
    assert not _verhoeff_ok("871731000000107")  # the check can fail


def test_dates_and_times_as_typed() -> None:
    assert parse_day("03/07/2026") == date(2026, 7, 3)
    assert parse_day("2026-07-03") == date(2026, 7, 3)
    with pytest.raises(ValueError, match="not a real date"):
        parse_day("30/02/2026")
    with pytest.raises(ValueError, match="year in full"):
        parse_day("03/07/26")
    assert parse_when("2026-07-03 14:30") == datetime(2026, 7, 3, 14, 30).astimezone(UTC)
    assert parse_when("03/07/2026") == datetime(2026, 7, 3, 9, 0).astimezone(UTC)
    with pytest.raises(ValueError, match="HH:MM"):
        parse_when("2026-07-03 25:00")
    with pytest.raises(ValueError, match="not a date"):
        parse_when("next tuesday")


# --- PostgreSQL: each organisation's casework is its own (logins, row-level security) ---------


def test_casework_rows_are_seen_only_by_their_organisation(cli, site) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    worker_a, worker_b = site.logins["worker_a"], site.logins["worker_b"]
    lead = site.logins["lead"]
    ann = _add_person(cli, worker_a.url, "Ashby", A)
    ok(cli, "episode", "start", ann, db=worker_a.url)
    ok(cli, "note", "add", ann, "Only practice A reads this", db=worker_a.url)
    ok(cli, "goal", "add", ann, "Walk to the shops", db=worker_a.url)
    ok(cli, "contact", "add", ann, "--when", local(-1), "--kind", "phone", db=worker_a.url)

    assert [r["person_id"] for r in ok(cli, "caseload", db=worker_a.url)] == [ann]
    assert "no open episodes" in refused(cli, "caseload", "--all", db=worker_b.url, code=1)
    # worker B is told "no access", and writes nothing into A's casework
    assert "no access" in refused(cli, "note", "add", ann, "B's words", db=worker_b.url)
    for table in CASEWORK_TABLES:
        mine = _psql(worker_a, f"SELECT count(*) FROM {table}")
        theirs = _psql(worker_b, f"SELECT count(*) FROM {table}")
        assert (mine.returncode, theirs.returncode) == (0, 0), (mine.stderr, theirs.stderr)
        assert (int(theirs.stdout), int(mine.stdout) > 0) == (0, table != "goal_progress")
        denied = _psql(lead, f"SELECT count(*) FROM {table}")
        assert f"permission denied for table {table}" in denied.stderr
    forged = _psql(
        worker_a,
        "INSERT INTO case_note (id, person_id, text, written_at, created_by, org) "
        f"VALUES ('n1', '{ann}', 'x', now(), 'somebody.else', '{A}')",
    )
    assert forged.returncode != 0 and "the actor must be your login" in forged.stderr
    deleted = _psql(worker_a, "DELETE FROM case_note")
    assert deleted.returncode != 0 and "permission denied" in deleted.stderr
    owner = sa.create_engine(lwdb.normalise_url(site.owner_url))
    with owner.connect() as conn:
        written = conn.exec_driver_sql("SELECT created_by, org FROM case_note").all()
    owner.dispose()
    assert [tuple(r) for r in written] == [(worker_a.name, A)]
