"""Looking up one service and describing it (for ``directory show`` and the app)."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from directory.feeds import WEEKDAYS
from directory.models import ImportRun, Location, Organisation, Service, ServiceLocation
from directory.notfound import NotFound
from directory.stale import is_stale as stale_on
from directory.untrusted import findable


def get_service(session: Session, ref: str | int) -> Service:
    """A service by internal id (a number) or the feed's own id; NotFound if unknown.

    When the same feed id exists in several feeds, the one still listed (not withdrawn)
    is chosen; if that is still ambiguous, ValueError asks for the internal id."""
    text = str(ref).strip()
    if not text:
        raise ValueError("give a service id")
    if findable(text) is None:  # no feed id holds a control character
        raise NotFound(f"no service with id {text!r} in the directory")
    found = session.exec(select(Service).where(col(Service.source_id) == text)).all()
    if len(found) > 1:
        live = [s for s in found if not s.withdrawn]
        if len(live) == 1:
            return live[0]
        ids = ", ".join(str(s.id) for s in found)
        raise ValueError(f"service id {text!r} is in several feeds; use the internal id ({ids})")
    if found:
        return found[0]
    if text.isascii() and text.isdigit():  # linkwork's own number: ASCII digits only
        service = session.get(Service, int(text))
        if service is not None:
            return service
    raise NotFound(f"no service with id {text!r} in the directory")


def is_stale(service: Service, today: date | None = None, stale_months: int = 12) -> bool:
    return stale_on(service.last_verified, today or date.today(), stale_months)


def opening_hours_text(hours: list[dict[str, Any]]) -> list[str]:
    return [f"{WEEKDAYS[h['day'] - 1].title()} {h['opens']}-{h['closes']}" for h in hours]


def describe_service(
    session: Session, service: Service, today: date | None = None, stale_months: int = 12
) -> dict[str, Any]:
    """Everything about a service as plain data (what ``directory show --json`` prints)."""
    org = session.get(Organisation, service.organisation_id) if service.organisation_id else None
    locations = session.exec(
        select(Location)
        .join(ServiceLocation, col(ServiceLocation.location_id) == col(Location.id))
        .where(col(ServiceLocation.service_id) == service.id)
        .order_by(col(Location.id))
    ).all()
    return {
        "service_id": service.id,
        "id": service.source_id,
        "source": service.source,
        "name": service.name,
        "organisation": org.name if org else "",
        "description": service.description,
        "status": "withdrawn" if service.withdrawn else service.status,
        "withdrawn": service.withdrawn,
        "url": service.url,
        "email": service.email,
        "phone": service.phone,
        "fees": service.fees,
        "free": service.is_free,
        "min_age": service.min_age,
        "max_age": service.max_age,
        "eligibility": service.eligibility,
        "service_area": service.service_area,
        "languages": service.languages,
        "taxonomy_terms": service.taxonomy_terms,
        "domains": service.domains,
        "z_codes": service.z_codes,
        "opening_hours": opening_hours_text(service.opening_hours),
        "contacts": service.contacts,
        "locations": [
            {
                "name": loc.name,
                "address": loc.address,
                "town": loc.town,
                "postcode": loc.postcode,
                "latitude": loc.latitude,
                "longitude": loc.longitude,
            }
            for loc in locations
        ],
        "last_verified": service.last_verified.isoformat() if service.last_verified else None,
        "stale": is_stale(service, today, stale_months),
    }


def directory_stats(session: Session) -> dict[str, Any]:
    """Counts per feed, and the last imports."""
    rows = session.execute(
        sa.select(col(Service.source), col(Service.withdrawn), sa.func.count())
        .group_by(col(Service.source), col(Service.withdrawn))
        .order_by(col(Service.source))
    ).all()
    feeds: dict[str, dict[str, int]] = {}
    for source, withdrawn, count in rows:
        entry = feeds.setdefault(source, {"listed": 0, "withdrawn": 0})
        entry["withdrawn" if withdrawn else "listed"] += count
    runs = session.exec(select(ImportRun).order_by(col(ImportRun.id).desc()).limit(10)).all()
    return {
        "services": sum(f["listed"] for f in feeds.values()),
        "withdrawn": sum(f["withdrawn"] for f in feeds.values()),
        "feeds": [{"source": k, **v} for k, v in feeds.items()],
        "imports": [
            {
                "source": r.source,
                "at": r.started_at.isoformat(),
                "added": r.added,
                "updated": r.updated,
                "unchanged": r.unchanged,
                "withdrawn": r.withdrawn,
                "rejected": r.rejected,
            }
            for r in runs
        ],
    }


def directory_signature(session: Session) -> tuple[int, str]:
    """Changes whenever an import changes the directory (to know when to rebuild an index)."""
    count, latest = session.execute(
        sa.select(sa.func.count(), sa.func.max(col(Service.updated_at)))
    ).one()
    return int(count), str(latest)


def list_services(
    session: Session, feed: str | None = None, withdrawn: bool = False, limit: int | None = 50
) -> list[dict[str, Any]]:
    """Services by name: listed ones, or the withdrawn ones."""
    query = (
        sa.select(
            col(Service.id),
            col(Service.source_id),
            col(Service.name),
            col(Organisation.name),
            col(Service.source),
            col(Service.last_verified),
        )
        .outerjoin(Organisation, col(Organisation.id) == col(Service.organisation_id))
        .where(col(Service.withdrawn) == withdrawn)
        .order_by(col(Service.name), col(Service.id))
    )
    if feed:
        query = query.where(col(Service.source) == feed)
    if limit:
        query = query.limit(limit)
    return [
        {
            "service_id": pk,
            "id": sid,
            "name": name,
            "organisation": org or "",
            "source": source,
            "last_verified": verified.isoformat() if verified else None,
        }
        for pk, sid, name, org, source, verified in session.execute(query)
    ]
