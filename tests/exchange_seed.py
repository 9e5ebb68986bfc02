"""The exchange screens' fixed world for their snapshots (tests/test_exchange_snapshots.py):
tests/tui_seed.py's practice plus our key (fixed: the same fingerprint every run), two
trusted partners (one by MESH with its ODS code, one by files), two quarantined messages
and one referral received from a partner, all at fixed times.

The keys are derived from fixed numbers: test keys, never used for anything else."""

from __future__ import annotations

import json
from pathlib import Path

from tui_seed import ACTOR, at, pid, referral_id

PASSPHRASE = "snapshot test passphrase"
OUR_NAME = "Y02101"
HUB = "Northside Hub"
SURGERY = "Riverside Surgery"
RECEIVED = referral_id(9)  # 99999999-0000-4000-9000-000000000009


def fixed_key(number: int):  # type: ignore[no-untyped-def]
    """An EC P-256 key whose private value is ``number``'s own (same key every run)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from joserfc.jwk import ECKey

    return ECKey.import_key(ec.derive_private_key(number, ec.SECP256R1()))


def write_our_key(folder: Path) -> None:
    from screening.exchange.files import atomic_write, private_folder
    from screening.exchange.keys import private_jwk, protect, public_jwk

    key = fixed_key(0x5EED_0001)
    folder = private_folder(folder)
    atomic_write(
        folder / f"{OUR_NAME}.private.jwk", protect(private_jwk(key), PASSPHRASE) + "\n", mode=0o600
    )
    atomic_write(
        folder / f"{OUR_NAME}.public.jwk", json.dumps(public_jwk(key), indent=2) + "\n", mode=0o600
    )


def seed(db_url: str) -> None:
    from sqlmodel import select

    from linkwork.db import open_engine, session_scope
    from screening.consent import record_consent
    from screening.exchange import delivery as dl
    from screening.exchange.keys import public_jwk, trust_key
    from screening.exchange.models import ExchangeMessage, TrustedKey
    from screening.needs import add_need
    from screening.people import create_person
    from screening.referrals import create_referral

    engine = open_engine(db_url)
    with session_scope(engine) as session:
        from joserfc.jwk import ECKey

        for number, name, mailbox, ods in (
            (0x5EED_0002, HUB, "X26ABC2", "X26HB1"),
            (0x5EED_0003, SURGERY, None, "Y02101"),
        ):
            public = ECKey.import_key(public_jwk(fixed_key(number)))
            trust_key(session, public, name, ACTOR)
            dl.set_route(session, name, mailbox, ACTOR)
            dl.set_ods(session, name, ods, ACTOR)
        for row in session.exec(select(TrustedKey)).all():
            row.added_at = at(20)
        for source, ident, sender, reason, detail in (
            ("mesh", "20260224101500123456_ABCDEF", "X26ABC2", "tampered",
             "the message was changed after it was signed (its signature does not match)"),
            ("mesh", "20260225093000654321_FEDCBA", "X26ABC9", "untrusted-signer",
             "signed by a key we do not trust (kid 3q2-7w): compare fingerprints, then trust"),
        ):  # fmt: skip
            row, _ = dl.quarantine(
                session, source=source, transport_id=ident, sender=sender, content=b"x" * 40,
                sha256="0" * 64, reason=reason, detail=detail, actor=ACTOR,
            )  # fmt: skip
            row.received_at = at(24 if reason == "tampered" else 25)

        # A referral the Northside Hub role received from Riverside Surgery (as `mesh sync`
        # records one): the person, the one need shared, consent sharing needs and contact.
        person = create_person(
            session, id=pid(9), given_name="Dana", family_name="Okafor",
            birth_date="1979-05-14", nhs_number="9990000042", postcode="ZZ4 2CD",
            phone="07700 900456", actor="receiver", practice_ods="Y02101",
        )  # fmt: skip
        need = add_need(
            session, person, "Z59.4", actor="receiver", words="skipping meals", recorded_at=at(26)
        )
        consent = record_consent(
            session, person, actor="receiver", hub=HUB, shares=["needs", "contact"],
            given_at=at(26),
        )  # fmt: skip
        referral = create_referral(
            session, person, [need], actor="receiver", hub=HUB,
            reason="Skipping meals to pay the gas; wants a food bank near work",
            at=at(26), direction="incoming", origin="Y02101", require_consent=False, id=RECEIVED,
        )  # fmt: skip
        referral.consent_id = consent.id
        session.add(
            ExchangeMessage(
                message_id="7c1d2e3f-0000-4000-8000-000000000009", direction="in",
                kind="referral", referral_id=RECEIVED, partner=SURGERY,
                task_status="requested", created_at=at(26), actor="receiver",
            )
        )  # fmt: skip
    engine.dispose()
