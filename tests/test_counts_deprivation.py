"""Deprivation from the national files (issue 21, point 2): the English indices of
deprivation by LSOA and the national postcode lookup (synthetic files in the same layouts),
or postcode,decile; broken files refused in one line with nothing changed."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from linkwork import db as lwdb
from linkwork.demo import make_demo
from screening.counts import needs_report

TODAY = date(2026, 11, 24)
IOD = [
    "LSOA code (2021)",
    "LSOA name (2021)",
    "Local Authority District code (2024)",
    "Local Authority District name (2024)",
    "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)",
    "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)",
]


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("deprivation") / "demo.db"
    url = f"sqlite:///{path}"
    engine = lwdb.open_engine(url)
    with Session(engine) as session:
        make_demo(session, people=300, seed=9, today=TODAY)
        session.commit()
    engine.dispose()
    yield url


def _postcodes(url: str) -> list[str]:
    engine = lwdb.open_engine(url)
    with Session(engine) as session:
        found = session.execute(sa.text("select distinct postcode from person")).scalars()
        out = sorted(str(p) for p in found if p)
    engine.dispose()
    return out


def _files(tmp_path: Path, postcodes: list[str]) -> tuple[Path, Path]:
    """Each postcode in its own LSOA, deciles 1-10 in turn; an LSOA and a postcode no one
    in the records has, as in the national files."""
    iod = tmp_path / "iod.csv"
    nspl = tmp_path / "nspl.csv"
    with iod.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(IOD)
        for n in range(len(postcodes) + 1):
            out.writerow(
                [f"E0{n:07d}", f"Place {n}", "E06000001", "Town", str(n + 1), str(n % 10 + 1)]
            )
    with nspl.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["pcd", "pcd2", "pcds", "dointr", "oa21", "lsoa21", "msoa21", "imd"])
        for n, pc in enumerate(postcodes):
            out.writerow(
                [pc.replace(" ", ""), pc, pc, "199801", "E00000001", f"E0{n:07d}", "E02", "1"]
            )
        out.writerow(
            ["ZZ99 9ZZ", "ZZ99 9ZZ", "ZZ99 9ZZ", "199801", "E00000001", "E00000000", "E02", "1"]
        )
    return iod, nspl


def test_the_national_files_give_every_person_their_decile(
    cli, demo_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    postcodes = _postcodes(demo_url)
    iod, nspl = _files(tmp_path, postcodes)
    loaded = cli("deprivation", "import", iod, "--postcodes", nspl, "--json", db=demo_url)
    assert loaded.code == 0, loaded.err
    assert loaded.json() == {"postcodes": len(postcodes)}
    engine = lwdb.open_engine(demo_url)
    with Session(engine) as session:
        report = needs_report(session, "deprivation", rule=None)
        stored = dict(
            session.execute(sa.text("select postcode, decile from postcode_deprivation")).all()
        )
    engine.dispose()
    keys = {row.keys[0] for row in report.rows if row.keys[0] is not None}
    assert 0 not in keys and len(keys) == 10  # nobody "not known" any more
    first = postcodes[0].replace(" ", "").upper()
    assert stored[first] == 1  # LSOA 0 has decile 1


BROKEN = [
    ("no lookup", None, "gives deciles by LSOA: give the postcode lookup too"),
    ("bad lookup", "a,b\n1,2\n", "is not a postcode lookup"),
    ("missing", "missing", "no such file"),
]


@pytest.mark.parametrize(("case", "lookup", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_a_broken_file_changes_nothing(  # type: ignore[no-untyped-def]
    cli, demo_url: str, tmp_path: Path, case: str, lookup: str | None, message: str
) -> None:
    postcodes = _postcodes(demo_url)
    iod, nspl = _files(tmp_path, postcodes)
    assert cli("deprivation", "import", iod, "--postcodes", nspl, db=demo_url).code == 0
    engine = lwdb.open_engine(demo_url)
    with Session(engine) as session:
        before = session.execute(sa.text("select count(*) from postcode_deprivation")).scalar()
    args: list[object] = ["deprivation", "import", iod]
    if lookup == "missing":
        args += ["--postcodes", tmp_path / "nowhere.csv"]
    elif lookup is not None:
        bad = tmp_path / "bad.csv"
        bad.write_text(lookup, encoding="utf-8")
        args += ["--postcodes", bad]
    result = cli(*args, db=demo_url)
    assert result.code == 2 and result.err.count("\n") == 1 and message in result.err
    with Session(engine) as session:
        after = session.execute(sa.text("select count(*) from postcode_deprivation")).scalar()
    engine.dispose()
    assert after == before
