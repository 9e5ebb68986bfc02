"""Identifiers are ASCII by definition: NHS numbers, postcodes, ODS codes and need codes,
everywhere (the record, the CLI, the app's checks, received files); and a migration that
finds stored ones that are not and reports them without changing them."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from hypothesis import example, given
from hypothesis import strategies as st
from sqlmodel import Session, select

import linkwork.db as lwdb
from codes.catalogue import load_catalogue
from directory.text import looks_like_postcode, normalise_postcode
from linkwork.actions.people import check_detail
from screening import people
from screening.audit import compute_hash, verify_chain
from screening.models import AuditEvent, Person
from screening.needs import resolve_code
from screening.nhs import format_nhs_number, is_valid_nhs_number, normalise_nhs_number

ARABIC = "٩٤٣٤٧٦٥٩١٩"  # 943 476 5919 in Arabic-Indic digits
FULL_WIDTH = "９４３４７６５９１９"  # and in full-width digits


def _mod11(nine: str) -> int:
    """The NHS Data Dictionary check digit, written out here independently of the code."""
    total = sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    return 0 if check == 11 else check


# --- NHS numbers --------------------------------------------------------------------------

non_ascii_digits = st.characters(categories=["Nd"]).filter(lambda ch: not ch.isascii())
ascii_numbers = (
    st.text("0123456789", min_size=9, max_size=9)
    .filter(lambda nine: _mod11(nine) != 10)
    .map(lambda nine: nine + str(_mod11(nine)))
)


@given(ascii_numbers, st.data())
@example("9434765919", None)
def test_every_valid_ascii_number_round_trips(number: str, data: st.DataObject | None) -> None:
    for written in (number, format_nhs_number(number), f"{number[:3]}-{number[3:6]}-{number[6:]}"):
        assert normalise_nhs_number(f" {written} ") == number
    assert normalise_nhs_number(format_nhs_number(number)) == number
    if data is not None:
        # the same number with any one digit written in another script is refused
        i = data.draw(st.integers(0, 9))
        other = data.draw(non_ascii_digits)
        changed = number[:i] + other + number[i + 1 :]
        with pytest.raises(ValueError, match="is not an ASCII digit"):
            normalise_nhs_number(changed)


@given(st.text(), non_ascii_digits, st.integers(0, 12))
@example("943476591", "٩", 9)
@example("", "９", 0)
def test_no_string_with_a_non_ascii_digit_is_a_valid_nhs_number(
    text: str, digit: str, at: int
) -> None:
    candidate = text[:at] + digit + text[at:]
    assert not is_valid_nhs_number(candidate)
    with pytest.raises(ValueError, match=r"^NHS number .* is not an ASCII digit"):
        normalise_nhs_number(candidate)


@given(st.text(max_size=20))
def test_whatever_the_text_an_nhs_number_is_ten_ascii_digits_or_refused(text: str) -> None:
    try:
        digits = normalise_nhs_number(text)
    except ValueError as exc:
        assert str(exc).startswith("NHS number ")
        return
    assert len(digits) == 10 and all(ch in "0123456789" for ch in digits)
    assert int(digits[9]) == _mod11(digits[:9])


def test_the_three_spellings_of_one_patient_are_one_or_refused() -> None:
    assert normalise_nhs_number("943 476 5919") == "9434765919"
    with pytest.raises(ValueError, match=r"'٩' \(arabic-indic digit nine\) is not an ASCII"):
        normalise_nhs_number(ARABIC)
    with pytest.raises(ValueError, match=r"'９' \(fullwidth digit nine\) is not an ASCII"):
        normalise_nhs_number(FULL_WIDTH)
    with pytest.raises(ValueError, match=r"'²' \(superscript two\) is not an ASCII digit"):
        normalise_nhs_number("94347659²9")
    with pytest.raises(ValueError, match=r"^NHS number '9434765919\\x1b' must be 10 digits"):
        normalise_nhs_number("9434765919\x1b")


# --- the person's identifiers -------------------------------------------------------------


def _add(session: Session, **extra: str) -> Person:
    fields = {"given_name": "Ann", "family_name": "Example", "birth_date": "1970-05-06"}
    fields.update(extra)
    return people.create_person(session, actor="worker.a", **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("nhs_number", ARABIC, "is not an ASCII digit"),
        ("nhs_number", FULL_WIDTH, "is not an ASCII digit"),
        ("postcode", "ＺＺ１ １ＡＡ", r"postcode 'ＺＺ１ １ＡＡ' may use only the letters A-Z"),
        ("postcode", "ZZ1 1Aﬀ", r"'ﬀ' \(U\+FB00\) is not allowed"),  # upper() would give FF
        ("postcode", "ZZ1 １AA", "is not an ASCII digit"),
        ("practice_ods", "Ｙ01234", "practice code 'Ｙ01234' may use only the letters A-Z"),
        ("practice_ods", "Y0123٤", "is not an ASCII digit"),
        ("phone", "0113 496\x1b[2J0000", r"phone number contains a control character \(U\+001B\)"),
        ("phone", "０１１３ ４９６ ００００", "phone number .* is not an ASCII digit"),
        ("phone", "0113 496 0000 ext 2", "phone number .*; 'e' is not allowed"),
        ("phone", "01+13 496 0000", "a \\+ may only come first"),
        ("phone", "123", "phone number '123' has too few digits"),
        ("email", "ann.example", r"email address 'ann.example' is not an email address"),
        ("email", "ann@example", "is not an email address"),
        ("email", "ann @example.org", "is not an email address"),
        ("email", "ann@exa\x07mple.org", r"email address contains a control character \(U\+0007\)"),
        (
            "given_name",
            "Eve\x1b]0;owned\x07",
            r"given name contains a control character \(U\+001B\)",
        ),
        ("family_name", "Smith\u202e", r"family name contains a control character \(U\+202E\)"),
        ("given_name", "Eve\nSmith", "given name contains a line break"),
    ],
)
def test_a_person_detail_outside_its_rule_is_refused_and_nothing_is_added(
    session: Session, field: str, value: str, words: str
) -> None:
    with pytest.raises(ValueError, match=words):
        _add(session, **{field: value})
    session.rollback()
    assert session.exec(select(Person)).all() == []
    # the app's form says the same, as the person types
    assert re.search(words, check_detail(field, value), re.IGNORECASE)


def test_good_details_are_kept_in_their_ascii_forms(session: Session) -> None:
    person = _add(
        session,
        nhs_number="943-476-5919",
        postcode="zz1 1aa",
        practice_ods="y01234",
        phone="+44 (0)113 496-0000",
        email="ann.example@nhs.net",
        given_name="Zoë",
        family_name="Ó Briain",
    )
    assert (person.nhs_number, person.postcode, person.practice_ods) == (
        "9434765919",
        "ZZ1 1AA",
        "Y01234",
    )
    assert (person.phone, person.email) == ("+44 (0)113 496-0000", "ann.example@nhs.net")
    assert unicodedata.is_normalized("NFC", person.given_name)
    # the Arabic-Indic spelling of the same number is refused, not a second record
    with pytest.raises(ValueError, match="is not an ASCII digit"):
        _add(session, nhs_number=ARABIC)
    with pytest.raises(ValueError, match="is not an ASCII digit"):
        people.update_person(session, person, actor="worker.a", nhs_number=FULL_WIDTH)
    with pytest.raises(ValueError, match="is not an ASCII digit"):
        people.get_person(session, ARABIC)
    with pytest.raises(ValueError, match="is not an ASCII digit"):
        people.find_people(session, "９４３")
    assert people.get_person(session, "943 476 5919").id == person.id


def test_postcodes_and_need_codes_are_ascii() -> None:
    assert normalise_postcode("zz1 1aa") == "ZZ1 1AA"
    with pytest.raises(ValueError, match="is not an ASCII digit"):
        normalise_postcode("ZZ１ 1AA")
    assert not looks_like_postcode("ＺＺ１")
    assert resolve_code("z59.0").code == "Z59.0"
    with pytest.raises(ValueError, match=r"need code 'Ｚ59.0' may use only"):
        resolve_code("Ｚ59.0")
    with pytest.raises(ValueError, match=r"need code 'Z5٩.0' .* is not an ASCII digit"):
        load_catalogue().get("Z5٩.0")


def test_cli_refuses_the_arabic_indic_number_in_one_line(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    first = cli(
        "person", "add", "--given", "Ann", "--family", "Example", "--birth-date", "06/05/1970",
        "--nhs-number", "943 476 5919", db=db_url,
    )  # fmt: skip
    assert first.code == 0, first.err
    for spelling in (ARABIC, FULL_WIDTH):
        again = cli(
            "person", "add", "--given", "Ann", "--family", "Example", "--birth-date",
            "06/05/1970", "--nhs-number", spelling, db=db_url,
        )  # fmt: skip
        assert again.code == 2 and again.out == ""
        assert again.err.count("\n") == 1 and "is not an ASCII digit" in again.err
    listed = cli("person", "list", "--json", db=db_url)
    assert [p["nhs_number"] for p in listed.json()] == ["9434765919"]


# --- the migration that finds what is already stored --------------------------------------


def _as_stored(conn: sa.Connection, model: Any) -> sa.Table:
    """``model``'s table with only the columns the database has now (an older schema)."""
    have = {c["name"] for c in sa.inspect(conn).get_columns(model.__tablename__)}
    return sa.Table(
        model.__tablename__,
        sa.MetaData(),
        *(c._copy() for c in model.__table__.columns if c.name in have),
    )


