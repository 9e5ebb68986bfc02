"""Issue 18: search respects English, reads literally first, and answers on directories
whose council verifies slowly (stale services shown, flagged, ranked a little lower)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import Session

import directory.search as search_module
from directory.english import is_english
from directory.models import Service
from directory.search import ServiceIndex
from directory.stale import months_before
from directory.text import stem
from linkwork import db as lwdb

TODAY = date(2026, 11, 1)

# Everyday English words, written out here (not taken from the word list the code reads).
_PARAGRAPH = """
sight eye eyes glasses blind deaf ear ears tooth teeth dentist knee elbow shoulder wrist
ankle thumb finger toe nose chin cheek forehead eyebrow lip tongue throat stomach
apple banana orange lemon grape cherry peach pear carrot potato onion tomato cabbage
bread butter cheese cream sugar salt pepper honey jam biscuit cake pie soup sandwich
kettle teapot spoon fork knife plate bowl saucer cup mug jug bottle jar tin lid
chair table sofa bed pillow blanket curtain carpet window door roof chimney garden gate
fence hedge lawn flower tree leaf branch root seed grass bush rose daisy tulip
dog cat horse cow sheep pig goat chicken duck goose rabbit mouse rat fox badger
owl eagle robin sparrow pigeon swan frog toad snake lizard spider bee wasp butterfly
red blue green yellow purple pink brown black white grey silver golden
monday tuesday wednesday thursday friday saturday sunday january february march april
june july august september october november december spring summer autumn winter
morning evening afternoon midnight yesterday tomorrow tonight weekend holiday birthday
river lake sea ocean beach island mountain hill valley forest field meadow desert
rain snow wind storm cloud thunder lightning sunshine fog frost ice weather
car bus train plane boat bicycle lorry van taxi ship rocket engine wheel tyre
piano guitar violin drum trumpet flute song music dance painting drawing poem story
football cricket tennis golf rugby swimming running cycling boxing chess cards puzzle
happy sad angry tired hungry thirsty sleepy brave proud shy clever funny quiet loud
big small tall short long wide narrow heavy light hot cold warm cool wet dry soft hard
quick slow early late young old new fresh clean dirty empty full rich poor
walk run jump climb swim fly sing dance read write draw cook bake wash clean sweep
open close push pull carry throw catch kick hit break fix build paint sew knit
laugh smile cry shout whisper listen watch look see hear smell taste touch feel
mirror clock watch lamp candle torch battery radio television camera computer phone
letter stamp envelope parcel postcard newspaper magazine book pencil pen paper ruler
shirt trousers skirt dress coat jacket hat scarf gloves socks shoes boots umbrella
number seven eight nine eleven twelve twenty thirty hundred thousand million half
king queen prince princess castle palace crown sword shield knight dragon giant
"""
COMMON_WORDS = _PARAGRAPH.split()


def test_correctly_spelled_english_words_are_never_rewritten(sample_index: ServiceIndex) -> None:
    known = sample_index.known_words()
    absent = sorted({w for w in COMMON_WORDS if stem(w) not in known})
    assert len(absent) >= 200, len(absent)
    for word in absent:
        assert is_english(word), word
        assert sample_index.reading(word) == [], word
        for query in (f"help with {word}", f"{word} "):
            for match in sample_index.search(query, today=TODAY, limit=5) if known else []:
                assert not any(w.startswith(f"read {word!r}") for w in match.why), (word, match)


def test_misspellings_are_read_towards_english_and_the_directory(
    sample_index: ServiceIndex,
) -> None:
    # the directory's word when it has one, English otherwise; the why says so
    assert sample_index.reading("benifits advise") == ["read 'benifits' as 'benefits'"]
    assert sample_index.reading("sigt") == ["read 'sigt' as 'sight'"]  # not a number word
    found = sample_index.search("evicshun", today=TODAY, limit=3)
    assert found and all("read 'evicshun' as 'eviction'" in m.why for m in found)


def _add(session: Session, n: int, name: str, description: str, verified: date | None) -> int:
    row = Service(
        source="issue-18",
        source_id=f"svc-{n}",
        name=name,
        description=description,
        last_verified=verified,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    return row.id


def _literal_directory(session: Session) -> int:
    for n in range(12):
        _add(
            session,
            n,
            f"Homelessness Housing Options and Temporary Accommodation Team {n}",
            "Homelessness advice, temporary accommodation, rough sleeper outreach and housing "
            "options for anyone without a home tonight.",
            TODAY,
        )
    for n in range(40):
        _add(session, 100 + n, f"Riverside Choir {n}", "Singing together on Tuesdays.", TODAY)
    named = _add(session, 99, "Settee Upcycling Workshop", "Bring an old chair to mend.", TODAY)
    session.commit()
    return named


def test_a_literal_match_outranks_an_expansion(session: Session) -> None:
    """'settee' is in the vocabulary as a word for sofa surfing (-> homelessness); a
    service named with the person's own word still comes first."""
    named = _literal_directory(session)
    index = ServiceIndex.build(session)
    found = index.search("settee", today=TODAY, limit=5)
    assert found[0].service_id == named
    assert any(m.service_id != named for m in found)  # the expansion still finds the rest
    assert found[0].why[0] == "words: settee"


