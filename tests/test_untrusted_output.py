"""Nothing stored can drive a terminal: every CLI command that prints stored or typed text
shows control characters as escapes and Rich markup as itself, whatever the database holds.

The hostile text is written straight into the tables (as an old row, another version or a
hand edit would leave it), bypassing the checks on the way in. Then the referral round trip:
a practice's hostile name and reason travel in the encrypted file, and the hub cleans them
on receipt and prints them escaped."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select
from test_exchange_support import Keys, make_referral, make_service, second_db, session_for

BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")
# Retitle the window, ring the bell, clear the screen, NUL, backspace, an 8-bit CSI, a
# right-to-left override, Rich markup (a style, a hyperlink) and a closing tag that would
# make Rich raise if it were read as markup.
HOSTILE = (
    "Eve\x1b]0;owned\x07\x1b[2J\x00\x08\x9b31m\u202e"
    "[bold red]red[/bold red][link=http://evil.example]x[/link][/]"
)
MARKUP = "[bold red]red[/bold red]"


def storable(url: str, text: str) -> str:
    """PostgreSQL cannot hold a NUL in text at all (so no old row there has one)."""
    return text.replace("\x00", "") if url.startswith("postgresql") else text


def forbidden(text: str) -> list[str]:
    """The characters in ``text`` that must never reach a terminal (a newline aside)."""
    out = []
    for ch in text:
        if ch == "\n":
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs", "Zl", "Zp") or ch in BIDI or category == "Cf":
            out.append(ch)
    return out


def assert_clean(result, *, shows_markup: bool = True) -> None:  # type: ignore[no-untyped-def]
    printed = result.out + result.err
    assert forbidden(printed) == [], repr(printed)
    assert "\x1b]8;" not in printed  # no hyperlink made from stored text
    if shows_markup:
        flat = "".join(printed.split())
        assert "[bold" in flat  # the stored markup shows as text


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as wide as the text, so that what a cell shows is on one line."""
    from linkwork.cli import common

    monkeypatch.setattr(common.console, "width", 600)
    monkeypatch.setattr(common.err_console, "width", 600)


@dataclass
class Hostile:
    person_id: str
    referral_id: str
    service_ref: str


def _poison(url: str) -> Hostile:
    """A person, needs, a completed referral with an outcome, and a directory service, all
    made properly; then their text columns overwritten with hostile text."""
    made = make_referral(url, hub="Valeshire Hub")
    from screening.referrals import complete_referral, get_referral, set_status

    with session_for(url) as session:
        referral = get_referral(session, made.referral_id)
        set_status(session, referral, "accepted", actor="hub.worker")
        set_status(session, referral, "in-progress", actor="hub.worker")
        complete_referral(session, referral, actor="hub.worker", note="went well")
        service_id = make_service(session, "svc-hostile")
        session.commit()
    hostile = storable(url, HOSTILE)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        run = conn.execute
        run(
            sa.text("UPDATE person SET given_name = :h, family_name = :h, phone = :p, email = :h"),
            {"h": hostile, "p": "0113\x1b[2J\x07[/]"},  # a phone is 40 characters at most
        )
        run(sa.text("UPDATE need SET words = :h"), {"h": hostile})
        run(
            sa.text("UPDATE referral SET reason = :h, status_reason = :h, hub = :h"), {"h": hostile}
        )
        run(sa.text("UPDATE referral_event SET reason = :h"), {"h": hostile})
        run(sa.text("UPDATE outcome SET note = :h"), {"h": hostile})
        run(sa.text("UPDATE consent SET hub = :h"), {"h": hostile})
        run(sa.text("UPDATE audit_event SET actor = :h"), {"h": hostile})
        run(
            sa.text("UPDATE service SET name = :n, description = :h, email = :h WHERE id = :id"),
            {"n": "Money advice " + hostile, "h": hostile, "id": service_id},
        )
        run(sa.text("UPDATE organisation SET name = :h"), {"h": hostile})
    engine.dispose()
    return Hostile(made.person_id, made.referral_id, "svc-hostile")


@pytest.fixture
def hostile(db_url: str) -> Hostile:
    return _poison(db_url)


