"""Set-up for the FHIR profile tests (no tests here): one practice and one hub database, key
pairs, referrals made and exchanged through the exchange's own export and receive, and
the Bundles each step produced. Built once per test module (the tests only read it; a
test that receives copies the practice's database first)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey
from test_exchange_support import Made, make_referral, session_for

HUB_ODS = "X26HB1"  # made-up ODS code for the hub in these tests


@dataclass
class World:
    folder: Path
    practice_url: str
    hub_url: str
    practice_key: ECKey
    hub_key: ECKey
    made: dict[str, Made] = field(default_factory=dict)
    bundles: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    hub_times: dict[str, str] = field(default_factory=dict)

    def practice_copy(self, name: str) -> str:
        """A copy of the practice's database (a test receives into it)."""
        return self.copy(self.practice_url, name)

    def copy(self, url: str, name: str) -> str:
        """A copy of a database, write-ahead log included (SQLite's backup API)."""
        import sqlite3

        target = self.folder / f"{name}.db"
        source = sqlite3.connect(url.removeprefix("sqlite:///"))
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        return f"sqlite:///{target}"


def _trust(url: str, key: ECKey, name: str) -> None:
    from screening.exchange.keys import public_jwk, trust_key

    with session_for(url) as session:
        trust_key(session, ECKey.import_key(public_jwk(key)), name, actor="admin")
        session.commit()


def _partner_ods(url: str, name: str, ods: str) -> None:
    from screening.exchange.delivery import set_ods

    with session_for(url) as session:
        set_ods(session, name, ods, actor="admin")
        session.commit()


def export_referral(world: World, name: str) -> None:
    from test_exchange_support import PRACTICE_ODS

    from screening.exchange.outbound import export_referral as export
    from screening.referrals import get_referral

    with session_for(world.practice_url) as session:
        referral = get_referral(session, world.made[name].referral_id)
        sealed = export(
            session, referral, signer=world.practice_key, recipient=world.hub_key,
            partner="hub", actor="practice.worker", practice_ods=PRACTICE_ODS,
        )  # fmt: skip
        session.commit()
    world.bundles[f"referral-{name}"] = json.loads(sealed.plain)
    world.tokens[f"referral-{name}"] = sealed.token


def receive(url: str, token: str, key: ECKey) -> dict[str, Any]:
    from screening.exchange.inbound import receive as take

    with session_for(url) as session:
        session.info["org"] = ""
        result = take(session, token, key, actor="receiver")
        session.commit()
    return result.as_dict()


def hub_step(world: World, name: str, step: str) -> None:
    """At the hub: move referral ``name`` to ``step`` (completed: with an outcome) and
    export the update it sends back."""
    from screening.exchange.outbound import export_update
    from screening.referrals import complete_referral, get_referral, set_status

    made = world.made[name]
    with session_for(world.hub_url) as session:
        session.info["org"] = HUB_ODS
        referral = get_referral(session, made.referral_id)
        if step == "completed":
            complete_referral(
                session,
                referral,
                actor="hub.worker",
                resolved={made.need_ids[0]: True, made.need_ids[1]: False},
                ons4={"satisfied": 6, "worthwhile": 7, "happy": 5, "anxious": 4},
                note="Joined the Tuesday food club",
            )
        else:
            set_status(session, referral, step, actor="hub.worker")
        session.commit()
        world.hub_times[step] = referral.status_at.isoformat()
        sealed = export_update(
            session, referral, signer=world.hub_key, recipient=world.practice_key,
            partner="practice", actor="hub.worker",
        )  # fmt: skip
        session.commit()
    world.bundles[f"update-{step}"] = json.loads(sealed.plain)
    world.tokens[f"update-{step}"] = sealed.token


def build_world(folder: Path, template: Path) -> World:
    from screening.exchange.keys import new_key

    folder.mkdir(parents=True, exist_ok=True)
    urls = []
    for name in ("practice", "hub"):
        shutil.copy(template, folder / f"{name}.db")
        urls.append(f"sqlite:///{folder / f'{name}.db'}")
    world = World(folder, urls[0], urls[1], new_key(), new_key())
    _trust(world.practice_url, world.hub_key, "hub")
    _partner_ods(world.practice_url, "hub", HUB_ODS)  # keys trust ... --ods X26HB1
    _trust(world.hub_url, world.practice_key, "practice")
    world.made["service"] = make_referral(
        world.practice_url, shares=("needs", "contact", "equality"), screen=True
    )
    world.made["hub"] = make_referral(
        world.practice_url, shares=("needs",), hub="Northside Hub", nhs=None, given="Cy",
        codes=("digital",),
    )  # fmt: skip
    world.made["mixed"] = make_referral(
        world.practice_url, shares=("needs",), hub="Northside Hub", nhs=None, given="Di",
        codes=("Z60.2", "224226001"),
    )  # fmt: skip
    for name in world.made:
        export_referral(world, name)
    receive(world.hub_url, world.tokens["referral-service"], world.hub_key)
    for step in ("accepted", "in-progress", "completed"):
        hub_step(world, "service", step)
    return world


def resources(bundle: dict[str, Any], kind: str | None = None) -> list[dict[str, Any]]:
    return [
        e["resource"]
        for e in bundle.get("entry") or []
        if kind is None or e["resource"]["resourceType"] == kind
    ]


def resolve(bundle: dict[str, Any], reference: dict[str, Any] | None) -> dict[str, Any]:
    target = (reference or {}).get("reference")
    for entry in bundle.get("entry") or []:
        res = entry["resource"]
        if entry.get("fullUrl") == target or f"{res['resourceType']}/{res.get('id')}" == target:
            return dict(res)
    raise AssertionError(f"{target} does not resolve in the Bundle")


def systems(bundle: Any) -> set[str]:
    """Every ``system`` and ``url`` value anywhere in the Bundle."""
    found: set[str] = set()
    if isinstance(bundle, dict):
        for key, value in bundle.items():
            if key in ("system", "url") and isinstance(value, str):
                found.add(value)
            else:
                found |= systems(value)
    elif isinstance(bundle, list):
        for item in bundle:
            found |= systems(item)
    return found