def _old_rows(engine: sa.Engine) -> None:
    """Rows as an older linkwork let them in (no checks: straight into the tables of the
    schema the last release left)."""
    command.downgrade(lwdb._alembic_config(engine), "scr_0001")
    with engine.begin() as conn:
        person_t = _as_stored(conn, Person)
        for pid, nhs, postcode, ods in (
            ("p-ascii", "9434765919", "ZZ1 1AA", "Y01234"),
            ("p-arabic", ARABIC, "ZZ1 1AA", "Y01234"),
            ("p-wide", None, "ＺＺ１ １ＡＡ", "Ｙ01234"),
            ("p-clean", "9990000018", "", ""),
        ):
            conn.execute(
                sa.insert(person_t).values(
                    id=pid,
                    given_name="Ann",
                    family_name="Example",
                    birth_date=date(1970, 5, 6),
                    nhs_number=nhs,
                    postcode=postcode,
                    practice_ods=ods,
                )
            )
        at = datetime(2026, 1, 2, tzinfo=UTC)
        event = {
            "seq": 1, "at": at, "actor": "worker.a", "action": "create", "entity": "person",
            "entity_id": "p-ascii", "person_id": "p-ascii", "detail": {}, "prev_hash": "0" * 64,
        }  # fmt: skip
        conn.execute(
            sa.insert(_as_stored(conn, AuditEvent)).values(**event, hash=compute_hash(**event))
        )


