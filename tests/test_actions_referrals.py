"""The referral loop is one set of actions: the CLI's commands and the app's calls (made
exactly as the screens make them) give the same result and the same audit rows on fresh
databases, and refuse with the same words.

Covered: refer with consent (and send), export (one outbox file name), finding our key
(the same messages), receiving a file (the size cap applies to the app's inbox import
too), status with outcome (ONS4 parsed once), the board's rows."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select
from test_exchange_support import make_referral, make_service

from linkwork import db as lwdb
from linkwork.actions import exchange as ex
from linkwork.actions import referrals as act
from linkwork.errors import KeyLocked, plain_error
from linkwork.settings import load_settings
from linkwork.workspace import Workspace
from screening.exchange.jose import MAX_FILE_BYTES
from screening.exchange.keys import load_public_key, trust_key, write_key_pair
from screening.models import AuditEvent, Need, Referral
from screening.needs import add_need
from screening.people import create_person

NHS = "9434765919"


def _fresh_db(
    request: pytest.FixtureRequest, db_url: str, tmp_path: Path, name: str
) -> Iterator[str]:
    """Another fresh database on the same backend as ``db_url``."""
    if db_url.startswith("sqlite"):
        target = tmp_path / f"{name}.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    import conftest

    yield from conftest.pg_database(request)


@pytest.fixture
def app_url(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[str]:
    """The app's database, beside the CLI's ``db_url``."""
    yield from _fresh_db(request, db_url, tmp_path, "app")


@pytest.fixture
def source_url(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[str]:
    """A third database: the practice that sends the files the two others receive."""
    yield from _fresh_db(request, db_url, tmp_path, "source")


def workspace(url: str) -> Workspace:
    """The app's workspace (as ``LinkworkApp`` makes it) on ``url``."""
    return Workspace(load_settings(database_url=url))


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SHORT_ID = re.compile(r"\b[0-9a-f]{8}\b")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?")


def plain(value: Any) -> Any:
    """``value`` with ids, their 8-character starts and times replaced by placeholders."""
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return SHORT_ID.sub("<id8>", TIME.sub("<time>", UUID.sub("<id>", value)))
    return value


def audit(url: str) -> list[tuple[str, str, Any, str]]:
    """The audit trail as (action, entity, detail, actor), ids and times left out."""
    engine = lwdb.open_engine(url)
    try:
        with Session(engine) as session:
            rows = session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()  # type: ignore[arg-type]
            return [(e.action, e.entity, plain(e.detail), e.actor) for e in rows]
    finally:
        engine.dispose()


def practice(url: str, hub_public: Path | None = None) -> dict[str, Any]:
    """One person with two active needs, one directory service, and (given its public
    key) the trusted hub: the same on every database."""
    engine = lwdb.open_engine(url)
    try:
        with lwdb.session_scope(engine) as session:
            service_id = make_service(session)
            person = create_person(
                session,
                given_name="Robin",
                family_name="Ashworth",
                birth_date=date(1961, 7, 3),
                nhs_number=NHS,
                actor="test.worker",
            )
            needs = [
                add_need(session, person, code, actor="test.worker").id
                for code in ("Z59.0", "Z59.4")
            ]
            if hub_public is not None:
                trust_key(session, load_public_key(hub_public), "hub", "test.worker")
            return {"person": person.id, "needs": needs, "service": service_id}
    finally:
        engine.dispose()


@pytest.fixture
def keys(isolated_home: Path, tmp_path: Path) -> dict[str, Path]:
    """Our key, the only one in the keys folder, and a hub's key pair elsewhere."""
    ours = write_key_pair(load_settings().dir_or_default("keys_dir"), "practice")
    hub = write_key_pair(tmp_path / "hub-keys", "hub")
    return {"private": ours.private, "public": ours.public, "hub_public": hub.public,
            "hub_private": hub.private}  # fmt: skip


def outbox() -> list[Path]:
    return sorted(load_settings().dir_or_default("outbox").glob("*.jwe"))


# -- refer with consent ------------------------------------------------------------------


