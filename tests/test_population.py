"""Population denominators (issue 21, point 2): practice list sizes from a synthetic file in
the layout of NHS England's "Patients Registered at a GP Practice" CSV, rates per 1,000
registered patients from the published counts, and broken files refused in one line with
nothing changed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from linkwork import db as lwdb
from linkwork.demo import make_demo
from screening.counts import ALL, funnel_report, leaks
from screening.counts.population import Populations, pop_t

TODAY = date(2026, 11, 24)
QUIN = [
    "PUBLICATION",
    "EXTRACT_DATE",
    "ORG_TYPE",
    "ORG_CODE",
    "ONS_CODE",
    "POSTCODE",
    "SEX",
    "AGE_GROUP_5",
    "NUMBER_OF_PATIENTS",
]
GROUPS = [f"{n}_{n + 4}" for n in range(0, 95, 5)] + ["95+"]


def _quin_file(path: Path, practices: dict[str, int], extra: list[list[str]] | None = None) -> Path:
    """Every practice: ``n`` patients in each five-year group of each sex, and the totals
    (an ICB line and a practice not in the records as in the national file)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(QUIN)
        out.writerow(
            ["GP_PRAC_PAT_LIST", "01NOV2026", "ICB", "QE1", "E54000008", "", "ALL", "ALL", "999999"]
        )
        for ods, n in {**practices, "Z99999": 3}.items():
            total = n * len(GROUPS)
            for sex in ("MALE", "FEMALE"):
                for group in GROUPS:
                    out.writerow(
                        [
                            "GP_PRAC_PAT_LIST",
                            "01NOV2026",
                            "GP",
                            ods,
                            "E38",
                            "LS1 1AA",
                            sex,
                            group,
                            str(n),
                        ]
                    )
                out.writerow(
                    [
                        "GP_PRAC_PAT_LIST",
                        "01NOV2026",
                        "GP",
                        ods,
                        "E38",
                        "LS1 1AA",
                        sex,
                        "ALL",
                        str(total),
                    ]
                )
            out.writerow(
                [
                    "GP_PRAC_PAT_LIST",
                    "01NOV2026",
                    "GP",
                    ods,
                    "E38",
                    "LS1 1AA",
                    "ALL",
                    "ALL",
                    str(2 * total),
                ]
            )
        for line in extra or []:
            out.writerow(line)
    return path


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("population") / "demo.db"
    url = f"sqlite:///{path}"
    engine = lwdb.open_engine(url)
    with Session(engine) as session:
        make_demo(session, people=800, seed=5, today=TODAY)
        session.commit()
    engine.dispose()
    yield url


def _practices(url: str) -> list[str]:
    engine = lwdb.open_engine(url)
    with Session(engine) as session:
        found = session.execute(sa.text("select distinct practice_ods from person")).scalars()
        out = sorted(str(p) for p in found)
    engine.dispose()
    return out


def _stored(url: str) -> list[tuple[object, ...]]:
    engine = lwdb.open_engine(url)
    with Session(engine) as session:
        rows = [tuple(r) for r in session.execute(sa.select(pop_t).order_by(*pop_t.c))]
    engine.dispose()
    return rows