def _people(engine: sa.Engine) -> list[tuple[str, str | None, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT id, nhs_number, postcode, practice_ods FROM person ORDER BY id")
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_the_migration_reports_non_ascii_identifiers_and_changes_nothing(
    engine: sa.Engine,
) -> None:
    _old_rows(engine)  # as the last release left it
    before = _people(engine)

    status = lwdb.upgrade(engine)

    assert status["state"] == "current"
    assert _people(engine) == before  # nothing merged, nothing rewritten
    found = {(f["id"], f["field"]): f for f in status["findings"]}  # type: ignore[attr-defined]
    assert set(found) == {
        ("p-arabic", "nhs_number"),
        ("p-wide", "postcode"),
        ("p-wide", "practice_ods"),
    }
    arabic = found[("p-arabic", "nhs_number")]
    assert arabic["possible_duplicate_of"] == "p-ascii"
    assert arabic["characters"][0] == "U+0669 arabic-indic digit nine"
    assert arabic["message"].startswith(
        "person p-arabic: the NHS number holds characters that are not ASCII (U+0669"
    )
    assert "person p-ascii has the same number in ASCII digits" in arabic["message"]
    assert ARABIC not in arabic["message"]  # the report names the problem, not the value
    with Session(engine) as session:
        reviews = session.exec(select(AuditEvent).where(AuditEvent.action == "review")).all()
        assert sorted((e.entity_id, e.detail["field"]) for e in reviews) == sorted(found)
        assert all(e.person_id == e.entity_id for e in reviews)
        assert all(ARABIC not in str(e.detail) for e in reviews)
        assert verify_chain(session).ok  # the review events continue the chain
    # a database with nothing to report: no findings, no review events
    command.downgrade(lwdb._alembic_config(engine), "scr_0001")
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM person WHERE id IN ('p-arabic', 'p-wide')"))
    assert lwdb.upgrade(engine)["findings"] == []


def test_db_upgrade_prints_what_it_found(cli, engine: sa.Engine, db_url: str) -> None:  # type: ignore[no-untyped-def]
    _old_rows(engine)
    engine.dispose()
    result = cli("db", "upgrade", db=db_url)
    assert result.code == 0, result.err
    assert "3 stored identifier(s) hold characters that are not ASCII" in result.out
    assert "person p-arabic: the NHS number holds characters that are not ASCII" in result.out
    assert "correct it with linkwork person update" in result.out
    again = cli("db", "upgrade", db=db_url)
    assert again.code == 0 and "not ASCII" not in again.out  # reported once, when it ran


def test_deprivation_lookup_postcodes_follow_the_one_rule(session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from screening.counts.copies import load_deprivation

    lookup = tmp_path / "imd.csv"
    lookup.write_text("postcode,decile\nzz1 1aa,2\nＺＺ2 2BB,9\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 3: postcode 'ＺＺ2 2BB' may use only the letters"):
        load_deprivation(session, lookup)
    lookup.write_text("postcode,decile\nZZ1 1Aﬀ,2\n", encoding="utf-8")  # upper() gives FF
    with pytest.raises(ValueError, match=r"line 2: .*'ﬀ' \(U\+FB00\) is not allowed"):
        load_deprivation(session, lookup)
    lookup.write_text("postcode,decile\nZZ1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 2: 'ZZ1' is not a full postcode"):
        load_deprivation(session, lookup)
    lookup.write_text("postcode,decile\nzz1 1aa,2\n", encoding="utf-8")
    assert load_deprivation(session, lookup) == 1
