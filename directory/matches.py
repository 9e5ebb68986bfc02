"""What a directory search gives back: the services matched (``ServiceMatch``, with why each
matched) and the place a search was near (``Place``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any


@dataclass
class ServiceMatch:
    service_id: int
    id: str
    name: str
    organisation: str
    score: float
    why: list[str]
    stale: bool
    last_verified: date | None
    domains: list[str]
    town: str
    postcode: str
    phone: str
    distance_km: float | None = None
    #: the distance not rounded (miles are worked out from it); not part of ``to_dict``
    nearest_km: float | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("nearest_km")
        data["last_verified"] = self.last_verified.isoformat() if self.last_verified else None
        return data


@dataclass
class Place:
    label: str
    latitude: float
    longitude: float