def test_refer_with_consent_and_send_is_one_action(cli, db_url, app_url, keys):  # type: ignore[no-untyped-def]
    on_cli = practice(db_url, keys["hub_public"])
    on_app = practice(app_url, keys["hub_public"])

    result = cli(
        "refer", on_cli["person"], "--need", "Z59.0", "--service", "svc-101",
        "--reason", "sofa surfing", "--consent", "verbal", "--shares", "needs,contact",
        "--send-to", "hub", "--json", db=db_url,
    )  # fmt: skip
    assert result.code == 0, result.err
    from_cli = result.json()
    # The referral screen's call: need ids, the service's internal id, consent ticked.
    from_app = act.refer(
        workspace(app_url),
        on_app["person"],
        [on_app["needs"][0]],
        service=on_app["service"],
        reason="sofa surfing",
        consent=(["needs", "contact"], "verbal"),
        send_to="hub",
    )

    assert plain(from_cli) == plain(from_app)
    assert from_app["status"] == "requested" and from_app["sent_to"] == "hub"
    assert [n["code"] for n in from_app["needs"]] == ["Z59.0"]
    assert from_app["consent"]["shares"] == ["needs", "contact"]
    assert from_app["consent_id"] == from_app["consent"]["id"]
    assert from_app["message"].startswith("Referral sent: REQUESTED (")
    # One file name pattern, both in the outbox.
    files = outbox()
    assert sorted(str(f) for f in files) == sorted([from_cli["file"], from_app["file"]])
    for made in (from_cli, from_app):
        name = Path(made["file"]).name
        assert re.fullmatch(rf"referral-{made['id'][:8]}-[0-9a-f]{{8}}\.jwe", name), name
    assert audit(db_url) == audit(app_url)
    assert [(a, e) for a, e, _, _ in audit(app_url)][-3:] == [
        ("create", "consent"),
        ("create", "referral"),
        ("export", "referral"),
    ]


def test_refer_refusals_say_the_same_and_write_nothing(cli, db_url, app_url, keys):  # type: ignore[no-untyped-def]
    on_cli = practice(db_url, keys["hub_public"])
    on_app = practice(app_url, keys["hub_public"])
    before = (audit(db_url), audit(app_url))
    # No consent given now nor recorded before.
    no_consent = cli(
        "refer", on_cli["person"], "--need", "Z59.4", "--service", "svc-101", db=db_url
    )
    with pytest.raises(ValueError, match="no consent recorded to share with service") as refused:
        act.refer(workspace(app_url), on_app["person"], [on_app["needs"][1]],
                  service=on_app["service"])  # fmt: skip
    assert no_consent.code == 2
    assert no_consent.err.strip() == f"linkwork: {plain_error(refused.value)}"
    assert "no consent recorded" in no_consent.err
    # A partner nobody trusts: consent and referral are not kept either (one transaction).
    stranger = cli(
        "refer", on_cli["person"], "--need", "Z59.4", "--service", "svc-101",
        "--consent", "written", "--send-to", "nobody", db=db_url,
    )  # fmt: skip
    with pytest.raises(LookupError, match="no trusted partner called 'nobody'") as unknown:
        act.refer(workspace(app_url), on_app["person"], [on_app["needs"][1]],
                  service=on_app["service"], consent=(None, "written"),
                  send_to="nobody")  # fmt: skip
    assert stranger.code == 2
    assert stranger.err.strip() == f"linkwork: {plain_error(unknown.value)}"
    assert (audit(db_url), audit(app_url)) == before
    assert outbox() == []


def test_needs_are_chosen_by_one_resolver(app_url: str) -> None:
    on_app = practice(app_url)
    ws = workspace(app_url)
    ref = on_app["person"]
    # By id, by its first 8 characters, by code with or without the dot.
    for need in (on_app["needs"][0], on_app["needs"][0][:8], "Z59.0", "z590"):
        made = act.refer(ws, ref, [need], service=on_app["service"], draft=True)
        assert [n["code"] for n in made["needs"]] == ["Z59.0"], need
        assert made["status"] == "draft" and made["file"] is None
    with pytest.raises(LookupError, match=r"Robin Ashworth has no active need 'Z63\.0'"):
        act.refer(ws, ref, ["Z63.0"], service=on_app["service"], draft=True)
    with pytest.raises(ValueError, match="choose at least one need"):
        act.refer(ws, ref, [], service=on_app["service"], draft=True)


# -- export: one outbox file name ---------------------------------------------------------


