"""Keys and partners from the CLI, the same actions the app's Keys and partners screen
calls (issue 17, points 1 and 5): our key's fingerprint, a partner's key file's
fingerprint before trusting it, a partner's route, where delivery stands, the quarantine."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest


@pytest.fixture
def keys(cli, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # type: ignore[no-untyped-def]
    folder = tmp_path / "ours"
    monkeypatch.setenv("LINKWORK_KEYS_DIR", str(folder))
    assert cli("keys", "new", "practice", db=db_url).code == 0
    assert cli("keys", "new", "hub", "--out", tmp_path / "theirs", db=db_url).code == 0
    return tmp_path / "theirs" / "hub.public.jwk"


def hex_groups(kid: str) -> str:
    """Independently of linkwork: the RFC 7638 thumbprint's bytes as groups of 4 hex."""
    import base64

    raw = base64.urlsafe_b64decode(kid + "=" * (-len(kid) % 4)).hex().upper()
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def thumbprint(jwk: dict[str, str]) -> str:
    import base64

    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_fingerprints_route_status_and_quarantine(cli, db_url: str, keys: Path) -> None:  # type: ignore[no-untyped-def]
    theirs = json.loads(keys.read_text())
    expected = hex_groups(thumbprint(theirs))
    assert len(expected.split()) == 16

    # Before trusting: the file's fingerprint, to compare with the partner's screen.
    read = cli("keys", "fingerprint", keys, "--json", db=db_url)
    assert read.code == 0, read.err
    assert (read.json()["fingerprint"], read.json()["trusted_as"]) == (expected, None)
    assert cli("keys", "fingerprint", keys, db=db_url).out.startswith(f"fingerprint {expected}")

    ours = cli("keys", "ours", "--json", db=db_url).json()
    mine = json.loads(Path(ours["public"]).read_text())
    assert ours["fingerprint"] == hex_groups(thumbprint(mine))
    assert ours["protected"] is False

    assert cli("keys", "trust", keys, "--name", "Northside Hub", db=db_url).code == 0
    assert cli("keys", "fingerprint", keys, "--json", db=db_url).json()["trusted_as"] == (
        "Northside Hub"
    )
    routed = cli("keys", "route", "Northside Hub", "--mesh-mailbox", "x26abc2", db=db_url)
    assert routed.code == 0 and "Northside Hub is reached by MESH X26ABC2." in routed.out
    listed = cli("keys", "list", "--json", db=db_url).json()
    assert [(p["name"], p["route"], p["mesh_mailbox"]) for p in listed] == [
        ("Northside Hub", "mesh", "X26ABC2")
    ]
    back = cli("keys", "route", "Northside Hub", "--json", db=db_url).json()
    assert (back["route"], back["changed"]) == ("files", True)

    unknown = cli("keys", "route", "Nobody", "--mesh-mailbox", "X1", db=db_url)
    assert unknown.code == 1 and "no trusted partner named 'Nobody'" in unknown.err
    bad = cli("keys", "route", "Northside Hub", "--mesh-mailbox", "not a box!", db=db_url)
    assert bad.code == 2 and "is not a MESH mailbox id" in bad.err

    status = cli("mesh", "status", "--json", db=db_url).json()
    assert status == {
        "mesh": False, "mailbox": "", "sync_seconds": 0, "waiting": 0, "failed": 0,
        "quarantined": 0, "inbox": None, "inbox_problem": "",
    }  # fmt: skip
    assert "MESH not set up (files only): 0 waiting to send" in cli("mesh", "status", db=db_url).out
    nothing = cli("mesh", "quarantined", db=db_url)
    assert nothing.code == 1 and "nothing quarantined" in nothing.err


def _partner_rows(db_url: str) -> list[tuple[str, str, str]]:
    from sqlmodel import select
    from test_exchange_support import session_for

    from screening.exchange.delivery import Partner
    from screening.exchange.models import TrustedKey

    with session_for(db_url) as session:
        keys = [k.name for k in session.exec(select(TrustedKey)).all()]
        return [(p.name, p.mesh_mailbox, p.ods) for p in session.exec(select(Partner)).all()] + [
            ("key", k, "") for k in keys
        ]


@pytest.mark.parametrize(
    "bad",
    ["Y012", "Y012345", "Y01 234", "Y0-234", "Ｙ01234", "Y01234\u200b", "RX", "ABCDEFGHIJK"],
)
def test_keys_trust_refuses_a_bad_ods_code_and_changes_nothing(  # type: ignore[no-untyped-def]
    cli, db_url: str, keys: Path, bad: str
) -> None:
    before = _partner_rows(db_url)
    refused = cli("keys", "trust", keys, "--name", "Hub", "--ods", bad, db=db_url)
    assert refused.code == 2, (refused.out, refused.err)
    lines = refused.err.strip().splitlines()
    assert len(lines) == 1 and "is not an ODS organisation code" in lines[0], refused.err
    assert "Traceback" not in refused.err
    assert _partner_rows(db_url) == before == []


def test_a_partner_s_ods_code_is_kept_listed_and_edited(cli, db_url: str, keys: Path) -> None:  # type: ignore[no-untyped-def]
    made = cli(
        "keys", "trust", keys, "--name", "Northside Hub", "--mesh-mailbox", "X26ABC2",
        "--ods", "x26hb1", db=db_url,
    )  # fmt: skip
    assert made.code == 0, made.err
    assert "Trusted Northside Hub (ODS X26HB1), reached by MESH X26ABC2" in made.out
    listed = cli("keys", "list", "--json", db=db_url).json()
    assert [(p["name"], p["ods"], p["mesh_mailbox"]) for p in listed] == [
        ("Northside Hub", "X26HB1", "X26ABC2")
    ]
    assert "Northside Hub  ODS X26HB1  by MESH X26ABC2" in cli("keys", "list", db=db_url).out
    # Each ODS shape: 3 (a trust), 5 (a site or voluntary organisation), 6 (a practice).
    for code in ("RXH", "8HK37", "A81001"):
        changed = cli(
            "keys", "route", "Northside Hub", "--mesh-mailbox", "X26ABC2", "--ods", code,
            "--json", db=db_url,
        ).json()  # fmt: skip
        assert (changed["ods"], changed["changed"]) == (code, True)
    # A route change without --ods keeps the code; a bad one changes nothing.
    kept = cli("keys", "route", "Northside Hub", "--json", db=db_url).json()
    assert (kept["route"], kept["ods"]) == ("files", "A81001")
    bad = cli(
        "keys", "route", "Northside Hub", "--mesh-mailbox", "X1", "--ods", "A8100!", db=db_url
    )
    assert bad.code == 2 and "is not an ODS organisation code" in bad.err
    assert cli("keys", "list", "--json", db=db_url).json()[0]["mesh_mailbox"] == ""
    cleared = cli("keys", "route", "Northside Hub", "--ods", "", "--json", db=db_url).json()
    assert cleared["ods"] == ""
    assert "no ODS code" in cli("keys", "list", db=db_url).out
