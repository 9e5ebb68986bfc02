"""Adding and changing a person is one action: the CLI's ``person add/update`` and the
app's person form (the calls it makes) give the same person and the same audit rows;
one date-of-birth parser for both; one translator of errors into words."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select
from test_actions_needs import plain
from test_exchange_support import second_db

from linkwork import db as lwdb
from linkwork.actions import people as people_act
from linkwork.errors import KeyLocked, NotFound, plain_error, problem
from linkwork.settings import load_settings
from linkwork.workspace import Workspace
from screening.models import AuditEvent
from tui.screens.people import RECORD_NAMES, form_values
from tui.state import person_ref

# What the app's form holds when a link worker has filled it in (DD/MM/YYYY typed).
FORM = {
    "given": "Robin",
    "family": "Ashworth",
    "birth_date": "03/07/1961",
    "nhs_number": "943 476 5919",
    "postcode": "zz1 1aa",
    "phone": "",
    "ethnic_category": "H",
    "sex": "female",
}
CLI_ADD = [
    "person", "add", "--given", "Robin", "--family", "Ashworth", "--birth-date", "1961-07-03",
    "--nhs-number", "9434765919", "--postcode", "ZZ1 1AA", "--ethnicity", "H", "--sex", "female",
    "--json",
]  # fmt: skip


@pytest.fixture
def app_url(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[str]:
    yield from second_db(request, db_url, tmp_path)


def _workspace(url: str) -> Workspace:
    return Workspace(load_settings(database_url=url), lwdb.open_engine(url))


def audit(url: str) -> list[tuple[str, str, Any, str]]:
    engine = lwdb.open_engine(url)
    with Session(engine) as session:
        rows = session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()  # type: ignore[arg-type]
        found = [(e.action, e.entity, plain(e.detail), e.actor) for e in rows]
    engine.dispose()
    return found


def app_details(form: dict[str, str]) -> dict[str, str]:
    """The form's values under the record's names, as the form's save worker passes them."""
    return {RECORD_NAMES.get(k, k): v for k, v in form.items()}


def test_add_person_same_through_cli_and_app(cli, db_url: str, app_url: str) -> None:  # type: ignore[no-untyped-def]
    added = cli(*CLI_ADD, db=db_url)
    assert added.code == 0, added.err
    from_app = people_act.add_person(_workspace(app_url), **app_details(FORM))
    from_cli = added.json()
    assert plain(from_cli) == plain(from_app)
    # The two spellings of a date and of an NHS number and postcode are the same person.
    assert from_app["birth_date"] == "1961-07-03"
    assert (from_app["nhs_number"], from_app["postcode"]) == ("9434765919", "ZZ1 1AA")
    assert from_app["ethnic_category_label"] == from_cli["ethnic_category_label"]
    assert audit(db_url) == audit(app_url) == [("create", "person", {}, "test.worker")]
    # The app's person bar shows what the action returned.
    assert person_ref(from_app).name == "Robin Ashworth"


def test_the_cli_takes_the_form_date_too(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    added = cli(*[a if a != "1961-07-03" else "3/7/1961" for a in CLI_ADD], db=db_url)
    assert added.code == 0, added.err
    assert added.json()["birth_date"] == "1961-07-03"


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("31/02/1985", "is not a real date"),
        ("1985/31", "use DD/MM/YYYY"),
        ("03/07/61", "give the year in full"),
        ("01/01/2999", "is in the future"),
        ("٠٣/٠٧/١٩٦١", "use DD/MM/YYYY"),  # digits in another script are not accepted
    ],
)
def test_a_bad_date_is_refused_in_the_same_words_by_both(
    cli,  # type: ignore[no-untyped-def]
    db_url: str,
    app_url: str,
    typed: str,
    words: str,
) -> None:
    refused = cli(*[a if a != "1961-07-03" else typed for a in CLI_ADD], db=db_url)
    with pytest.raises(ValueError, match=words) as raised:
        people_act.add_person(_workspace(app_url), **app_details(FORM | {"birth_date": typed}))
    assert refused.code == 2 and refused.out == ""
    assert refused.err == f"linkwork: {plain_error(raised.value)}\n"
    assert words in refused.err
    # The form's inline check says the same while the date is typed.
    inline = people_act.check_detail("birth_date", typed)
    assert inline.rstrip(".").lower() == plain_error(raised.value).lower()
    assert audit(db_url) == audit(app_url) == []


def test_update_changes_only_what_changed_on_both(cli, db_url: str, app_url: str) -> None:  # type: ignore[no-untyped-def]
    cli_id = cli(*CLI_ADD, db=db_url).json()["id"]
    ws = _workspace(app_url)
    app_id = people_act.add_person(ws, **app_details(FORM))["id"]
    updated = cli("person", "update", cli_id, "--postcode", "ZZ9 9ZZ", "--family", "Ash",
                  "--birth-date", "03/07/1961", "--json", db=db_url)  # fmt: skip
    assert updated.code == 0, updated.err
    # The form sends the fields that differ from what it loaded (the date unchanged).
    loaded = form_values(people_act.person_form(ws, app_id))
    assert loaded["birth_date"] == "03/07/1961" and loaded["given"] == "Robin"
    edited = loaded | {"postcode": "zz9 9zz", "family": "Ash"}
    changes = {k: v for k, v in edited.items() if loaded.get(k) != v}
    from_app = people_act.update_person(ws, app_id, **app_details(changes))
    from_cli = updated.json()
    assert from_cli.pop("changed") == from_app.changed == ["family_name", "postcode"]
    assert plain(from_cli) == plain(from_app.person)
    assert audit(db_url) == audit(app_url)
    assert audit(app_url)[-1] == (
        "update",
        "person",
        {"fields": ["family_name", "postcode"]},
        "test.worker",
    )


def test_one_translator_of_errors_into_words() -> None:
    assert problem(ValueError("bad date\nsecond line")).message == "bad date"
    assert problem(ValueError("bad")).code == 2
    assert problem(KeyError("person x")).message == "person x"
    assert (problem(NotFound("no people")).code, problem(NotFound("no people")).message) == (
        1,
        "no people",
    )
    assert problem(KeyLocked("locked")).code == 2
    found = problem(FileNotFoundError(2, "No such file or directory", "/nowhere/x.csv"))
    assert (found.code, found.message) == (
        2,
        "cannot use /nowhere/x.csv: No such file or directory",
    )
    bug = problem(ZeroDivisionError("boom"))
    assert bug.unexpected and bug.code == 3 and "boom" not in bug.message
    assert bug.message == "something went wrong (ZeroDivisionError); nothing was saved"


def test_the_cli_and_the_app_say_a_missing_person_the_same_way(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    shown = cli("person", "show", "9434765919", db=db_url)
    with pytest.raises(LookupError, match="unknown person '9434765919'") as raised:
        people_act.person_record(_workspace(db_url), "9434765919")
    assert shown.code == 1  # nothing found (exit 2 until issue 15)
    assert shown.err == f"linkwork: {plain_error(raised.value)}\n"