def test_export_through_the_cli_and_the_refer_workflow_writes_the_same(cli, db_url, app_url, keys):  # type: ignore[no-untyped-def]
    on_cli = practice(db_url, keys["hub_public"])
    on_app = practice(app_url, keys["hub_public"])
    made = cli(
        "refer", on_cli["person"], "--need", "Z59.0", "--service", "svc-101",
        "--consent", "verbal", "--json", db=db_url,
    )  # fmt: skip
    assert made.code == 0, made.err
    assert made.json()["file"] is None and "No file written yet" in made.json()["message"]
    sent = cli("referral", "export", made.json()["id"][:8], "--to", "hub", "--json", db=db_url)
    assert sent.code == 0, sent.err
    act.refer(
        workspace(app_url), on_app["person"], [on_app["needs"][0]], service=on_app["service"],
        consent=(["needs", "contact"], "verbal"), send_to="hub",
    )  # fmt: skip
    names = [plain(f.name) for f in outbox()]
    assert names == ["referral-<id8>-<id8>.jwe"] * 2
    assert plain(sent.json()) | {"file": ""} == plain(
        ex.export_referral_files(workspace(db_url), [made.json()["id"]], "hub")[0]
    ) | {"file": ""}
    assert audit(db_url)[:-1] == audit(app_url)  # the CLI's second export aside


# -- our key: one finder, one set of messages ---------------------------------------------


def test_our_key_is_found_and_refused_in_the_same_words(cli, db_url, app_url, tmp_path):  # type: ignore[no-untyped-def]
    on_app = practice(app_url)
    folder = load_settings().dir_or_default("keys_dir")
    ws = workspace(app_url)

    def app_says() -> str:
        with pytest.raises(ValueError, match=r"private keys? in ") as refused:
            act.refer(ws, on_app["person"], ["Z59.0"], service=on_app["service"],
                      consent=(None, "verbal"), send_to="hub")  # fmt: skip
        return plain_error(refused.value)

    def cli_says() -> str:
        result = cli("referral", "open", tmp_path / "nothing.jwe", db=db_url)
        assert result.code == 2
        return result.err.strip().removeprefix("linkwork: ")

    before = audit(app_url)
    none = app_says()
    assert none == cli_says() and none.startswith(f"no private key in {folder}")
    write_key_pair(folder, "practice")
    write_key_pair(folder, "second")
    several = app_says()
    assert several == cli_says() and several.startswith(f"2 private keys in {folder}")
    assert "--key" in several
    assert audit(app_url) == before and audit(db_url) == []  # nothing recorded


def test_a_protected_key_is_opened_by_env_passphrase_or_unlocked_once(
    cli, db_url, app_url, monkeypatch, tmp_path
):  # type: ignore[no-untyped-def]
    folder = load_settings().dir_or_default("keys_dir")
    made = write_key_pair(folder, "practice", "correct horse")
    ws = workspace(app_url)
    assert ex.key_locked(ws)
    with pytest.raises(KeyLocked, match="is protected by a passphrase: give it with") as locked:
        ex.our_key(ws)
    result = cli("referral", "open", tmp_path / "nothing.jwe", db=db_url)
    assert result.err.strip() == f"linkwork: {plain_error(locked.value)}"
    assert "protected by a passphrase" in result.err
    # The CLI's passphrase from the environment, the app's unlocked once: the same key.
    monkeypatch.setenv("LW_PASS", "correct horse")
    opened = cli("referral", "open", tmp_path / "nothing.jwe", "--passphrase-env", "LW_PASS",
                 db=db_url)  # fmt: skip
    assert "nothing.jwe" in opened.err  # the key opened; the file is what is missing
    with pytest.raises(ValueError, match="wrong passphrase"):
        ex.unlock_key(ws, "wrong horse")
    assert ex.key_locked(ws)
    ex.unlock_key(ws, "correct horse")
    assert not ex.key_locked(ws) and ex.our_key(ws).kid == made.kid
    assert ex.our_key(ws, passphrase="correct horse").kid == made.kid


# -- receive: one bounded read --------------------------------------------------------------


def _hub_side(url: str, keys: dict[str, Path]) -> None:
    engine = lwdb.open_engine(url)
    with lwdb.session_scope(engine) as session:
        trust_key(session, load_public_key(keys["public"]), "practice", "test.worker")
    engine.dispose()