def test_without_literal_first_the_expansion_would_bury_it(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rule is what puts it first (the test above could not pass without it)."""
    named = _literal_directory(session)
    index = ServiceIndex.build(session)
    monkeypatch.setattr(search_module, "LITERAL_WORDS", 0)
    found = index.search("settee", today=TODAY, limit=5)
    assert found[0].service_id != named


def test_a_directory_verified_three_years_ago_answers_by_default(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    engine = lwdb.open_engine(db_url)
    old = months_before(date.today(), 36)
    with Session(engine) as session:
        for n, side in enumerate(["Northside", "Southside", "Eastside"]):
            name = f"{side} Food Bank"
            _add(session, n, name, "food parcels and a warm meal", old)
        session.commit()
        index = ServiceIndex.build(session)
    engine.dispose()
    found = index.search("food bank")
    assert len(found) == 3 and all(m.stale for m in found)
    assert all(f"not verified since {old.isoformat()}" in "; ".join(m.why) for m in found)
    assert index.search("food bank", current_only=True) == []
    shown = cli("directory", "search", "food bank", "--json", db=db_url)
    assert shown.code == 0, shown.err
    assert len(shown.json()) == 3 and all(r["stale"] for r in shown.json())
    none = cli("directory", "search", "food bank", "--current-only", db=db_url)
    assert none.code == 1 and "leave out --current-only" in none.err


def test_stale_ranks_a_little_lower_not_out(session: Session) -> None:
    fresh = _add(session, 1, "Riverside Food Bank", "food bank", TODAY)
    old = _add(session, 2, "Riverside Food Bank", "food bank", TODAY - timedelta(days=800))
    session.commit()
    found = ServiceIndex.build(session).search("food bank", today=TODAY)
    assert [m.service_id for m in found] == [fresh, old]
    assert found[1].score >= 0.8 * found[0].score  # a little lower


def test_two_letters_swapped_are_read_as_the_word_not_a_nearer_name(session: Session) -> None:
    """A swap of neighbouring letters is the commonest slip: 'hosuing' is 'housing', even
    where the directory holds a name ('Hosking') as near by letters and, being the
    directory's, preferred on a tie. A word the directory has, swapped, is read as it."""
    _add(session, 1, "Hosking Hall Lunch Club", "A hot lunch on Wednesdays.", TODAY)
    _add(session, 2, "Tenancy Support", "Help to keep your home and deal with a landlord.", TODAY)
    session.commit()
    index = ServiceIndex.build(session)
    assert not is_english("hosking") and is_english("housing")
    assert index.reading("hosuing") == ["read 'hosuing' as 'housing'"]
    assert index.reading("lnadlord") == ["read 'lnadlord' as 'landlord'"]
    assert index.reading("hoskign") == ["read 'hoskign' as 'hosking'"]  # the directory's


def test_without_the_swap_rule_the_nearer_name_wins(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rule is what reads 'hosuing' as 'housing' (the test above needs it)."""
    _add(session, 1, "Hosking Hall Lunch Club", "A hot lunch on Wednesdays.", TODAY)
    session.commit()
    index = ServiceIndex.build(session)
    monkeypatch.setattr(ServiceIndex, "_swapped", lambda self, word: None)
    assert index.reading("hosuing") == ["read 'hosuing' as 'hosking'"]
