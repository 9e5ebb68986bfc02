"""Shared set-up for the exchange tests (no tests here): a second database (the hub), key
pairs, a practice referral made through the record's domain functions, the Node checkers."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from jwcrypto import jwe as jw_jwe
from jwcrypto import jwk as jw_jwk
from jwcrypto import jws as jw_jws
from sqlmodel import Session, func, select

from linkwork import db as lwdb

HERE = Path(__file__).resolve().parent
NODE_DIR = HERE / "node"
PRACTICE_ODS = "Y99901"
NHS = "9990000018"  # 999 test range, valid check digit


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def second_db(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[str]:
    """A second fresh database on the same backend as ``db_url`` (the hub's)."""
    if db_url.startswith("sqlite"):
        template = request.getfixturevalue("sqlite_template")
        target = tmp_path / "hub.db"
        shutil.copy(template, target)
        yield f"sqlite:///{target}"
        return
    import conftest

    yield from conftest.pg_database(request)


@dataclass
class Keys:
    folder: Path

    def private(self, name: str) -> Path:
        return self.folder / f"{name}.private.jwk"

    def public(self, name: str) -> Path:
        return self.folder / f"{name}.public.jwk"

    def jwk(self, name: str, private: bool = False) -> jw_jwk.JWK:
        path = self.private(name) if private else self.public(name)
        return jw_jwk.JWK.from_json(path.read_text())

    def kid(self, name: str) -> str:
        return json.loads(self.public(name).read_text())["kid"]


def session_for(url: str) -> Session:
    return Session(lwdb.open_engine(url), expire_on_commit=False)


def make_service(session: Session, source_id: str = "svc-101") -> int:
    from directory.models import Organisation, Service

    org = Organisation(source="test-feed", source_id="org-7", name="Riverside Advice Trust")
    session.add(org)
    session.flush()
    service = Service(
        source="test-feed",
        source_id=source_id,
        organisation_id=org.id,
        name="Riverside Money Advice",
        phone="01632 960001",
        email="advice@example.org",
        url="https://example.org/advice",
    )
    session.add(service)
    session.flush()
    assert service.id is not None
    return service.id


@dataclass
class Made:
    referral_id: str
    person_id: str
    need_ids: list[str]
    consent_id: str
    service_id: int | None


def make_referral(
    url: str,
    *,
    shares: tuple[str, ...] = ("needs", "contact"),
    hub: str | None = None,
    nhs: str | None = NHS,
    codes: tuple[str, ...] = ("Z59.0", "Z59.4"),
    given: str = "Ada",
    family: str = "Testperson",
    screen: bool = False,
) -> Made:
    from screening.consent import record_consent
    from screening.needs import add_need
    from screening.people import create_person
    from screening.referrals import create_referral

    with session_for(url) as session:
        person = create_person(
            session,
            given_name=given,
            family_name=family,
            birth_date="1984-03-02",
            actor="practice.worker",
            nhs_number=nhs,
            postcode="ZZ99 3AB",
            phone="07700 900123",
            practice_ods=PRACTICE_ODS,
            ethnic_category="N",
            sex="female",
            religion="christian",
        )
        screening_id = None
        if screen:
            from screening.questionnaire import complete_screening

            screening, _ = complete_screening(
                session,
                person,
                {
                    "housing.situation": "sofa-surfing",
                    "food.worried": "often",
                    "fuel.heating": "no",
                },
                actor="practice.worker",
            )
            screening_id = screening.id
        needs = [
            add_need(
                session,
                person,
                code,
                actor="practice.worker",
                words=f"about {code}",
                screening_id=screening_id,
            )
            for code in codes
        ]
        service_id = None if hub else make_service(session)
        consent = record_consent(
            session,
            person,
            actor="practice.worker",
            service_id=service_id,
            hub=hub,
            shares=list(shares),
        )
        referral = create_referral(
            session,
            person,
            needs,
            actor="practice.worker",
            service_id=service_id,
            hub=hub,
            reason="Sofa surfing since March; food bank twice this month",
            screening_id=screening_id,
        )
        made = Made(referral.id, person.id, [n.id for n in needs], consent.id, service_id)
        session.commit()
    return made


def counts(url: str) -> dict[str, int]:
    from screening.exchange.models import ExchangeMessage, TrustedKey
    from screening.models import AuditEvent, Consent, Need, Outcome, Person, Referral

    out = {}
    with session_for(url) as session:
        for model in (
            Person,
            Need,
            Consent,
            Referral,
            Outcome,
            AuditEvent,
            ExchangeMessage,
            TrustedKey,
        ):
            out[model.__name__] = session.exec(select(func.count()).select_from(model)).one()
    return out


# -- independent JOSE (jwcrypto) -------------------------------------------------------


def jwcrypto_sign(payload: bytes, key: jw_jwk.JWK, header: dict[str, Any]) -> str:
    token = jw_jws.JWS(payload)
    token.add_signature(key, None, json.dumps(header))
    return token.serialize(compact=True)


def jwcrypto_encrypt(plaintext: str | bytes, recipient: jw_jwk.JWK, header: dict[str, Any]) -> str:
    data = plaintext.encode() if isinstance(plaintext, str) else plaintext
    token = jw_jwe.JWE(data, json.dumps(header))
    token.add_recipient(recipient)
    return token.serialize(compact=True)


def jwcrypto_open(token: str, recipient: jw_jwk.JWK, signer: jw_jwk.JWK) -> bytes:
    outer = jw_jwe.JWE()
    outer.deserialize(token.strip(), key=recipient)
    inner = jw_jws.JWS()
    inner.deserialize(outer.payload.decode())
    inner.verify(signer, alg="ES256")
    return inner.payload


# -- Node checkers ---------------------------------------------------------------------


def node_ready() -> None:
    """Skip (with the reason) if node is absent; install the checkers if they are not."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed: the Node JOSE and FHIR checkers cannot run")
    if not (NODE_DIR / "node_modules" / "jose").is_dir():
        subprocess.run(["bash", str(HERE / "setup-node.sh")], check=True, timeout=600)


def node(script: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    node_ready()
    return subprocess.run(
        ["node", str(NODE_DIR / script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )
