"""Finding people forgives typing slips (issue 22, point 5): one fuzzy search in the domain
(``screening.people.find_people``), reached by the CLI's ``person find`` and the app's
People screen through ``linkwork.actions.people.find_people``; counts in words say
'1 person', never '1 people'."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from linkwork.settings import load_settings
from linkwork.words import counted
from screening import people
from tui.app import LinkworkApp

sys.path.insert(0, str(Path(__file__).parent))
import tui_seed


def _add(session: Session, given: str, family: str) -> str:
    return people.create_person(
        session, actor="worker.a", given_name=given, family_name=family, birth_date="1970-05-06"
    ).id


def _names(found: list[Any]) -> list[str]:
    return [f"{p.given_name} {p.family_name}" for p in found]


def test_misspelt_names_are_found_nearest_first(session: Session) -> None:
    _add(session, "Test", "Person")
    _add(session, "John", "Smith")
    _add(session, "Siobhán", "O'Neill")
    _add(session, "Bob", "Other")
    session.flush()
    assert _names(people.find_people(session, "tespersn")) == ["Test Person"]
    assert _names(people.find_people(session, "tset persn")) == ["Test Person"]
    assert _names(people.find_people(session, "personntest")) == ["Test Person"]
    assert _names(people.find_people(session, "jon smth")) == ["John Smith"]
    assert _names(people.find_people(session, "siobhan oneil")) == ["Siobhán O'Neill"]
    # Exact matches first; close ones after them; far ones never.
    _add(session, "Smyth", "Jones")
    session.flush()
    assert _names(people.find_people(session, "smith")) == ["John Smith", "Smyth Jones"]
    assert people.find_people(session, "nobody here") == []
    assert people.find_people(session, "bx") == []  # two letters: no slip allowed
    assert people.find_people(session, "qqq") == []


def test_the_cli_finds_a_misspelt_name(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    added = cli("person", "add", "--given", "Test", "--family", "Person",
                "--birth-date", "1980-02-03", "--json", db=db_url)  # fmt: skip
    assert added.code == 0, added.err
    found = cli("person", "find", "tespersn", "--json", db=db_url)
    assert found.code == 0, found.err
    assert [p["id"] for p in found.json()] == [added.json()["id"]]
    assert cli("person", "find", "nobody", "here", db=db_url).code == 1


def test_counts_in_words() -> None:
    assert counted(1, "person") == "1 person"
    assert counted(2, "person") == "2 people"
    assert counted(0, "person") == "0 people"
    assert counted(1, "question") == "1 question"
    assert counted(12, "question") == "12 questions"
    assert counted(1, "matching code") == "1 matching code"
    assert counted(2, "box") == "2 boxes"
    assert counted(1200, "need") == "1,200 needs"


@pytest.fixture(scope="module")
def seeded_template(tui_practice_template: Path) -> Path:
    return tui_practice_template  # the fixed practice, made once per worker (conftest); copied


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_app_finds_a_misspelt_name_and_counts_in_words(
    seeded_template: Path, tmp_path: Path, anyio_backend: str
) -> None:
    target = tmp_path / "practice.db"
    shutil.copy(seeded_template, target)
    settings = load_settings(database_url=f"sqlite:///{target}")
    app = LinkworkApp(settings, today=tui_seed.TODAY, build_index=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await tui_seed.press(pilot, "f2", *"tomas nowack")
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#people-results")
        assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == ["NOWAK, Tomasz"]  # type: ignore[attr-defined]
        status = str(app.screen.query_one("#people-status").render())
        assert status.startswith("1 person."), status
