"""Find a service in the app: the near box read as it is typed, distance in miles as a
column and in the detail pane, and nearest first on request."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pytest
import tui_seed
from textual.widgets import DataTable, Input, Static

from linkwork.settings import load_settings
from tui.app import LinkworkApp

pytestmark = pytest.mark.anyio

TODAY = date(2026, 11, 24)
SIZE = (120, 40)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def settle(pilot: Any, app: LinkworkApp) -> None:
    for _ in range(600):
        if app.db_ready and app.index_ready:
            break
        await pilot.pause(0.05)
    for _ in range(3):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def text_of(app: LinkworkApp, selector: str) -> str:
    widget = app.screen.query_one(selector, Static)
    return str(widget.render()) if widget.display else ""


def headers(table: DataTable[Any]) -> list[str]:
    return [str(c.label) for c in table.columns.values()]


def column(table: DataTable[Any], name: str) -> list[str]:
    pos = headers(table).index(name)
    return [str(table.get_row_at(i)[pos]) for i in range(table.row_count)]


def alarming(app: LinkworkApp) -> list[str]:
    return [
        str(n.message)
        for n in app._notifications
        if n.severity in ("warning", "error") or "bad postcode" in str(n.message).lower()
    ]


def place_and_services(db_url: str, postcode: str) -> tuple[tuple[float, float], dict[str, Any]]:
    """Independently of the app: the middle of a postcode's locations, and each service's
    locations, straight from the database."""
    import sqlalchemy as sa

    from directory.models import Location, Service, ServiceLocation
    from linkwork.db import open_engine

    engine = open_engine(db_url)
    with engine.connect() as conn:
        points = conn.execute(
            sa.select(Location.latitude, Location.longitude).where(Location.postcode == postcode)
        ).all()
        rows = conn.execute(
            sa.select(Service.name, Location.latitude, Location.longitude)
            .join(ServiceLocation, ServiceLocation.service_id == Service.id)
            .join(Location, Location.id == ServiceLocation.location_id)
        ).all()
    engine.dispose()
    centre = (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
    where: dict[str, list[tuple[float, float]]] = {}
    for name, lat, lon in rows:
        where.setdefault(name, []).append((lat, lon))
    return centre, where


def miles_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    (la1, lo1), (la2, lo2) = [(math.radians(x), math.radians(y)) for x, y in (a, b)]
    h = math.sin((la2 - la1) / 2) ** 2
    h += math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h)) / 1.609344


async def type_near(pilot: Any, app: LinkworkApp, text: str) -> None:
    near = app.screen.query_one("#f-near", Input)
    near.focus()
    near.value = ""
    await tui_seed.type_text(pilot, text)
    await settle(pilot, app)


async def test_near_box_is_quiet_until_a_place_then_distance_in_miles() -> None:
    settings = load_settings()
    app = LinkworkApp(settings, today=TODAY, autoload_sample=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        await tui_seed.press(pilot, "f4", *"food bank")
        await settle(pilot, app)
        table = app.screen.query_one("#svc-results", DataTable)
        assert table.row_count > 5
        assert "Distance" not in headers(table)

        # Half-typed: no error, a quiet hint, results at any distance.
        for partial in ("LS", "LS6 1"):
            await type_near(pilot, app, partial)
            assert alarming(app) == []
            note = text_of(app, "#svc-near-note")
            assert "Keep typing" in note
            assert "bad" not in note.lower() and "Unknown" not in note
            assert "Search problem" not in text_of(app, "#svc-status")
            assert table.row_count > 5
            assert "Distance" not in headers(table)

        # Complete, but no service near it: said clearly, still results.
        await type_near(pilot, app, "LS6 1AA")
        assert "Unknown postcode" in text_of(app, "#svc-near-note")
        assert "LS6 1AA is not near any service" in text_of(app, "#svc-near-note")
        assert table.row_count > 5

        # A postcode the directory knows: a Distance column in miles, one decimal.
        await type_near(pilot, app, "ZZ1 2PA")
        assert text_of(app, "#svc-near-note") == ""
        assert "Distance" in headers(table)
        shown = column(table, "Distance")
        assert all(d.endswith(" mi") and len(d.split()[0].split(".")[1]) == 1 for d in shown)
        centre, where = place_and_services(settings.resolved_database_url(), "ZZ1 2PA")
        names = column(table, "Service")
        for name, distance in list(zip(names, shown, strict=True))[:5]:
            expected = min(miles_between(centre, p) for p in where[name])
            assert float(distance.split()[0]) == pytest.approx(expected, abs=0.051)
        # ... and in the detail pane of the highlighted service.
        detail = str(app.screen.query_one("#svc-detail", Static).render())
        assert f"Distance: {shown[0]} from ZZ1 2PA" in detail
        assert " km from " not in detail

        # Nearest first on request (Ctrl+O), back to best match with Ctrl+O again.
        best = names
        await pilot.press("ctrl+o")
        await settle(pilot, app)
        nearest = [float(d.split()[0]) for d in column(table, "Distance")]
        assert nearest == sorted(nearest)
        assert sorted(column(table, "Service")) == sorted(best)
        assert "Nearest to ZZ1 2PA first" in text_of(app, "#svc-status")
        await pilot.press("ctrl+o")
        await settle(pilot, app)
        assert column(table, "Service") == best

        # An outward code and a town are places too.
        await type_near(pilot, app, "ZZ2")
        assert "Distance" in headers(table)
        await type_near(pilot, app, "marlb")
        assert "Distance" in headers(table)
        assert "from Marlbridge" in str(app.screen.query_one("#svc-detail", Static).render())
        assert alarming(app) == []
