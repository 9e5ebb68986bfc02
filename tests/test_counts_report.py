"""``linkwork report`` over ``linkwork demo --people 2000`` data: disclosure holds in every
table, no identifier in any output format, the MeasureReport validates (fhir.resources and
the independent Node validators), bad input is one line and exit 2, files are atomic, and
``--no-suppression`` is loud and audited."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from linkwork import db as lwdb
from screening import counts
from screening.disclosure import recoverable_cells
from screening.models import AuditEvent, Person

DIMENSION_SETS = [
    "need",
    "domain",
    "month",
    "quarter",
    "year",
    "practice",
    "ethnicity",
    "ethnic_group",
    "age_band",
    "sex",
    "disability",
    "deprivation",
    "domain,ethnic_group",
    "need,sex",
    "month,age_band",
    "ethnicity,disability",
    "practice,ethnic_group",
    "quarter,domain",
    "domain,month,ethnic_group",
]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One SQLite database with ``linkwork demo --people 2000`` data, shared by this module
    (tests copy it when they write)."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    url = f"sqlite:///{path}"
    engine = lwdb.open_engine(url)
    from linkwork.demo import make_demo

    with Session(engine) as session:
        make_demo(session, people=2000, seed=20261124)
        session.commit()
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    yield url


@pytest.fixture
def demo_copy(demo_db: str, tmp_path: Path) -> str:
    source = Path(demo_db.removeprefix("sqlite:///"))
    target = tmp_path / "copy.db"
    shutil.copy(source, target)
    return f"sqlite:///{target}"


@pytest.fixture(scope="module")
def people(demo_db: str) -> list[Person]:
    engine = lwdb.open_engine(demo_db)
    with Session(engine) as session:
        found = list(session.execute(sa.select(Person)).scalars())
    engine.dispose()
    assert len(found) == 2000
    return found


# ------------------------------------------------------------------- disclosure


def _published_counts(report: counts.Report) -> list[int | None]:
    return [
        row.values[m.key]  # type: ignore[misc]
        for row in report.rows
        for m in report.measures
        if m.kind == "count"
    ]


@pytest.mark.parametrize("by", DIMENSION_SETS)
def test_demo_tables_publish_no_small_or_unrounded_count(demo_db: str, by: str) -> None:
    engine = lwdb.open_engine(demo_db)
    with Session(engine) as session:
        report = counts.needs_report(session, by)
        raw = counts.needs_report(session, by, rule=None)
    engine.dispose()
    values = _published_counts(report)
    assert values, by
    for value in values:
        if value is not None:
            assert not 1 <= value <= 7
            assert value % 5 == 0
    # a single period (a person counted in several months): each month is decided alone,
    # as the report for its dates, so there is no table to protect
    assert report.tables or by in ("month", "quarter", "year")
    for table in report.tables:
        assert recoverable_cells(table) == []
    # the raw view really differs: suppression did something
    assert any(v is not None and v % 5 for v in _published_counts(raw))


@pytest.mark.parametrize("name", ["referrals", "outcomes"])
def test_demo_referrals_and_outcomes_are_protected(demo_db: str, name: str) -> None:
    engine = lwdb.open_engine(demo_db)
    build = counts.referrals_report if name == "referrals" else counts.outcomes_report
    with Session(engine) as session:
        report = build(session, "ethnicity")
    engine.dispose()
    for value in _published_counts(report):
        if value is not None:
            assert not 1 <= value <= 7 and value % 5 == 0
    for table in report.tables:
        assert recoverable_cells(table) == []
    if name == "outcomes":
        for row in report.rows:
            if row.values["needs"] is None or row.values["resolved"] is None:
                assert row.values["share_resolved"] is None
            if row.values["ons4_people"] is None:
                assert row.values["ons4_happy_change"] is None


# ---------------------------------------------------------------- identifiers


def _identifiers(person: Person) -> list[str]:
    found = [
        f"{person.given_name} {person.family_name}",
        f"{person.family_name}, {person.given_name}",
    ]
    if person.nhs_number:
        n = person.nhs_number
        found += [n, f"{n[:3]} {n[3:6]} {n[6:]}"]
    b = person.birth_date
    found += [b.isoformat(), b.strftime("%d/%m/%Y"), b.strftime("%Y%m%d")]
    if person.postcode:
        found += [person.postcode, person.postcode.replace(" ", "")]
    return found


def found_in(text: str, words: list[str]) -> list[str]:
    """The words that occur in ``text``: ``[w for w in words if w in text]``, in a second
    rather than minutes for 18,000 words in 1.7 MB. A word made only of some characters
    occurs, if at all, inside one run of those characters in the text; so the text is cut at
    every other character, each distinct run kept once, and the runs searched joined by a
    character no word has."""
    alphabet = set("".join(words))
    joint = next(c for c in "\n\x00|" if c not in alphabet)
    other = re.compile(f"[^{re.escape(''.join(sorted(alphabet)))}]+") if alphabet else None
    runs = set(other.split(text)) if other else {text}
    searched = joint.join(runs)
    return [w for w in words if w in searched]


def test_found_in_finds_what_a_plain_search_finds() -> None:
    text = 'Name: "Ann Lee", born 1961-07-03;\n<b>Lee, Ann</b> NHS 999 000 0018 ZZ1 1AA.'
    words = ["Ann Lee", "Lee, Ann", "999 000 0018", "1961-07-03", "ZZ1 1AA", "ZZ11AA",
             "Ann Leeds", "07-03;", "03;\n<b>", "03/07/1961", "Ann"]  # fmt: skip
    assert found_in(text, words) == [w for w in words if w in text]
    assert found_in(text, words) == ["Ann Lee", "Lee, Ann", "999 000 0018", "1961-07-03",
                                     "ZZ1 1AA", "07-03;", "03;\n<b>", "Ann"]  # fmt: skip


def test_no_identifier_in_any_output(
    cli, demo_db: str, people: list[Person], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    outputs: list[str] = []
    for by in ("need,ethnicity", "practice,age_band", "month,sex", "deprivation", "domain"):
        for fmt in ("table", "csv", "json", "fhir"):
            result = cli("report", "needs", "--by", by, "--format", fmt, db=demo_db)
            assert result.code == 0, result.err
            outputs.append(result.out)
        svg = tmp_path / f"{by.replace(',', '-')}.svg"
        result = cli("report", "needs", "--by", by, "--chart", "--chart-out", svg, db=demo_db)
        assert result.code == 0, result.err
        outputs += [result.out, result.err, svg.read_text(encoding="utf-8")]
    for name in ("referrals", "outcomes"):
        for fmt in ("table", "csv", "json", "fhir"):
            result = cli("report", name, "--by", "ethnic_group", "--format", fmt, db=demo_db)
            assert result.code == 0, result.err
            outputs.append(result.out)
    text = "\n".join(outputs)
    assert "Z59" in text and "<svg" in text and "MeasureReport" in text  # it did print
    leaks = found_in(text, [i for p in people for i in _identifiers(p)])
    assert leaks == []


# ----------------------------------------------------------------------- formats


def test_csv_json_and_table_agree(cli, demo_db: str) -> None:  # type: ignore[no-untyped-def]
    import csv
    import io

    as_csv = cli("report", "needs", "--by", "domain,sex", "--format", "csv", db=demo_db)
    as_json = cli("report", "needs", "--by", "domain,sex", "--json", db=demo_db)
    comment, body = as_csv.out.split("\n", 1)
    # tidy: the note in a comment line, one line per cell and measure, no * in a number
    assert comment.startswith("# People with a recorded social need") and "(*)" in comment
    rows = list(csv.DictReader(io.StringIO(body)))
    assert list(rows[0]) == [
        "domain",
        "domain_label",
        "sex",
        "sex_label",
        "total",
        "measure",
        "value",
        "suppressed",
    ]
    data = as_json.json()
    assert data["disclosure"]["applied"] is True
    assert "financial" in data["periods"]
    assert len(rows) == len(data["rows"])
    for line, item in zip(rows, data["rows"], strict=True):
        expected = "" if item["people"] is None else str(item["people"])
        assert line["measure"] == "people" and line["value"] == expected
        assert line["suppressed"] == ("1" if item["people"] is None else "0")
        assert line["domain"] == (item["domain"] or "all")
        assert line["total"] == ("1" if item["domain"] is None or item["sex"] is None else "0")
    assert any(line["suppressed"] == "1" for line in rows)
    table = cli("report", "needs", "--by", "domain", db=demo_db)
    assert "Housing and homelessness" in table.out and "hidden" in table.out


def test_measure_report_validates(cli, demo_db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from fhir.resources.R4B.measurereport import MeasureReport

    from codes.catalogue import load_catalogue

    files = []
    for n, by in enumerate(["need,ethnic_group", "sex,disability", "domain,month,sex", "year"]):
        out = tmp_path / f"mr{n}.json"
        result = cli("report", "needs", "--by", by, "--format", "fhir", "--out", out, db=demo_db)
        assert result.code == 0, result.err
        files.append(out)
    data = json.loads(files[0].read_text(encoding="utf-8"))
    report = MeasureReport.model_validate(data)
    assert report.status == "complete" and report.type == "summary"
    assert data["measure"].startswith("https://linkwork.org.uk/fhir/Measure/")
    codes = [g["code"]["coding"][0]["code"] for g in data["group"]]
    assert len(codes) == len(set(codes))
    domains = {d.key for d in load_catalogue().domains()}
    assert all(re.match(r"^Z6[0-5]|^Z5[5-9]", c) or c in domains for c in codes)
    assert any(c.startswith("Z59") for c in codes)
    masked = [
        pop
        for g in data["group"]
        for s in g.get("stratifier", [])
        for st in s["stratum"]
        for pop in st["population"]
        if "_count" in pop
    ]
    assert masked
    for pop in masked:
        assert "count" not in pop
        assert pop["_count"]["extension"][0] == {
            "url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
            "valueCode": "masked",
        }
    # the independent validators (FHIR R4 JSON schema with ajv, and FHIR.js)
    from test_exchange_support import node

    result = node("fhir-validate.mjs", *files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_svg_chart_is_well_formed(cli, demo_db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import xml.etree.ElementTree as ET

    out = tmp_path / "chart.svg"
    result = cli("report", "needs", "--by", "ethnic_group", "--chart-out", out, db=demo_db)
    assert result.code == 0, result.err
    root = ET.fromstring(out.read_text(encoding="utf-8"))
    assert root.tag.endswith("svg")
    bars = [e for e in root.iter() if e.tag.endswith("rect")]
    assert len(bars) >= 6  # background + a bar for most groups
    png = cli("report", "needs", "--by", "sex", "--chart-out", tmp_path / "c.png", db=demo_db)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert png.code == 2 and "matplotlib" in png.err
        assert not (tmp_path / "c.png").exists()


# ------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by", "colour"], "unknown dimension"),
        (["--by", "need", "--from", "2026-02-01", "--to", "2026-01-01"], "after"),
        (["--by", "need", "--practice", "Y99999"], "no practice"),
        (["--by", "need", "--from", "1 March"], "bad --from date"),
        (["--by", "need", "--to", "2026-02-30"], "bad --to date"),
        (["--by", "need", "--threshold", "3"], "can only be raised"),
        (["--by", "need", "--round-to", "2"], "multiple of 5"),
        (["--by", "need,need"], "repeated"),
        (["--by", "need", "--chart-out", "chart.gif"], ".svg or .png"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, demo_db: str, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("report", "needs", *args, db=demo_db)
    assert result.code == 2
    assert result.err.startswith("linkwork: ") and message in result.err
    assert result.err.count("\n") == 1
    assert result.out == ""


def test_empty_result_is_exit_1(cli, demo_db: str) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "report", "needs", "--by", "sex", "--from", "1990-01-01", "--to", "1990-12-31", db=demo_db
    )
    assert result.code == 1
    assert result.err.startswith("linkwork: nothing to count") and result.err.count("\n") == 1


def test_an_unwritable_output_leaves_no_file(cli, demo_db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "no-such-folder" / "out.csv"
    result = cli("report", "needs", "--by", "sex", "--format", "csv", "--out", missing, db=demo_db)
    assert result.code == 2 and result.err.count("\n") == 1
    assert not missing.parent.exists()
    # the target is a folder: the write fails after rendering; no temporary file is left
    folder = tmp_path / "taken"
    (folder / "x").mkdir(parents=True)
    result = cli(
        "report", "needs", "--by", "sex", "--format", "csv", "--out", folder / "x", db=demo_db
    )
    assert result.code == 2 and result.err.startswith("linkwork: ")
    assert sorted(p.name for p in folder.iterdir()) == ["x"]
    assert list((folder / "x").iterdir()) == []


def test_output_file_is_complete(cli, demo_db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "needs.json"
    result = cli("report", "needs", "--by", "domain", "--format", "json", "--out", out, db=demo_db)
    assert result.code == 0 and result.out == ""
    assert json.loads(out.read_text(encoding="utf-8"))["by"] == ["domain"]


# ------------------------------------------------------------- no suppression


def test_no_suppression_warns_and_is_audited(cli, demo_copy: str) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "report", "needs", "--by", "domain,sex", "--json", "--no-suppression", db=demo_copy
    )
    assert result.code == 0
    assert "WARNING" in result.err and "do not publish" in result.err
    data = result.json()
    assert data["disclosure"]["applied"] is False
    values = [r["people"] for r in data["rows"]]
    assert any(1 <= v <= 7 for v in values)  # raw numbers really are raw
    engine = lwdb.open_engine(demo_copy)
    with Session(engine) as session:
        events = list(
            session.execute(sa.select(AuditEvent).where(AuditEvent.entity == "report")).scalars()
        )
    engine.dispose()
    assert events[-1].detail["suppression"] == "off"
    assert events[-1].actor == "test.worker"
    from screening.audit import verify_chain

    engine = lwdb.open_engine(demo_copy)
    with Session(engine) as session:
        assert verify_chain(session).ok
    engine.dispose()


def test_suppressed_is_the_default(cli, demo_db: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("report", "needs", "--by", "domain,sex", "--json", db=demo_db)
    assert result.code == 0 and "WARNING" not in result.err
    values = [r["people"] for r in result.json()["rows"]]
    assert None in values
    assert all(v is None or v == 0 or (v >= 10 and v % 5 == 0) for v in values)


def test_load_deprivation_cli(cli, demo_copy: str, people: list[Person], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lookup = tmp_path / "imd.csv"
    lines = ["postcode,decile"]
    for n, person in enumerate(people):
        if person.postcode:
            lines.append(f"{person.postcode},{n % 10 + 1}")
    lookup.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("report", "load-deprivation", lookup, "--json", db=demo_copy)
    assert result.code == 0, result.err
    assert result.json()["postcodes"] > 100
    report = cli("report", "needs", "--by", "deprivation", "--json", db=demo_copy).json()
    keys = [r["deprivation"] for r in report["rows"]]
    assert "1" in keys and "10" in keys
    bad = tmp_path / "bad.csv"
    bad.write_text("postcode,decile\nZZ1 1AA,zero\n", encoding="utf-8")
    result = cli("report", "load-deprivation", bad, db=demo_copy)
    assert result.code == 2 and "line 2" in result.err
    # the earlier lookup is still there (nothing half-written)
    again = cli("report", "needs", "--by", "deprivation", "--json", db=demo_copy).json()
    assert again["rows"] == report["rows"]


def test_measure_report_carries_every_measure(cli, demo_db: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Referrals and outcomes: one group per measure with the same values as the JSON
    output (counts as populations, rates with numerator and denominator, means with the
    population they are over), hidden ones masked; valid for fhir.resources and Node."""
    from fhir.resources.R4B.measurereport import MeasureReport

    measure_system = "https://linkwork.org.uk/fhir/CodeSystem/measure"
    files = []
    for name, by in (("referrals", "ethnic_group"), ("outcomes", "sex"), ("referrals", "need")):
        out = tmp_path / f"{name}-{by}.json"
        made = cli("report", name, "--by", by, "--format", "fhir", "--out", out, db=demo_db)
        assert made.code == 0, made.err
        files.append(out)
        data = json.loads(out.read_text(encoding="utf-8"))
        MeasureReport.model_validate(data)
        rows = cli("report", name, "--by", by, "--format", "json", db=demo_db).json()
        # intervals and spreads travel as extensions of the score they belong to
        keys = [m["key"] for m in rows["measures"] if m["kind"] in ("count", "rate", "mean")]
        groups = {
            g["code"]["coding"][0]["code"]: g
            for g in data["group"]
            if g["code"]["coding"][0]["system"] == measure_system
        }
        assert list(groups) == keys  # every measure, in order
        for measure in rows["measures"]:
            if measure["key"] not in keys:
                continue
            group = groups[measure["key"]]
            strata = {
                s["value"]["coding"][0]["code"]: s
                for st in group["stratifier"]
                for s in st["stratum"]
            }
            for row in rows["rows"]:
                if row[by] is None:
                    stratum: dict = group  # the total is the group itself
                else:
                    stratum = strata[row[by]]
                expected = row[measure["key"]]
                if measure["kind"] == "count":
                    (pop,) = stratum["population"]
                    assert pop["code"]["coding"][0]["code"] == "initial-population"
                    assert pop.get("count") == expected
                    assert ("_count" in pop) == (expected is None)
                else:
                    score = stratum["measureScore"]
                    assert score.get("value") == expected
                    assert ("extension" in score) == (expected is None)
                    codes = [p["code"]["coding"][0]["code"] for p in stratum["population"]]
                    assert codes == (
                        ["numerator", "denominator"]
                        if measure["kind"] == "rate"
                        else ["measure-population"]
                    )
        if name == "outcomes":
            share = groups["share_resolved"]["population"]
            assert share[0]["count"] == next(r for r in rows["rows"] if r[by] is None)["resolved"]
    from test_exchange_support import node

    result = node("fhir-validate.mjs", *files)
    assert result.returncode == 0, result.stdout + result.stderr