def test_receiving_a_file_is_the_same_through_cli_and_inbox(
    cli, db_url, app_url, source_url, tmp_path, monkeypatch
):  # type: ignore[no-untyped-def]
    # The receiving side's own key is the only one in its keys folder.
    sender = write_key_pair(tmp_path / "practice-keys", "practice")
    hub = write_key_pair(load_settings().dir_or_default("keys_dir"), "hub")
    keys = {"public": sender.public}
    _hub_side(db_url, keys)
    _hub_side(app_url, keys)
    made = make_referral(source_url)
    token = tmp_path / "referral.jwe"
    sent = cli("referral", "export", made.referral_id, "--to", hub.public, "--key",
               sender.private, "--out", token, db=source_url)  # fmt: skip
    assert sent.code == 0, sent.err

    got = cli("referral", "receive", token, "--json", db=db_url)
    assert got.code == 0, got.err
    inbox = load_settings().dir_or_default("inbox")
    inbox.mkdir(parents=True)
    shutil.copy(token, inbox / token.name)
    imported = ex.import_inbox(workspace(app_url))

    assert got.json()["status"] == "created"
    assert imported["outcomes"] == {"created": 1} and imported["refused"] == []
    assert imported["message"] == "Inbox: 1 files; 1 created"
    assert (inbox / "imported" / token.name).exists() and not (inbox / token.name).exists()
    assert audit(db_url) == audit(app_url)
    assert audit(app_url)[-1][:2] == ("import", "referral")


def test_a_file_over_the_cap_is_refused_in_the_same_words_by_both(
    cli, db_url, app_url, keys, tmp_path
):  # type: ignore[no-untyped-def]
    big = tmp_path / "big.jwe"
    with big.open("wb") as handle:
        handle.truncate(MAX_FILE_BYTES + 4096)  # sparse: cheap to make
    assert len(ex.read_exchange_file(big)) == MAX_FILE_BYTES + 1  # never read whole
    result = cli("referral", "receive", big, db=db_url)
    assert result.code == 2
    words = result.err.strip().removeprefix("linkwork: ")
    assert words.startswith("refused (too large)")

    inbox = load_settings().dir_or_default("inbox")
    inbox.mkdir(parents=True)
    shutil.move(big, inbox / big.name)
    imported = ex.import_inbox(workspace(app_url))
    assert imported["refused"] == [f"big.jwe: {words}"]
    assert imported["message"] == f"Inbox: 1 files; none imported; 1 refused (big.jwe: {words})"
    assert (inbox / big.name).exists()  # refused files stay where they are
    assert audit(db_url) == audit(app_url) == []


# -- status and outcome: one version --------------------------------------------------------


def _in_progress(cli, url: str, ids: dict[str, Any]) -> str:  # type: ignore[no-untyped-def]
    made = cli("refer", ids["person"], "--need", "Z59.0", "--need", "Z59.4", "--service",
               "svc-101", "--consent", "verbal", "--json", db=url)  # fmt: skip
    assert made.code == 0, made.err
    rid = str(made.json()["id"])
    for status in ("accepted", "in-progress"):
        assert cli("referral", "status", rid, status, db=url).code == 0
    return rid


def test_completing_with_an_outcome_is_one_action(cli, db_url, app_url, keys):  # type: ignore[no-untyped-def]
    cli_rid = _in_progress(cli, db_url, practice(db_url))
    on_app = practice(app_url)
    app_rid = _in_progress(cli, app_url, on_app)

    done = cli(
        "referral", "status", cli_rid, "completed", "--resolved", "Z59.0",
        "--ons4", "7,8,,2", "--note", "Debt plan agreed", "--json", db=db_url,
    )  # fmt: skip
    assert done.code == 0, done.err
    # The outcome form's call: the scores as typed, the ticked needs' ids.
    from_app = act.set_status(
        workspace(app_url),
        app_rid,
        "completed",
        reason="",
        resolved=[on_app["needs"][0]],
        ons4={"satisfied": "7", "worthwhile": "8", "happy": "", "anxious": "2"},
        note="Debt plan agreed",
    )
    assert plain(done.json()) == plain(from_app)

    def resolved(data: dict[str, Any]) -> dict[str, bool]:  # by code: ids differ per database
        codes = {n["id"]: n["code"] for n in data["needs"]}
        return {codes[k]: v for k, v in data["outcome"]["needs"].items()}

    assert resolved(done.json()) == resolved(from_app) == {"Z59.0": True, "Z59.4": False}
    assert from_app["outcome"]["ons4"] == {"satisfied": 7, "worthwhile": 8, "happy": None,
                                           "anxious": 2}  # fmt: skip
    assert audit(db_url) == audit(app_url)
    assert [(a, e) for a, e, _, _ in audit(app_url)][-2:] == [
        ("status", "referral"),
        ("create", "outcome"),
    ]
    text = act.outcome_text(workspace(app_url), app_rid)
    assert text == (
        "ONS4 life satisfaction 7, worthwhile 8, anxiety 2; resolved Z59.0; note: Debt plan agreed"
    )