COMMANDS = [
    ("person", "show", "{person}"),
    ("person", "list"),
    ("person", "find", "Eve"),
    ("need", "list", "{person}"),
    ("consent", "list", "{person}"),
    ("referral", "show", "{referral}"),
    ("referral", "list"),
    ("directory", "show", "{service}"),
    ("directory", "list"),
    ("audit", "show"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_each_command_prints_stored_hostile_text_escaped(
    cli, db_url: str, hostile: Hostile, command: tuple[str, ...]
) -> None:  # type: ignore[no-untyped-def]
    args = [
        a.format(
            person=hostile.person_id, referral=hostile.referral_id, service=hostile.service_ref
        )
        for a in command
    ]
    result = cli(*args, db=db_url)
    assert result.code == 0, result.err
    assert_clean(result)
    assert "\\x1b" in "".join(result.out.split())  # the escape is shown, visibly


def test_person_show_first_line_is_the_name_as_stored_but_harmless(
    cli, db_url: str, hostile: Hostile
) -> None:  # type: ignore[no-untyped-def]
    shown = cli("person", "show", hostile.person_id, db=db_url)
    first = shown.out.splitlines()[0]
    expected = "Eve\\x1b]0;owned\\x07\\x1b[2J\\x00\\x08\\x9b31m\\u202e" + MARKUP
    if db_url.startswith("postgresql"):  # no NUL there (see storable)
        expected = expected.replace("\\x00", "")
    assert first.startswith(expected)
    # and as JSON the data is whole, its control characters written as \\u escapes
    data = cli("person", "show", hostile.person_id, "--json", db=db_url)
    assert forbidden(data.out) == [] and "\\u001b]0;owned\\u0007" in data.out
    assert data.json()["given_name"] == storable(db_url, HOSTILE)


def test_directory_search_shows_a_hostile_service_escaped(
    cli, db_url: str, hostile: Hostile
) -> None:  # type: ignore[no-untyped-def]
    found = cli("directory", "search", "money advice", "--include-stale", db=db_url)
    assert found.code == 0, found.err
    assert_clean(found)


@pytest.mark.parametrize(
    "args",
    [
        ("person", "show", "\x1b]0;owned\x07\x1b[2J[bold]x[/]"),
        ("person", "add", "--given", "Eve\x1b[2J", "--family", "X", "--birth-date", "1/1/1990"),
        (
            "person",
            "add",
            "--given",
            "Eve",
            "--family",
            "X",
            "--birth-date",
            "1/1/1990",
            "--phone",
            "0113\x1b]0;owned\x07",
        ),
        ("referral", "show", "[/]\x9b2J"),
        ("need", "add", "nobody\x00", "--code", "Z59.0"),
        ("directory", "show", "\x1b[31mred\u202e"),
        ("person", "list", "--practice", "Y0\x1b[2J"),
        ("codes", "show", "Z59\x07"),
        ("person", "--no-such-option\x1b[2J"),
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_error_messages_quote_hostile_input_escaped_in_one_line(
    cli, db_url: str, args: tuple[str, ...]
) -> None:  # type: ignore[no-untyped-def]
    result = cli(*args, db=db_url)
    assert result.code in (1, 2), result.err
    assert result.out == ""
    assert result.err.count("\n") == 1 and result.err.startswith("linkwork: ")
    assert forbidden(result.err) == [], repr(result.err)


# --- the round trip: practice -> hub --------------------------------------------------------


@pytest.fixture
def hub_url(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[str]:
    yield from second_db(request, db_url, tmp_path)


@pytest.fixture
def keys(cli, tmp_path: Path, db_url: str, hub_url: str) -> Keys:  # type: ignore[no-untyped-def]
    folder = tmp_path / "keys"
    for name in ("practice", "hub"):
        assert cli("keys", "new", name, "--out", folder, "--json").code == 0
    assert cli("keys", "trust", folder / "hub.public.jwk", "--name", "hub", db=db_url).code == 0
    assert (
        cli("keys", "trust", folder / "practice.public.jwk", "--name", "practice", db=hub_url).code
        == 0
    )
    return Keys(folder)


def _export(cli, db_url: str, keys: Keys, referral_id: str, out: Path) -> None:  # type: ignore[no-untyped-def]
    sent = cli(
        "referral", "export", referral_id, "--to", "hub", "--key", keys.private("practice"),
        "--out", out, db=db_url,
    )  # fmt: skip
    assert sent.code == 0, sent.err


def test_a_hostile_referral_is_cleaned_at_the_hub_and_printed_escaped(
    cli, db_url: str, hub_url: str, keys: Keys, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    made = make_referral(db_url)
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:  # an old row at the practice, never checked
        conn.execute(
            sa.text("UPDATE person SET given_name = :h, family_name = :f"),
            {"h": storable(db_url, HOSTILE), "f": "Smith\x07\x1b[2J"},
        )
        conn.execute(
            sa.text("UPDATE referral SET reason = :h"), {"h": storable(db_url, "Reason " + HOSTILE)}
        )
        conn.execute(sa.text("UPDATE need SET words = :h"), {"h": "words\x1b[2J"})
    engine.dispose()
    out = tmp_path / "referral.jwe"
    _export(cli, db_url, keys, made.referral_id, out)

    got = cli("referral", "receive", out, "--key", keys.private("hub"), db=hub_url)
    assert got.code == 0, got.err
    assert_clean(got, shows_markup=False)
    assert "control characters were removed from the received text" in got.out

    from screening.models import Need, Person, Referral

    with session_for(hub_url) as session:
        person = session.get(Person, made.person_id)
        referral = session.get(Referral, made.referral_id)
        assert person is not None and referral is not None
        assert (
            person.given_name
            == "Eve]0;owned[2J31m" + MARKUP + "[link=http://evil.example]x[/link][/]"
        )
        assert person.family_name == "Smith[2J"
        assert referral.reason.startswith("Reason Eve]0;owned[2J31m[bold red]")
        for need in session.exec(select(Need)).all():
            assert forbidden(need.words) == []
        for text in (person.given_name, person.family_name, referral.reason):
            assert forbidden(text) == []

    for args in (
        ("person", "list"),
        ("person", "show", made.person_id),
        ("referral", "show", made.referral_id),
        ("referral", "list"),
    ):
        result = cli(*args, db=hub_url)
        assert result.code == 0, result.err
        assert_clean(result, shows_markup=args[:2] != ("referral", "list"))  # no name there
    shown = cli("person", "show", made.person_id, db=hub_url)
    assert shown.out.splitlines()[0].startswith("Eve]0;owned[2J31m" + MARKUP)

    # the audit trail says what was taken out
    from screening.models import AuditEvent

    with session_for(hub_url) as session:
        imported = session.exec(select(AuditEvent).where(AuditEvent.action == "import")).all()
        assert imported and imported[-1].detail["controls_removed"] >= 3


def test_a_received_nhs_number_in_other_digits_is_refused_not_a_second_patient(
    cli, db_url: str, hub_url: str, keys: Keys, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    first = make_referral(db_url, nhs="9434765919")
    out = tmp_path / "first.jwe"
    _export(cli, db_url, keys, first.referral_id, out)
    assert cli("referral", "receive", out, "--key", keys.private("hub"), db=hub_url).code == 0

    second = make_referral(db_url, nhs=None, given="Ann", hub="Valeshire Hub")
    engine = sa.create_engine(db_url)
    with engine.begin() as conn:  # the same patient, stored by an older linkwork
        conn.execute(
            sa.text("UPDATE person SET nhs_number = :n WHERE id = :id"),
            {"n": "٩٤٣٤٧٦٥٩١٩", "id": second.person_id},
        )
    engine.dispose()
    out2 = tmp_path / "second.jwe"
    _export(cli, db_url, keys, second.referral_id, out2)
    refused = cli("referral", "receive", out2, "--key", keys.private("hub"), db=hub_url)
    assert refused.code == 2 and refused.out == ""
    assert refused.err.count("\n") == 1
    assert "is not an ASCII digit" in refused.err
    listed = cli("person", "list", "--json", db=hub_url)
    assert [p["nhs_number"] for p in listed.json()] == ["9434765919"]


def test_a_nul_postgresql_refuses_is_bad_input_not_a_bug() -> None:
    """The net under the boundary: if a NUL ever reached a PostgreSQL query, the user is
    told in one line (exit 2), not "something went wrong"."""
    from sqlalchemy.exc import DataError

    from linkwork.errors import problem

    refused = DataError(
        "SELECT 1", {}, Exception("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    )
    found = problem(refused)
    assert (found.code, found.unexpected) == (2, False)
    assert found.message.startswith("the text given contains a NUL character (U+0000)")
