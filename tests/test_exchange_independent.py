"""Independent checks: linkwork's files open in two other JOSE implementations (jwcrypto
and the Node ``jose`` package) and theirs open in linkwork; every Bundle linkwork exports
has 0 errors in fhir.resources and in two Node FHIR R4 validators (the official R4 JSON
schema with ajv, and FHIR.js). The Node tools are installed by tests/setup-node.sh."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_exchange_support import (
    Keys,
    jwcrypto_encrypt,
    jwcrypto_open,
    jwcrypto_sign,
    make_referral,
    node,
    second_db,
    session_for,
)

# The database backend is not what these tests are about: SQLite only.
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def hub_url(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[str]:
    yield from second_db(request, db_url, tmp_path)


@pytest.fixture
def keys(cli, tmp_path: Path, db_url: str, hub_url: str) -> Keys:  # type: ignore[no-untyped-def]
    folder = tmp_path / "keys"
    for name in ("practice", "hub"):
        assert cli("keys", "new", name, "--out", folder).code == 0
    assert cli("keys", "trust", folder / "hub.public.jwk", "--name", "hub", db=db_url).code == 0
    assert (
        cli("keys", "trust", folder / "practice.public.jwk", "--name", "practice", db=hub_url).code
        == 0
    )
    return Keys(folder)


def _export(cli, db_url: str, keys: Keys, referral_id: str, folder: Path, name: str):  # type: ignore[no-untyped-def]
    token, plain = folder / f"{name}.jwe", folder / f"{name}.json"
    result = cli(
        "referral", "export", referral_id, "--to", "hub", "--key", keys.private("practice"),
        "--out", token, "--plain-out", plain, db=db_url,
    )  # fmt: skip
    assert result.code == 0, result.err
    return token, plain


@sqlite_only
def test_linkwork_files_open_in_jwcrypto_and_node_jose(cli, db_url, hub_url, keys, tmp_path):  # type: ignore[no-untyped-def]
    made = make_referral(db_url)
    token, plain = _export(cli, db_url, keys, made.referral_id, tmp_path, "r")
    expected = plain.read_bytes()
    header = json.loads(
        __import__("base64").urlsafe_b64decode(token.read_text().split(".")[0] + "==")
    )
    assert (header["alg"], header["enc"], header["kid"]) == (
        "ECDH-ES+A256KW",
        "A256GCM",
        keys.kid("hub"),
    )
    assert header["cty"] == "JOSE"

    opened = jwcrypto_open(token.read_text(), keys.jwk("hub", private=True), keys.jwk("practice"))
    assert opened == expected

    result = node("jose-open.mjs", token, keys.private("hub"), keys.public("practice"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.encode() == expected
    headers = json.loads(result.stderr.strip().splitlines()[-1])
    assert headers["jws"]["alg"] == "ES256" and headers["jws"]["kid"] == keys.kid("practice")

    # ... and the wrong recipient key fails in Node too (the check is not vacuous).
    wrong = node("jose-open.mjs", token, keys.private("practice"), keys.public("practice"))
    assert wrong.returncode == 1


@sqlite_only
def test_files_made_by_jwcrypto_and_node_open_in_linkwork(cli, db_url, hub_url, keys, tmp_path):  # type: ignore[no-untyped-def]
    first = make_referral(db_url, hub="Northside Hub")
    second = make_referral(db_url, hub="Northside Hub", nhs=None, given="Bea", family="Example")
    _, plain1 = _export(cli, db_url, keys, first.referral_id, tmp_path, "one")
    _, plain2 = _export(cli, db_url, keys, second.referral_id, tmp_path, "two")

    inner = jwcrypto_sign(
        plain1.read_bytes(),
        keys.jwk("practice", private=True),
        {"alg": "ES256", "kid": keys.kid("practice"), "cty": "fhir+json"},
    )
    by_jwcrypto = tmp_path / "jwcrypto.jwe"
    by_jwcrypto.write_text(
        jwcrypto_encrypt(
            inner,
            keys.jwk("hub"),
            {"alg": "ECDH-ES+A256KW", "enc": "A256GCM", "cty": "JOSE", "kid": keys.kid("hub")},
        )
    )
    got = cli(
        "referral", "receive", by_jwcrypto, "--key", keys.private("hub"), "--json", db=hub_url
    )
    assert got.code == 0, got.err
    assert (got.json()["status"], got.json()["referral_id"]) == ("created", first.referral_id)

    made = node("jose-seal.mjs", plain2, keys.private("practice"), keys.public("hub"))
    assert made.returncode == 0, made.stderr
    by_node = tmp_path / "node.jwe"
    by_node.write_text(made.stdout)
    got2 = cli("referral", "receive", by_node, "--key", keys.private("hub"), "--json", db=hub_url)
    assert got2.code == 0, got2.err
    assert (got2.json()["status"], got2.json()["referral_id"]) == ("created", second.referral_id)

    # ECDH-ES (direct key agreement), also allowed by the exchange spec, from Node.
    direct = node("jose-seal.mjs", plain2, keys.private("practice"), keys.public("hub"), "ECDH-ES")
    assert direct.returncode == 0, direct.stderr
    by_direct = tmp_path / "direct.jwe"
    by_direct.write_text(direct.stdout)
    got3 = cli("referral", "open", by_direct, "--key", keys.private("hub"), "--json", db=hub_url)
    assert got3.code == 0, got3.err
    assert got3.json()["signed_by"] == "practice"


def _validate(paths: list[Path]) -> dict:
    from fhir.resources.R4B.bundle import Bundle

    for path in paths:
        Bundle.model_validate_json(path.read_text())  # raises on any error
    result = node("fhir-validate.mjs", *paths)
    report = json.loads(result.stdout)
    return {"code": result.returncode, "report": report, "stderr": result.stderr}


@sqlite_only
def test_every_exported_bundle_has_no_errors_in_two_independent_fhir_validators(
    cli, db_url, hub_url, keys, tmp_path
):  # type: ignore[no-untyped-def]
    # A service target with every share, a named hub with needs only, and an update back.
    a = make_referral(db_url, shares=("needs", "contact", "equality"), screen=True)
    b = make_referral(
        db_url, shares=("needs",), hub="Northside Hub", nhs=None, given="Cy", codes=("digital",)
    )
    token_a, plain_a = _export(cli, db_url, keys, a.referral_id, tmp_path, "a")
    _, plain_b = _export(cli, db_url, keys, b.referral_id, tmp_path, "b")
    assert cli("referral", "receive", token_a, "--key", keys.private("hub"), db=hub_url).code == 0
    from screening.referrals import complete_referral, get_referral, set_status

    with session_for(hub_url) as session:
        referral = get_referral(session, a.referral_id)
        set_status(session, referral, "accepted", actor="hub.worker")
        set_status(session, referral, "in-progress", actor="hub.worker")
        complete_referral(
            session,
            referral,
            actor="hub.worker",
            resolved=[a.need_ids[0]],
            ons4={"satisfied": 6, "worthwhile": 7, "happy": 5, "anxious": 4},
            note="Joined the Tuesday food club",
        )
        session.commit()
    update = tmp_path / "u.jwe"
    assert (
        cli(
            "referral",
            "update-export",
            a.referral_id,
            "--key",
            keys.private("hub"),
            "--out",
            update,
            db=hub_url,
        ).code
        == 0
    )
    plain_u = tmp_path / "u.json"
    opened = cli(
        "referral", "open", update, "--key", keys.private("practice"), "--out", plain_u, db=db_url
    )
    assert opened.code == 0, opened.err
    from screening.audit import list_events

    with session_for(db_url) as session:
        seen = [e for e in list_events(session, entity="referral") if e.action == "open"]
        assert [e.entity_id for e in seen] == [a.referral_id]
    kinds = {e["resource"]["resourceType"] for e in json.loads(plain_a.read_text())["entry"]}
    assert kinds == {
        "MessageHeader", "Patient", "Organization", "Practitioner", "PractitionerRole",
        "HealthcareService", "Condition", "ServiceRequest", "Task", "Consent",
        "QuestionnaireResponse",
    }  # fmt: skip
    qr = next(
        e["resource"]
        for e in json.loads(plain_a.read_text())["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    )
    # Only the answers behind the referred needs (housing, food) travel, not fuel's.
    assert sorted(g["linkId"] for g in qr["item"]) == ["food", "housing"]

    checked = _validate([plain_a, plain_b, plain_u])
    assert checked["code"] == 0, json.dumps(checked["report"], indent=1)
    for path in (plain_a, plain_b, plain_u):
        entry = checked["report"][str(path)]
        assert entry["schema"] == [] and entry["fhirjs"] == [], entry


def test_the_node_validators_do_report_errors(tmp_path):  # type: ignore[no-untyped-def]
    """The validators are not vacuous: a broken Bundle gets errors from both."""
    bad = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": "urn:uuid:0b0f8f5e-8a59-4bb3-9f0a-6a8c1b6f2d11",
                "resource": {"resourceType": "Task", "status": "almost-done", "intent": 7},
            }
        ],
    }
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    result = node("fhir-validate.mjs", path)
    assert result.returncode == 1
    report = json.loads(result.stdout)[str(path)]
    assert report["schema"] and report["fhirjs"]