@pytest.mark.parametrize(
    ("args", "call", "words"),
    [
        (("--ons4", "11,,,"), {"ons4": {"satisfied": "11"}},
         "Life satisfaction: use a whole number from 0 to 10"),
        (("--ons4", "x,,,"), {"ons4": {"satisfied": "x"}},
         "Life satisfaction: use a whole number from 0 to 10"),
        (("--note", "too soon"), {"note": "too soon", "status": "on-hold"},
         "an outcome goes with completed or failed, not on-hold"),
        (("--resolved", "Z63.0"), {"resolved": ["Z63.0"]}, "need 'Z63.0' is not part of referral"),
    ],
)  # fmt: skip
def test_outcome_refusals_say_the_same_and_save_nothing(cli, db_url, app_url, args, call, words):  # type: ignore[no-untyped-def]
    cli_rid = _in_progress(cli, db_url, practice(db_url))
    app_rid = _in_progress(cli, app_url, practice(app_url))
    before = (audit(db_url), audit(app_url))
    call = dict(call)  # the parameters are shared by both backends
    status = call.pop("status", "completed")
    result = cli("referral", "status", cli_rid, status, "--reason", "r", *args, db=db_url)
    with pytest.raises((ValueError, LookupError), match=re.escape(words)) as refused:
        act.set_status(workspace(app_url), app_rid, status, reason="r", **call)
    assert result.code == 2
    assert result.err.strip() == f"linkwork: {plain_error(refused.value)}".replace(
        app_rid[:8], cli_rid[:8]
    )
    assert (audit(db_url), audit(app_url)) == before


def test_ons4_is_parsed_once() -> None:
    assert act.parse_ons4("7, 8,,2") == {"satisfied": 7, "worthwhile": 8, "happy": None,
                                          "anxious": 2}  # fmt: skip
    assert act.parse_ons4({"happy": 3}) == {"satisfied": None, "worthwhile": None, "happy": 3,
                                            "anxious": None}  # fmt: skip
    with pytest.raises(ValueError, match=r"^Happiness: use a whole number from 0 to 10"):
        act.parse_ons4(",,11,")
    with pytest.raises(ValueError, match="four numbers"):
        act.parse_ons4("1,2")
    assert act.ons4_score(" ", "Anxiety") is None and act.ons4_score("10", "Anxiety") == 10


# -- the board -------------------------------------------------------------------------------


def test_board_rows_carry_the_person_as_plain_data(app_url: str) -> None:
    on_app = practice(app_url)
    ws = workspace(app_url)
    made = act.refer(ws, on_app["person"], ["Z59.0"], service=on_app["service"],
                     consent=(None, "verbal"))  # fmt: skip
    due = date.fromisoformat(made["followup_due"])
    [row] = act.referral_board(ws, due)
    assert row["id"] == made["id"] and row["person_id"] == on_app["person"]
    assert row["person_name"] == "Robin Ashworth"
    assert row["person"]["nhs_number"] == NHS and row["person"]["birth_date"] == date(1961, 7, 3)
    assert row["service"] == "Riverside Money Advice" and row["status"] == "requested"
    assert row["allowed"] == ["accepted", "rejected", "cancelled"]
    assert row["due_state"] == "due today"
    [later] = act.referral_board(ws, date.fromordinal(due.toordinal() + 1))
    assert later["due_state"] == "OVERDUE"
    engine = lwdb.open_engine(app_url)
    with Session(engine) as session:
        assert session.exec(select(Referral)).one().id == made["id"]
        assert len(session.exec(select(Need)).all()) == 2
    engine.dispose()
