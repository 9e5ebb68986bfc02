"""The equality report (issue 21, point 5): one printable page per practice and one for
every practice together, its CSV opened by Python's csv module, the inequality built into a
demo flagged, the partial month flagged, and its reports publishable for data leads."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from linkwork import db as lwdb
from linkwork.demo import make_demo

TODAY = date(2026, 11, 24)


@pytest.fixture(scope="module")
def unfair_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("equality") / "demo.db"
    url = f"sqlite:///{path}"
    engine = lwdb.open_engine(url)
    with Session(engine) as session:
        make_demo(session, people=1500, seed=3, today=TODAY, referred_less="asian")
        session.commit()
    engine.dispose()
    yield url


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def test_the_csv_opens_in_a_csv_reader_and_flags_the_group_referred_less(  # type: ignore[no-untyped-def]
    cli, unfair_url: str, tmp_path: Path
) -> None:
    target = tmp_path / "equality.csv"
    made = cli("report", "equality", "--out", target, db=unfair_url)
    assert made.code == 0, made.err
    first = target.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# Equality report;") and "rounded to the nearest 5" in first
    rows = _read(target)
    assert rows and set(rows[0]) >= {"practice", "section", "group", "value", "ci_low", "ci_high"}
    everyone = [r for r in rows if r["practice"] == "all"]
    referred = {
        r["group"]: r
        for r in everyone
        if r["section"] == "referred" and r["dimension"] == "ethnic_group"
    }
    assert referred["asian"]["below_everyone"] == "1"
    assert float(referred["asian"]["ci_high"]) < float(referred["all"]["value"])
    assert referred["white"]["below_everyone"] == "0"
    # hidden values are empty and flagged, never a * in a number column
    assert all(r["value"] != "*" for r in rows)
    assert all(r["value"] == "" for r in rows if r["suppressed"] == "1")
    # one page for every practice together, then one per practice
    assert len({r["practice"] for r in rows}) > 2


def test_pages_print_one_per_sheet_and_the_svg_is_the_first(  # type: ignore[no-untyped-def]
    cli, unfair_url: str, tmp_path: Path
) -> None:
    html = tmp_path / "equality.html"
    assert cli("report", "equality", "--out", html, db=unfair_url).code == 0
    text = html.read_text(encoding="utf-8")
    engine = lwdb.open_engine(unfair_url)
    with Session(engine) as session:
        practices = session.execute(
            sa.text("select count(distinct practice_ods) from person")
        ).scalar_one()
    engine.dispose()
    assert text.count('<div class="page">') == 1 + practices
    assert "page-break-after: always" in text and "95% interval" in text
    one = tmp_path / "one.svg"
    made = cli("report", "equality", "--practice", "Y02101", "--out", one, db=unfair_url)
    assert made.code == 0, made.err
    svg = one.read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "practice Y02101" in svg
    # the disclosure note whole, wrapped between words, never cut
    joined = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", svg))
    assert "are counted together. Totals come from unrounded numbers, rates from the" in joined
    assert joined.rstrip().endswith("means are to the nearest 0.2.")


def test_a_wrong_file_name_is_one_line_and_writes_nothing(  # type: ignore[no-untyped-def]
    cli, unfair_url: str, tmp_path: Path
) -> None:
    bad = cli("report", "equality", "--out", tmp_path / "e.pdf", db=unfair_url)
    assert bad.code == 2 and bad.err.count("\n") == 1
    assert "must end in .html" in bad.err
    assert not list(tmp_path.iterdir())


def test_the_partial_month_is_flagged(unfair_url: str) -> None:
    from screening.counts import Filters, funnel_report, needs_report, outcomes_report
    from screening.counts.equality_page import build_page, pages_csv

    engine = lwdb.open_engine(unfair_url)
    with Session(engine) as session:
        window = Filters(start=date(2026, 10, 1))
        needs = needs_report(session, "domain", window)
        funnel = funnel_report(session, "ethnic_group", window)
        outcomes = outcomes_report(session, "ethnic_group", window)
    engine.dispose()
    page = build_page(None, needs, [funnel], outcomes, TODAY)
    assert page.partial == "November 2026 is not over: its figures run to 24 November 2026 only"
    assert "November 2026 is not over" in pages_csv([page]).splitlines()[0]
    later = build_page(None, needs, [funnel], outcomes, date(2027, 1, 5))
    assert later.partial == ""


def test_its_reports_are_published_together_for_data_leads(  # type: ignore[no-untyped-def]
    cli, unfair_url: str
) -> None:
    made = cli("report", "publish", "equality", "--practice", "Y02101", db=unfair_url)
    assert made.code == 0, made.err
    listed = cli("report", "published", "--json", db=unfair_url).json()
    names = sorted(item["name"] for item in listed if item["org"] == "Y02101")
    assert names == ["funnel", "funnel", "funnel", "funnel", "needs", "outcomes"]


def test_with_list_sizes_a_page_sets_need_beside_the_population(  # type: ignore[no-untyped-def]
    cli, unfair_url: str, tmp_path: Path
) -> None:
    from test_population import _practices, _quin_file

    practice = _practices(unfair_url)[0]
    sizes = _quin_file(tmp_path / "quin.csv", {ods: 60 for ods in _practices(unfair_url)})
    assert cli("population", "import", sizes, db=unfair_url).code == 0
    target = tmp_path / "page.csv"
    made = cli("report", "equality", "--practice", practice, "--out", target, db=unfair_url)
    assert made.code == 0, made.err
    per = [r for r in _read(target) if r["section"] == "per1000" and r["dimension"] == "age_band"]
    # 0-17 for one practice: 60 in each of 0_4, 5_9, 10_14 and 3/5 of 15_19, for each sex
    band = next(r for r in per if r["group"] == "0-17")
    assert band["denominator"] == str(2 * (3 * 60 + 36))
    assert any(r["value"] for r in per)
    svg = tmp_path / "page.svg"
    assert cli("report", "equality", "--practice", practice, "--out", svg, db=unfair_url).code == 0
    text = svg.read_text(encoding="utf-8")
    assert "per 1,000 registered patients, by age band" in text
    # more charts than an A4 page holds: all of them, shrunk together above the note
    assert "Change in life satisfaction (ONS4, 0-10)" in text
    shrunk = re.search(r'<g transform="translate\([\d.]+,[\d.]+\) scale\((0\.\d+)\)">', text)
    assert shrunk is not None and 0.5 < float(shrunk.group(1)) < 1
