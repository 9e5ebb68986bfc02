"""``linkwork report ...`` and the app's Counts screen make, audit and write a report
through one action (``linkwork.actions.reports``): the same report exported from either
gives the same file bytes and the same audit row; a target that cannot be written leaves
no file and no audit row in both; tables show values the same way (``count_text``)."""

from __future__ import annotations

import errno
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from demo_support import built_copy
from sqlmodel import Session, select
from test_counts_received import _make_hub

from linkwork import db as lwdb
from linkwork.actions import reports as act
from linkwork.demo import make_demo
from linkwork.settings import load_settings
from linkwork.workspace import Workspace
from screening.counts import count_text
from screening.models import AuditEvent
from tui.screens import counts as screen

TODAY = date(2026, 11, 24)


def _build_demo(url: str) -> None:
    engine = lwdb.open_engine(url)
    with lwdb.session_scope(engine) as session:
        make_demo(session, people=80, seed=3, today=TODAY)
    with Session(engine) as session:
        _make_hub(session)  # referrals received from elsewhere, as at a hub
    engine.dispose()


@pytest.fixture
def demo_url(request: pytest.FixtureRequest, db_url: str) -> str:
    """The demo, built once per process and backend, copied (tests/demo_support.py)."""
    return built_copy(request, db_url, _build_demo)


def _workspace(url: str) -> Workspace:
    return Workspace(load_settings(database_url=url), lwdb.open_engine(url))


def _events(url: str) -> list[tuple[str, str, str, Any, str]]:
    """Audit rows about reports and the lookup: action, entity, entity id, detail, actor."""
    engine = lwdb.open_engine(url)
    with Session(engine) as session:
        rows = session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity.in_(("report", "deprivation")))  # type: ignore[attr-defined]
            .order_by(AuditEvent.seq)  # type: ignore[arg-type]
        ).all()
        found = [(e.action, e.entity, e.entity_id, e.detail, e.actor) for e in rows]
    engine.dispose()
    return found


def _app_spec(measure_label: str, rows: str, split: str | None = None, **filters: Any) -> Any:
    """The spec the Counts screen makes for a measure chosen by its label in the list."""
    label, report, measure, direction = next(m for m in screen.MEASURES if m[0] == measure_label)
    params = {
        "label": label,
        "report": report,
        "direction": direction,
        "measure": measure,
        "rows": rows,
        "split": split,
        "date_from": filters.get("date_from"),
        "date_to": filters.get("date_to"),
        "practice": filters.get("practice"),
    }
    return act.ReportSpec(**screen.spec_fields(params)), measure


EXPORTS = [
    # (CLI arguments, the Counts screen's measure, rows, split)
    (["needs", "--by", "domain,sex"], "People with a need", "domain", "sex"),
    (["referrals", "--by", "month"], "Referrals made", "month", None),
    (
        ["referrals", "--direction", "received", "--by", "sex", "--from", "2025-01-01"],
        "Referrals received (hub)",
        "sex",
        None,
    ),
    (["outcomes", "--by", "sex", "--practice", "y02101"], "Share of needs resolved", "sex", None),
]


@pytest.mark.parametrize(("args", "measure", "rows", "split"), EXPORTS)
def test_export_same_bytes_and_audit_row_from_cli_and_app(  # type: ignore[no-untyped-def]
    cli, demo_url: str, tmp_path: Path, args: list[str], measure: str, rows: str, split: str | None
) -> None:
    target = tmp_path / "counts.csv"
    result = cli("report", *args, "--format", "csv", "--out", target, db=demo_url)
    assert result.code == 0, result.err
    from_cli = target.read_bytes()
    target.unlink()

    filters: dict[str, Any] = {}
    if "--from" in args:
        filters["date_from"] = args[args.index("--from") + 1]
    if "--practice" in args:
        filters["practice"] = args[args.index("--practice") + 1]
    spec, _ = _app_spec(measure, rows, split, **filters)
    written = act.export_report(_workspace(demo_url), spec, target)

    assert written.written == [str(target)]
    assert target.read_bytes() == from_cli
    cli_row, app_row = _events(demo_url)
    assert cli_row == app_row
    action, entity, name, detail, actor = app_row
    assert (action, entity, actor) == ("export", "report", "test.worker")
    assert name == args[0]  # "referrals" whichever the direction
    assert detail["format"] == "csv" and detail["suppression"] == "on"
    assert detail["out"] == str(target)
    if args[0] == "referrals":
        expected = "received" if "received" in args else "sent"
        assert detail["direction"] == expected
    else:
        assert "direction" not in detail