def test_list_sizes_give_rates_per_thousand_registered(cli, demo_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    practices = _practices(demo_url)
    sizes = {ods: 100 + 10 * i for i, ods in enumerate(practices)}
    loaded = cli(
        "population", "import", _quin_file(tmp_path / "quin.csv", sizes), "--json", db=demo_url
    )
    assert loaded.code == 0, loaded.err
    found = json.loads(loaded.out)
    assert found["practices"] == len(practices) and found["skipped"] == 1
    assert found["extract_date"] == "01NOV2026"

    engine = lwdb.open_engine(demo_url)
    with Session(engine) as session:
        report = funnel_report(session, "practice")
        assert leaks(report) == []
        by_sex = funnel_report(session, "sex")
    engine.dispose()
    for row in report.rows:
        ods = row.keys[0]
        # 2 sexes x 20 groups of n each
        expected = sum(40 * n for n in sizes.values()) if ods is ALL else 40 * sizes[ods]
        assert row.values["registered"] == expected
        need = row.values["need"]
        if need is not None:
            assert row.values["need_per_1000"] == round(1000 * need / expected, 1)
        else:
            assert row.values["need_per_1000"] is None
    female = next(r for r in by_sex.rows if r.keys == ("female",))
    assert female.values["registered"] == sum(20 * n for n in sizes.values())
    other = next(r for r in by_sex.rows if r.keys[0] not in ("female", "male", ALL))
    assert other.values["registered"] is None  # the file counts no other sex

    as_csv = cli("report", "funnel", "--by", "practice", "--format", "csv", db=demo_url)
    lines = list(csv.DictReader(io.StringIO(as_csv.out.split("\n", 1)[1])))
    first = next(
        line for line in lines if line["practice"] == practices[0] and line["step"] == "need"
    )
    assert first["registered"] == str(40 * sizes[practices[0]])


def test_age_bands_share_a_five_year_group_by_years(demo_url: str, tmp_path: Path) -> None:
    from screening.counts.population import load_population

    practice = _practices(demo_url)[0]
    engine = lwdb.open_engine(demo_url)
    with Session(engine) as session:
        load_population(session, _quin_file(tmp_path / "q.csv", {practice: 50}))
        sizes = Populations(session)
        session.rollback()
    engine.dispose()
    # 0-17: 0_4, 5_9, 10_14 whole (150) and three of the five years of 15_19 (30), per sex
    assert sizes.registered(("practice", "age_band"), (practice, "0-17"), [practice], set()) == 360
    # 18-24: two years of 15_19 (20) and 20_24 (50), per sex
    assert sizes.registered(("practice", "age_band"), (practice, "18-24"), [practice], set()) == 140
    # 85+: 85_89, 90_94 and 95+ (an open group is one group)
    assert sizes.registered(("practice", "age_band"), (practice, "85+"), [practice], set()) == 300
    assert sizes.registered(("practice", "sex"), (practice, "male"), [practice], set()) == 1000
    # a practice with no list size: no denominator for it, nor for every practice
    assert sizes.registered(("practice",), ("Y00000",), [practice], set()) is None
    assert sizes.registered(("practice",), (ALL,), [practice, "Y00000"], set()) is None


BROKEN = [
    ("missing", None, "no such file"),
    ("folder", None, "is a folder, not a CSV file"),
    ("header", "A,B,C\n1,2,3\n", "is not a 'Patients Registered at a GP Practice' file: no column"),
    (
        "sex",
        ["GP_PRAC_PAT_LIST", "01NOV2026", "GP", "{ods}", "E38", "", "BOTH", "0_4", "5"],
        "sex 'BOTH' is not MALE, FEMALE or ALL",
    ),
    (
        "age",
        ["GP_PRAC_PAT_LIST", "01NOV2026", "GP", "{ods}", "E38", "", "MALE", "0-4", "5"],
        "age group '0-4' is not one the file uses",
    ),
    (
        "number",
        ["GP_PRAC_PAT_LIST", "01NOV2026", "GP", "{ods}", "E38", "", "MALE", "0_4", "-5"],
        "number of patients '-5' is not a whole number",
    ),
    (
        "twice",
        ["GP_PRAC_PAT_LIST", "01NOV2026", "GP", "{ods}", "E38", "", "MALE", "0_4", "5"],
        "is given twice",
    ),
    ("fields", ["GP", "{ods}"], "2 fields, not 9"),
    (
        "long",
        ["GP_PRAC_PAT_LIST", "01NOV2026", "GP", "{ods}", "x" * 3000, "", "MALE", "0_4", "5"],
        "is longer than 2000 characters",
    ),
    ("bytes", b"\xff\xfeORG_CODE\n", "is not a UTF-8 CSV file"),
    (
        "none",
        "\n".join([",".join(QUIN), "P,01NOV2026,GP,Z99999,E,,ALL,ALL,5"]) + "\n",
        "has no list sizes for the practices in the records",
    ),
]


@pytest.mark.parametrize(("case", "content", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_file_is_refused_in_one_line_and_nothing_changes(  # type: ignore[no-untyped-def]
    cli, demo_url: str, tmp_path: Path, case: str, content: object, message: str
) -> None:
    practices = _practices(demo_url)
    good = _quin_file(tmp_path / "good.csv", {ods: 7 for ods in practices})
    assert cli("population", "import", good, db=demo_url).code == 0
    before = _stored(demo_url)
    target = tmp_path / f"{case}.csv"
    if case == "folder":
        target.mkdir()
    elif isinstance(content, list):
        line = [c.format(ods=practices[0]) for c in content]
        _quin_file(target, {ods: 9 for ods in practices}, extra=[line])
    elif isinstance(content, bytes):
        target.write_bytes(content)
    elif isinstance(content, str):
        target.write_text(content, encoding="utf-8")
    result = cli("population", "import", target, db=demo_url)
    assert result.code == 2, result.out
    assert result.err.count("\n") == 1 and message in result.err
    assert "Traceback" not in result.err
    assert _stored(demo_url) == before
