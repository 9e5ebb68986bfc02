"""Keys: ``linkwork keys new/trust/list``. The private key file is 0600 from the start, the
``kid`` is the RFC 7638 thumbprint (checked with jwcrypto), a passphrase wraps the private
JWK as a standard PBES2 JWE (opened with jwcrypto), and the trust store refuses private
and non-P-256 keys with a one-line reason."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from jwcrypto import jwa as jw_jwa
from jwcrypto import jwe as jw_jwe
from jwcrypto import jwk as jw_jwk
from test_exchange_support import counts


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_key_pair_files_modes_and_thumbprint_kid(cli, tmp_path: Path):  # type: ignore[no-untyped-def]
    old = os.umask(0o022)
    try:
        result = cli("keys", "new", "Y99901", "--out", tmp_path / "k", "--json")
    finally:
        os.umask(old)
    assert result.code == 0, result.err
    info = result.json()
    private, public = Path(info["private"]), Path(info["public"])
    assert private.name == "Y99901.private.jwk" and public.name == "Y99901.public.jwk"
    assert _mode(private) == 0o600
    assert _mode(public) == 0o600  # every key file (0644 until issue 15)
    assert _mode(tmp_path / "k") == 0o700  # the folder made for them
    assert sorted(p.name for p in (tmp_path / "k").iterdir()) == [private.name, public.name]

    priv = json.loads(private.read_text())
    pub = json.loads(public.read_text())
    assert (priv["kty"], priv["crv"]) == ("EC", "P-256") and "d" in priv
    assert "d" not in pub and (pub["x"], pub["y"]) == (priv["x"], priv["y"])
    # kid = RFC 7638 thumbprint, computed independently by jwcrypto.
    assert pub["kid"] == priv["kid"] == info["kid"]
    assert jw_jwk.JWK(**pub).thumbprint() == pub["kid"]

    again = cli("keys", "new", "Y99901", "--out", tmp_path / "k")
    assert again.code == 2 and "already exists" in again.err
    assert json.loads(private.read_text()) == priv  # not overwritten

    bad = cli("keys", "new", "../escape", "--out", tmp_path / "k")
    assert bad.code == 2 and "key name" in bad.err


def test_private_key_is_never_world_readable_while_written(tmp_path: Path, monkeypatch):  # type: ignore[no-untyped-def]
    """Watch every file the writer creates: the private one is 0600 before any byte lands."""
    from screening.exchange import files, keys

    seen: list[tuple[str, int, int]] = []
    real_fdopen = os.fdopen

    def spy(fd, *args, **kwargs):  # type: ignore[no-untyped-def]
        info = os.fstat(fd)
        seen.append((str(fd), stat.S_IMODE(info.st_mode), info.st_size))
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(files.os, "fdopen", spy)
    old = os.umask(0)  # even with a permissive umask
    try:
        keys.write_key_pair(tmp_path, "hub")
    finally:
        os.umask(old)
    assert seen[0][1] == 0o600 and seen[0][2] == 0  # the private key's temp file, empty
    assert _mode(tmp_path / "hub.private.jwk") == 0o600


def test_passphrase_protected_private_key(cli, tmp_path: Path, monkeypatch, db_url):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LW_PASS", "correct horse battery staple")
    result = cli("keys", "new", "hub", "--out", tmp_path, "--passphrase-env", "LW_PASS", "--json")
    assert result.code == 0, result.err
    assert result.json()["passphrase"] is True
    text = (tmp_path / "hub.private.jwk").read_text().strip()
    header = json.loads(base64.urlsafe_b64decode(text.split(".")[0] + "=="))
    assert (header["alg"], header["enc"], header["cty"]) == (
        "PBES2-HS512+A256KW",
        "A256GCM",
        "jwk+json",
    )
    assert header["p2c"] >= 100_000
    assert "correct horse" not in text and '"d"' not in text
    # jwcrypto opens it with the passphrase: a standard JWE, not a home-made format.
    # (jwcrypto caps PBKDF2 iterations at 16,384 by default; linkwork uses 210,000.)
    monkeypatch.setattr(jw_jwa, "default_max_pbkdf2_iterations", 300_000)
    token = jw_jwe.JWE()
    token.deserialize(text, key=jw_jwk.JWK.from_password("correct horse battery staple"))
    inner = json.loads(token.payload)
    assert inner["crv"] == "P-256" and "d" in inner
    assert inner["kid"] == result.json()["kid"]

    from screening.exchange.keys import load_private_key

    assert load_private_key(tmp_path / "hub.private.jwk", "correct horse battery staple").is_private
    with pytest.raises(ValueError, match="protected by a passphrase"):
        load_private_key(tmp_path / "hub.private.jwk")
    with pytest.raises(ValueError, match="wrong passphrase"):
        load_private_key(tmp_path / "hub.private.jwk", "wrong")
    # Through the CLI: a missing variable is one line, exit 2.
    missing = cli(
        "referral", "open", tmp_path / "x.jwe", "--key", tmp_path / "hub.private.jwk",
        "--passphrase-env", "NOT_SET_ANYWHERE", db=db_url,
    )  # fmt: skip
    assert missing.code == 2 and "NOT_SET_ANYWHERE is not set" in missing.err


def test_trust_store_refuses_private_and_non_p256_keys(cli, tmp_path: Path, db_url: str):  # type: ignore[no-untyped-def]
    assert cli("keys", "new", "hub", "--out", tmp_path).code == 0
    before = counts(db_url)
    private = cli("keys", "trust", tmp_path / "hub.private.jwk", "--name", "Hub", db=db_url)
    assert private.code == 2 and "private key" in private.err
    assert len(private.err.strip().splitlines()) == 1

    p384 = tmp_path / "p384.public.jwk"
    p384.write_text(jw_jwk.JWK.generate(kty="EC", crv="P-384").export_public())
    wrong_curve = cli("keys", "trust", p384, "--name", "Hub", db=db_url)
    assert wrong_curve.code == 2 and "not an EC P-256 key (curve 'P-384')" in wrong_curve.err

    rsa = tmp_path / "rsa.public.jwk"
    rsa.write_text(jw_jwk.JWK.generate(kty="RSA", size=2048).export_public())
    wrong_type = cli("keys", "trust", rsa, "--name", "Hub", db=db_url)
    assert wrong_type.code == 2 and "kty 'RSA'" in wrong_type.err

    junk = tmp_path / "junk.jwk"
    junk.write_text("not json")
    assert cli("keys", "trust", junk, "--name", "Hub", db=db_url).code == 2
    assert counts(db_url) == before

    empty = cli("keys", "list", db=db_url)
    assert empty.code == 1

    ok = cli("keys", "trust", tmp_path / "hub.public.jwk", "--name", "Hub", "--json", db=db_url)
    assert ok.code == 0 and ok.json()["created"] is True
    same = cli("keys", "trust", tmp_path / "hub.public.jwk", "--name", "Hub", "--json", db=db_url)
    assert same.code == 0 and same.json()["created"] is False
    other = cli("keys", "trust", tmp_path / "hub.public.jwk", "--name", "Elsewhere", db=db_url)
    assert other.code == 2 and "already trusted as 'Hub'" in other.err

    listed = cli("keys", "list", "--json", db=db_url)
    assert listed.code == 0
    rows = listed.json()
    kid = json.loads((tmp_path / "hub.public.jwk").read_text())["kid"]
    assert [(r["name"], r["kid"], r["curve"]) for r in rows] == [("Hub", kid, "P-256")]


def test_our_key_defaults_to_the_only_one_in_the_keys_folder(cli, tmp_path, monkeypatch, db_url):  # type: ignore[no-untyped-def]
    folder = tmp_path / "my-keys"
    monkeypatch.setenv("LINKWORK_KEYS_DIR", str(folder))
    made = cli("keys", "new", "practice", "--json")
    assert made.code == 0, made.err
    assert Path(made.json()["private"]).parent == folder
    # No file to open: the error is about the file, so the key was found and loaded.
    missing = cli("referral", "open", tmp_path / "nothing.jwe", db=db_url)
    assert missing.code == 2 and "nothing.jwe" in missing.err
    assert cli("keys", "new", "second", "--json").code == 0
    two = cli("referral", "open", tmp_path / "nothing.jwe", db=db_url)
    assert two.code == 2 and "2 private keys in" in two.err and "--key" in two.err
