"""The referral funnel in people (issue 21, point 1): Wilson intervals against values worked
by hand and published in the literature, a built-in inequality found (and none found where
there is none), every output shape, and the command line."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date
from math import sqrt
from pathlib import Path

import pytest
from sqlmodel import Session

from linkwork import db as lwdb
from linkwork.demo import make_demo
from screening.counts import ALL, Filters, funnel_lines, funnel_report, leaks, wilson
from screening.counts.funnel import published_interval
from screening.counts.outputs import to_csv, to_json, to_measure_report
from screening.disclosure import publish_rate

TODAY = date(2026, 11, 24)


# ------------------------------------------------------------------ the interval


def test_wilson_half_of_ten_worked_by_hand() -> None:
    # p = 0.5, n = 10, z = 1.96: z^2 = 3.8416; centre (0.5 + 0.19208) / 1.38416 = 0.5;
    # half-width 1.96 / 1.38416 * sqrt(0.025 + 3.8416 / 400) = 1.41602 * 0.18603 = 0.26342
    low, high = wilson(5, 10)
    assert low == pytest.approx(0.2366, abs=5e-4)
    assert high == pytest.approx(0.7634, abs=5e-4)


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857-872, table I, method 3 (score)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombes_table(x: int, n: int, low: float, high: float) -> None:
    found = wilson(x, n)
    assert found is not None
    assert found[0] == pytest.approx(low, abs=1e-4)
    assert found[1] == pytest.approx(high, abs=1e-4)


def test_wilson_is_not_the_simple_interval_and_stays_inside_zero_and_one() -> None:
    p, n = 9 / 10, 10
    wald_high = p + 1.96 * sqrt(p * (1 - p) / n)  # 1.086: past 1
    found = wilson(9, 10)
    assert found is not None and wald_high > 1 and found[1] < 1
    assert wilson(10, 10) == (pytest.approx(0.7225, abs=1e-4), pytest.approx(1.0))
    assert wilson(0, 0) is None
    with pytest.raises(ValueError, match="11 successes out of 10 trials"):
        wilson(11, 10)


def test_an_interval_comes_from_the_published_counts() -> None:
    assert published_interval(None, 40) == (None, None)
    assert published_interval(10, None) == (None, None)
    assert published_interval(0, 0) == (None, None)
    low, high = published_interval(20, 40)
    # 20 of 40 by hand: centre 0.5, half 1.96/1.09604 * sqrt(0.00625 + 0.000600) = 0.14800
    assert (low, high) == (0.352, 0.648)


# ------------------------------------------------------------------ demos


def _demo(tmp_path_factory: pytest.TempPathFactory, name: str, less: str | None) -> str:
    path = tmp_path_factory.mktemp(name) / "demo.db"
    url = f"sqlite:///{path}"
    engine = lwdb.open_engine(url)
    with Session(engine) as session:
        make_demo(session, people=2500, seed=21, today=TODAY, referred_less=less)
        session.commit()
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def fair_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield _demo(tmp_path_factory, "fair", None)


@pytest.fixture(scope="module")
def unfair_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield _demo(tmp_path_factory, "unfair", "asian")


def _referred(url: str, by: str = "ethnic_group") -> dict[object, tuple[float, float, float]]:
    engine = lwdb.open_engine(url)
    with Session(engine) as session:
        report = funnel_report(session, by)
        assert leaks(report) == []
    engine.dispose()
    out = {}
    for row in report.rows:
        rate, low, high = (row.values[f"referred_{k}"] for k in ("rate", "low", "high"))
        if rate is not None:
            assert isinstance(low, float) and isinstance(high, float)
            out[row.keys[0]] = (float(rate), low, high)
    return out


def test_an_inequality_built_in_is_shown_with_intervals_that_exclude_equality(
    unfair_url: str,
) -> None:
    found = _referred(unfair_url)
    asian, white = found["asian"], found["white"]
    # the Asian group's needs were referred half as often: its whole interval lies below
    # the White group's, and below the rate of everyone
    assert asian[2] < white[1]
    assert asian[2] < found[ALL][0]
    assert asian[0] < 0.8 * white[0]


def test_without_one_the_funnel_shows_no_inequality(fair_url: str) -> None:
    found = _referred(fair_url)
    white = found["white"]
    for group in ("asian", "black", "mixed", "other"):
        if group in found:
            low, high = found[group][1:]
            assert low <= white[0] <= high or white[1] <= found[group][0] <= white[2], group
    asian = found["asian"]
    assert not asian[2] < white[1]  # the intervals overlap


def test_the_knob_is_off_by_default_and_names_a_real_group(tmp_path: Path) -> None:
    engine = lwdb.open_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with (
        Session(engine) as session,
        pytest.raises(ValueError, match="no ethnic group 'martian' to refer less often"),
    ):
        make_demo(session, people=5, seed=1, today=TODAY, referred_less="martian")
    engine.dispose()


# ------------------------------------------------------------------ the numbers


def test_each_step_is_part_of_the_one_before_and_rates_are_of_published_counts(
    fair_url: str,
) -> None:
    engine = lwdb.open_engine(fair_url)
    with Session(engine) as session:
        raw = funnel_report(session, "sex", rule=None)
        published = funnel_report(session, "sex")
    engine.dispose()
    for row in raw.rows:
        v = row.values
        assert v["need"] >= v["referred"] >= v["accepted"] >= v["completed"]  # type: ignore[operator]
        assert v["accepted"] >= v["failed"]  # type: ignore[operator]
        assert v["referred"] >= v["declined"] and v["referred"] >= v["cancelled"]  # type: ignore[operator]
    for line in funnel_lines(published):
        if line["over"] is None:
            continue
        assert line["rate"] == publish_rate(line["numerator"], line["denominator"])
        assert (line["low"], line["high"]) == published_interval(
            line["numerator"], line["denominator"]
        )
        if line["rate"] is not None:
            assert line["low"] <= line["rate"] <= line["high"]


def test_the_first_step_is_the_needs_reports_count(fair_url: str) -> None:
    from screening.counts import needs_report

    engine = lwdb.open_engine(fair_url)
    with Session(engine) as session:
        window = Filters(start=date(2026, 1, 1), end=date(2026, 6, 30))
        funnel = funnel_report(session, "domain,sex", window)
        needs = needs_report(session, "domain,sex", window)
    engine.dispose()
    assert [(r.keys, r.values["need"]) for r in funnel.rows] == [
        (r.keys, r.values["people"]) for r in needs.rows
    ]


def test_outputs_carry_step_numerator_denominator_rate_and_interval(fair_url: str) -> None:
    engine = lwdb.open_engine(fair_url)
    with Session(engine) as session:
        report = funnel_report(session, "ethnic_group")
    engine.dispose()
    rows = to_json(report)["rows"]
    steps = [r["step"] for r in rows if r["ethnic_group"] is None]
    assert steps == ["need", "referred", "accepted", "completed", "failed", "cancelled", "declined"]
    for r in rows:
        assert {"step", "numerator", "denominator", "rate", "low", "high"} <= set(r)
    text = to_csv(report)
    assert text.startswith("# The referral funnel") and "rounded to the nearest 5" in text
    lines = list(csv.DictReader(io.StringIO(text.split("\n", 1)[1])))
    assert "*" not in {v for line in lines for v in line.values()}
    hidden = [line for line in lines if line["suppressed"] == "1"]
    assert hidden and all(line["rate"] == "" for line in hidden)
    totals = [line for line in lines if line["total"] == "1"]
    assert totals and all(line["ethnic_group"] == "all" for line in totals)
    fhir = to_measure_report(report, reporter="Y02101")
    assert fhir["measure"] == "https://linkwork.org.uk/fhir/Measure/funnel"
    assert fhir["reporter"]["identifier"]["value"] == "Y02101"
    referred = next(g for g in fhir["group"] if g["code"]["coding"][0]["code"] == "referred_rate")
    bounds = referred["extension"][0]["extension"]
    assert [b["url"] for b in bounds] == ["low", "high"]
    assert bounds[0]["valueDecimal"] < referred["measureScore"]["value"] < bounds[1]["valueDecimal"]


def test_ethnic_categories_use_uk_core_codes(fair_url: str) -> None:
    from screening.counts import needs_report

    engine = lwdb.open_engine(fair_url)
    with Session(engine) as session:
        fhir = to_measure_report(needs_report(session, "ethnicity"))
    engine.dispose()
    systems = {
        c["system"]
        for s in fhir["group"][0]["stratifier"][0]["stratum"]
        for c in s["value"]["coding"]
    }
    assert systems == {"https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland"}
    assert fhir["reporter"] == {"type": "Organization", "display": "linkwork"}


def test_the_command_line_funnel_in_every_format(cli, fair_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    table = cli("report", "funnel", "--by", "sex", db=fair_url)
    assert table.code == 0, table.err
    assert "Referred" in table.out and "95% interval" in table.out
    as_json = cli("report", "funnel", "--by", "sex", "--format", "json", db=fair_url)
    data = json.loads(as_json.out)
    assert data["report"] == "funnel" and data["rows"][1]["step"] == "referred"
    target = tmp_path / "funnel.csv"
    written = cli(
        "report", "funnel", "--by", "sex", "--format", "csv", "--out", target, db=fair_url
    )
    assert written.code == 0, written.err
    with target.open(newline="", encoding="utf-8") as fh:
        lines = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    assert lines[0]["step"] == "need"
    bad = cli("report", "funnel", "--by", "colour", db=fair_url)
    assert bad.code == 2 and bad.err.count("\n") == 1 and "unknown dimension 'colour'" in bad.err


def test_a_month_not_over_is_flagged(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from screening.counts.reports import partial_month

    assert partial_month((date(2026, 11, 1), date(2026, 11, 30)), date(2026, 11, 24)) == (
        "November 2026 is not over: its figures run to 24 November 2026 only"
    )
    assert partial_month((date(2026, 10, 1), date(2026, 10, 31)), date(2026, 11, 24)) == ""
    url = f"sqlite:///{tmp_path / 'now.db'}"
    engine = lwdb.open_engine(url)
    with Session(engine) as session:
        make_demo(session, people=60, seed=2, today=date.today())
        session.commit()
    engine.dispose()
    now = cli("report", "funnel", "--by", "sex", "--format", "csv", db=url)
    assert now.code == 0, now.err
    first = now.out.splitlines()[0]
    assert f"{date.today().strftime('%B %Y')} is not over" in first
    json_now = cli("report", "needs", "--by", "sex", "--json", db=url).json()
    assert "is not over" in json_now["disclosure"]["note"]
