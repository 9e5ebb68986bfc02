"""Practice populations by ethnicity (issue 21, point 2: "and, where the user has it, by
ethnicity"): ``population import`` reads the user's own list by ethnic category (told
apart by its ``ETHNIC_CATEGORY`` column; NHS Data Dictionary codes), all or nothing; the
funnel by ethnic group then has registered patients and rates per 1,000 beside need and
referral, for every practice and each one; a broken file is refused in one line with
nothing changed. Expected values are worked out by hand from the records and the file."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from demo_support import built_copy

from linkwork import db as lwdb
from screening.counts import ALL, Filters, funnel_report, leaks
from screening.counts.population import eth_t

ACTOR = "sam.worker"
# (practice, ethnic category, people with a need)
PEOPLE = [("Y02101", "A", 20), ("Y02101", "H", 12), ("Y02102", "B", 15), ("Y02102", "N", 10)]
HEADER = "ORG_CODE,ETHNIC_CATEGORY,NUMBER_OF_PATIENTS,EXTRACT_DATE"
GOOD = [
    "Y02101,A,3000,2026-11-01",
    "Y02101,C,1000,2026-11-01",  # White: 4,000 at Y02101
    "Y02101,H,600,2026-11-01",
    "Y02101,J,400,2026-11-01",  # Asian: 1,000
    "Y02101,Z,4,2026-11-01",  # not stated: 4
    "Y02102,B,2000,2026-11-01",  # White: 2,000 at Y02102
    "Y02102,N,500,2026-11-01",  # Black: 500
    "Y99999,A,100,2026-11-01",  # a practice with nobody in the records: skipped
]


def build(url: str) -> None:
    from screening.needs import add_need
    from screening.people import create_person

    engine = lwdb.open_engine(url)
    n = 0
    with lwdb.session_scope(engine) as session:
        for practice, ethnic, people in PEOPLE:
            for _ in range(people):
                n += 1
                person = create_person(
                    session, given_name="P", family_name=f"Person{n}", birth_date=date(1970, 1, 1),
                    actor=ACTOR, practice_ods=practice, ethnic_category=ethnic,
                )  # fmt: skip
                add_need(session, person, "Z56.0", actor=ACTOR)
    engine.dispose()


def write(path: Path, lines: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def loaded(request: pytest.FixtureRequest, cli: Any, db_url: str, tmp_path: Path) -> str:
    built_copy(request, db_url, build)  # built once per process and backend, then copied
    result = cli("population", "import", write(tmp_path / "eth.csv", GOOD), "--json", db=db_url)
    assert result.code == 0, result.err
    found = json.loads(result.out)
    assert (found["practices"], found["lines"], found["skipped"]) == (2, 7, 1)
    assert found["layout"] == "ethnic category" and found["extract_date"] == "2026-11-01"
    return db_url


def funnel(url: str, by: str, **kw: Any) -> Any:
    engine = lwdb.open_engine(url)
    try:
        with lwdb.session_scope(engine) as session:
            return funnel_report(session, by, **kw)
    finally:
        engine.dispose()


def values(report: Any) -> dict[Any, dict[str, Any]]:
    return {row.keys: row.values for row in report.rows}


def test_rates_per_thousand_by_ethnic_group(loaded: str) -> None:
    raw = values(funnel(loaded, "ethnic_group", rule=None))
    white, asian, black = raw[("white",)], raw[("asian",)], raw[("black",)]
    assert (white["registered"], white["need"]) == (6000, 35)  # 4,000 + 2,000; 20 + 15
    assert white["need_per_1000"] == 5.8  # 35,000 / 6,000 = 5.83
    assert (asian["registered"], asian["need_per_1000"]) == (1000, 12.0)
    assert (black["registered"], black["need_per_1000"]) == (500, 20.0)
    assert raw[("not_stated",)]["registered"] == 4
    # everyone: no age and sex list, so the file by ethnicity's 7,504; 57 with a need
    assert raw[(ALL,)]["registered"] == 7504 and raw[(ALL,)]["need_per_1000"] == 7.6

    report = funnel(loaded, "ethnic_group")
    published = values(report)
    # counts rounded (35, 12 -> 10, 10; 57 -> 55); the user's own list sizes too (7,504 ->
    # 7,505; 4 hidden); each rate from the two published figures
    assert (published[("white",)]["need"], published[("white",)]["registered"]) == (35, 6000)
    assert published[("white",)]["need_per_1000"] == 5.8
    assert published[("asian",)]["need"] == 10 and published[("asian",)]["need_per_1000"] == 10.0
    assert published[("black",)]["need_per_1000"] == 20.0
    assert published[("not_stated",)]["registered"] is None
    assert published[("not_stated",)]["need_per_1000"] is None
    assert published[(ALL,)]["registered"] == 7505 and published[(ALL,)]["need"] == 55
    assert published[(ALL,)]["need_per_1000"] == 7.3  # 55,000 / 7,505 = 7.33
    assert leaks(report) == []


def test_each_practice_beside_its_own_population(loaded: str) -> None:
    raw = values(funnel(loaded, "practice,ethnic_group", rule=None))
    assert raw[("Y02101", "asian")]["registered"] == 1000
    assert raw[("Y02101", "asian")]["need_per_1000"] == 12.0
    assert raw[("Y02102", "white")]["registered"] == 2000
    assert raw[("Y02102", "white")]["need_per_1000"] == 7.5  # 15,000 / 2,000
    assert raw[("Y02102", "asian")]["registered"] == 0  # none in its list
    assert raw[("Y02102", "asian")]["need_per_1000"] is None
    # one practice's report (as its equality page reads it): its own list only
    one = values(funnel(loaded, "ethnic_group", filters=Filters(practice="Y02102")))
    assert one[("white",)]["registered"] == 2000 and one[("black",)]["registered"] == 500
    assert one[("white",)]["need"] == 15 and one[("white",)]["need_per_1000"] == 7.5
    assert one[(ALL,)]["registered"] == 2500


def test_no_rates_where_no_file_gives_them(loaded: str) -> None:
    # the file has no sex: by ethnic group and sex, a group of one sex has no list size
    raw = values(funnel(loaded, "ethnic_group,sex", rule=None))
    assert raw[("white", ALL)]["registered"] == 6000
    assert all(
        v["registered"] is None for k, v in raw.items() if k[0] is not ALL and k[1] is not ALL
    )


def test_equality_report_csv_has_the_rates_by_ethnic_group(
    cli: Any, loaded: str, tmp_path: Path
) -> None:
    out = tmp_path / "equality.csv"
    result = cli("report", "equality", "--practice", "Y02101", "--out", out, db=loaded)
    assert result.code == 0, result.err
    lines = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8").split("\n", 1)[1])))
    per = {
        line["group"]: (line["value"], line["denominator"])
        for line in lines
        if line["section"] == "per1000" and line["dimension"] == "ethnic_group"
    }
    # Y02101: White 20 of 4,000 (20 published), Asian 12 -> 10 of 1,000
    assert per["white"] == ("5.0", "4000") and per["asian"] == ("10.0", "1000")
    svg = tmp_path / "page.svg"
    assert cli("report", "equality", "--practice", "Y02101", "--out", svg, db=loaded).code == 0
    text = svg.read_text(encoding="utf-8")
    assert "per 1,000 registered patients, by ethnic group" in text
    assert ">Asian or Asian British</text>" in text and ">10.0</text>" in text


def _stored(url: str) -> list[tuple[Any, ...]]:
    engine = lwdb.open_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.select(eth_t).order_by(*eth_t.c))]
    engine.dispose()
    return rows


BROKEN = [
    ("an ONS census category", ["Y02101,White: English,10,"], "is not an NHS ethnic category code"),
    ("an unknown code", ["Y02101,X,10,"], "ethnic category 'X' is not an NHS ethnic category"),
    ("a count in words", ["Y02101,A,ten,"], "number of patients 'ten' is not a whole number"),
    ("a negative count", ["Y02101,A,-5,"], "is not a whole number"),
    ("a line given twice", ["Y02101,A,9,", "Y02101,A,9,"], "Y02101 A is given twice"),
    ("a short line", ["Y02101,A"], "line 2: 2 fields, not 4"),
    ("a bad ODS code", ["Y0!,A,9,"], "is not an ODS code"),
    ("no practice in the records", ["Y99999,A,9,"], "for the practices in the records"),
    ("a line too long", ["Y02101,A,9," + "x" * 3000], "longer than 2000 characters"),
]


@pytest.mark.parametrize(("case", "lines", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_file_is_refused_in_one_line_and_nothing_changes(
    cli: Any, loaded: str, tmp_path: Path, case: str, lines: list[str], message: str
) -> None:
    before = _stored(loaded)
    assert len(before) == 7
    bad = write(tmp_path / "bad.csv", lines)
    result = cli("population", "import", bad, db=loaded)
    assert result.code == 2, result.out
    assert result.err.count("\n") == 1 and message in result.err, result.err
    assert "Traceback" not in result.err
    assert _stored(loaded) == before


def test_a_missing_column_or_a_bad_encoding_is_refused(
    cli: Any, loaded: str, tmp_path: Path
) -> None:
    before = _stored(loaded)
    no_count = write(tmp_path / "cols.csv", ["Y02101,A"], header="ORG_CODE,ETHNIC_CATEGORY")
    result = cli("population", "import", no_count, db=loaded)
    assert result.code == 2 and "no column NUMBER_OF_PATIENTS" in result.err
    latin = tmp_path / "latin.csv"
    latin.write_bytes((HEADER + "\nY02101,A,9,01 d\xe9c\n").encode("latin-1"))
    result = cli("population", "import", latin, db=loaded)
    assert result.code == 2 and "is not a UTF-8 CSV file" in result.err
    assert result.err.count("\n") == 1
    assert _stored(loaded) == before