@pytest.mark.parametrize(
    ("failure", "words"),
    [
        ("missing folder", "no-such-folder does not exist"),
        ("a folder", "out.csv is a folder: give a file name"),
        ("write fails", "No space left on device"),
    ],
)
def test_unwritable_target_leaves_no_file_and_no_audit_row(  # type: ignore[no-untyped-def]
    cli, demo_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str, words: str
) -> None:
    target = tmp_path / "out.csv"
    if failure == "missing folder":
        target = tmp_path / "no-such-folder" / "out.csv"
    elif failure == "a folder":
        target.mkdir()
    else:

        def full(path: Any, data: Any, **_: Any) -> Path:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))

        monkeypatch.setattr(act, "atomic_write", full)
    before = _events(demo_url)

    result = cli("report", "needs", "--by", "sex", "--format", "csv", "--out", target, db=demo_url)
    assert result.code == 2 and result.err.startswith("linkwork: ")
    assert result.err.count("\n") == 1
    spec, _ = _app_spec("People with a need", "sex")
    with pytest.raises((ValueError, OSError), match=words):
        act.export_report(_workspace(demo_url), spec, target)

    assert _events(demo_url) == before
    assert not target.is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_nothing_to_export_writes_no_file_and_no_audit_row(
    cli, demo_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "old.csv"
    before = _events(demo_url)
    args = ["--from", "1990-01-01", "--to", "1990-12-31"]
    result = cli(
        "report", "needs", "--by", "sex", *args, "--format", "csv", "--out", target, db=demo_url
    )
    assert result.code == 1 and "nothing to count" in result.err
    spec, _ = _app_spec("People with a need", "sex", date_from="1990-01-01", date_to="1990-12-31")
    with pytest.raises(LookupError, match="nothing to count: no people"):
        act.export_report(_workspace(demo_url), spec, target)
    assert not target.exists() and _events(demo_url) == before


def test_a_view_is_audited_alike_and_shown_alike(cli, demo_url: str) -> None:  # type: ignore[no-untyped-def]
    """The CLI's table and the Counts screen's table: the same view row in the audit trail
    and the same text in each cell (mean changes signed in both)."""
    args = ["outcomes", "--by", "sex", "--no-suppression"]
    result = cli("report", *args, db=demo_url)
    assert result.code == 0, result.err

    spec, measure = _app_spec("ONS4 change: happiness", "sex")
    raw = act.ReportSpec(**{**spec.__dict__, "suppression": False})
    shown = act.count_table(_workspace(demo_url), raw, measure)

    cli_row, app_row = _events(demo_url)
    assert cli_row == app_row
    assert app_row[0] == "view" and app_row[3]["format"] == "table"
    assert app_row[3]["suppression"] == "off" and app_row[3]["out"] is None
    means = [line[0] for line in shown["cells"] if line[0] != "*"]
    assert means and all(m[0] in "+-" for m in means), means
    for cell in means:  # the CLI printed the same text (its table may wrap long labels)
        assert f" {cell} " in result.out, cell


def test_count_text_is_the_one_display_of_a_value() -> None:
    assert count_text(None) == "*"
    assert count_text(35) == "35"
    assert count_text(0.256, "rate") == "25.6%"
    assert count_text(1.5, "mean") == "+1.5"
    assert count_text(-0.25, "mean") == "-0.2"


def test_empty_view_shows_zeros_in_the_app_and_exit_1_in_the_cli(cli, demo_url: str) -> None:  # type: ignore[no-untyped-def]
    before = _events(demo_url)
    args = ["--from", "1990-01-01", "--to", "1990-12-31"]
    result = cli("report", "needs", "--by", "sex", *args, db=demo_url)
    assert result.code == 1 and _events(demo_url) == before  # nothing shown, nothing audited
    spec, measure = _app_spec(
        "People with a need", "sex", date_from="1990-01-01", date_to="1990-12-31"
    )
    shown = act.count_table(_workspace(demo_url), spec, measure)
    assert shown["empty"] and {c for (c,) in shown["cells"]} == {"0"}
    assert [e[0] for e in _events(demo_url)[len(before) :]] == ["view"]


def test_load_deprivation_and_dimensions_through_the_action(  # type: ignore[no-untyped-def]
    cli, db_url: str, tmp_path: Path
) -> None:
    lookup = tmp_path / "imd.csv"
    lookup.write_text("postcode,decile\nLS1 4AP,3\nLS2 9JT,9\n", encoding="utf-8")
    result = cli("report", "load-deprivation", lookup, "--json", db=db_url)
    assert result.code == 0, result.err
    assert result.json() == {"postcodes": 2}
    assert act.load_deprivation(_workspace(db_url), lookup) == 2
    cli_row, app_row = _events(db_url)
    assert (
        cli_row == app_row == ("import", "deprivation", "imd.csv", {"postcodes": 2}, "test.worker")
    )

    listed = cli("report", "dimensions", "--json")
    assert listed.code == 0 and listed.json() == act.list_dimensions()
    assert "deprivation" in {d["name"] for d in act.list_dimensions()}
