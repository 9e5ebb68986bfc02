"""Keys for signing and encrypting referral files: EC P-256 JWKs.

* ``NAME.private.jwk``: the private key (mode 0600), plain JSON, or, with a passphrase,
  the JWK wrapped as a compact JWE with ``PBES2-HS512+A256KW`` / ``A256GCM``
  (RFC 7518 section 4.8, 210,000 PBKDF2 iterations) and ``cty`` ``jwk+json`` — the
  standard way to protect a JWK with a password (RFC 7517 section 7).
* ``NAME.public.jwk``: the public key to give partners (mode 0600 too: every key file is).

Keys are treated as OpenSSH treats them: a folder made for them is 0700, every key file
0600 whatever the umask, and a private key file of ours that the group or others may read
is refused (``check_private_file``) with the ``chmod 600`` to run.

Each key's ``kid`` is its RFC 7638 thumbprint (SHA-256), so the same key always has the
same id. Partners' public keys live in the database trust store (``TrustedKey``).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OctKey
from sqlmodel import Session, select

from directory.untrusted import clean_text
from screening.audit import write_lock
from screening.exchange.files import PRIVATE_FILE, atomic_write, private_folder
from screening.exchange.models import TrustedKey

CURVE = "P-256"
PASSPHRASE_ALG = "PBES2-HS512+A256KW"
PASSPHRASE_ENC = "A256GCM"
PASSPHRASE_ITERATIONS = 210_000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def new_key() -> ECKey:
    """A fresh EC P-256 private key whose ``kid`` is its RFC 7638 thumbprint."""
    key = ECKey.generate_key(CURVE, private=True)
    return ECKey.import_key(key.as_dict(private=True), {"kid": key.thumbprint()})


def key_id(key: ECKey) -> str:
    return str(key.kid or key.thumbprint())


def public_jwk(key: ECKey) -> dict[str, Any]:
    data = dict(key.as_dict(private=False))
    data["kid"] = key_id(key)
    return data


def private_jwk(key: ECKey) -> dict[str, Any]:
    data = dict(key.as_dict(private=True))
    data["kid"] = key_id(key)
    return data


def _passphrase_key(passphrase: str) -> OctKey:
    if not passphrase:
        raise ValueError("the passphrase is empty")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc warns that passwords are short "keys"
        return OctKey.import_key(passphrase.encode("utf-8"))


def protect(jwk: dict[str, Any], passphrase: str) -> str:
    """The private JWK as a compact JWE (PBES2-HS512+A256KW, A256GCM)."""
    header = {
        "alg": PASSPHRASE_ALG,
        "enc": PASSPHRASE_ENC,
        "cty": "jwk+json",
        "p2c": PASSPHRASE_ITERATIONS,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jwe.encrypt_compact(
            header,
            json.dumps(jwk, separators=(",", ":")),
            _passphrase_key(passphrase),
            algorithms=[PASSPHRASE_ALG, PASSPHRASE_ENC],
        )


@dataclass(frozen=True)
class KeyFiles:
    name: str
    kid: str
    private: Path
    public: Path
    protected: bool


def write_key_pair(folder: Path, name: str, passphrase: str | None = None) -> KeyFiles:
    """Make a key pair; write ``NAME.private.jwk`` and ``NAME.public.jwk`` (both 0600) in
    ``folder`` (made 0700 if it does not exist)."""
    if not _NAME.match(name):
        raise ValueError(
            f"key name {name!r} must be 1-64 letters, digits, dots, hyphens or underscores"
        )
    folder = private_folder(folder)
    private_path = folder / f"{name}.private.jwk"
    public_path = folder / f"{name}.public.jwk"
    for path in (private_path, public_path):
        if path.exists():
            raise ValueError(f"{path} already exists: choose another name or folder")
    key = new_key()
    if passphrase is not None:
        private_text = protect(private_jwk(key), passphrase) + "\n"
    else:
        private_text = json.dumps(private_jwk(key), indent=2) + "\n"
    atomic_write(private_path, private_text, mode=PRIVATE_FILE)
    atomic_write(public_path, json.dumps(public_jwk(key), indent=2) + "\n", mode=PRIVATE_FILE)
    return KeyFiles(name, key_id(key), private_path, public_path, passphrase is not None)


def _read(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise ValueError(f"key file {path} does not exist") from None
    except UnicodeDecodeError:
        raise ValueError(f"key file {path} is not a text JWK") from None


def _import_ec(data: Any, where: str) -> ECKey:
    if not isinstance(data, dict):
        raise ValueError(f"{where} is not a JWK (expected a JSON object)")
    kty = data.get("kty")
    if kty != "EC":
        raise ValueError(f"{where} is not an EC P-256 key (kty {kty!r})")
    if data.get("crv") != CURVE:
        raise ValueError(f"{where} is not an EC P-256 key (curve {data.get('crv')!r})")
    try:
        key = ECKey.import_key(data)
    except (JoseError, ValueError, TypeError) as exc:
        raise ValueError(f"{where} is not a usable EC key: {exc}") from None
    if not key.kid:
        key = ECKey.import_key(data, {"kid": key.thumbprint()})
    return key


def parse_private_key(text: str, where: str, passphrase: str | None = None) -> ECKey:
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # also a number too long for Python to read
            raise ValueError(f"{where} is not valid JSON") from None
    elif text.count(".") == 4:
        if passphrase is None:
            raise ValueError(
                f"{where} is protected by a passphrase: give it with --passphrase-env VAR"
            )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                opened = jwe.decrypt_compact(
                    text, _passphrase_key(passphrase), algorithms=[PASSPHRASE_ALG, PASSPHRASE_ENC]
                )
        except JoseError:
            raise ValueError(f"wrong passphrase for {where}") from None
        try:
            data = json.loads(opened.plaintext or b"")
        except (ValueError, RecursionError):
            raise ValueError(f"{where} does not hold a JWK") from None
    else:
        raise ValueError(f"{where} is not a JWK file")
    key = _import_ec(data, where)
    if not key.is_private:
        raise ValueError(f"{where} is a public key: a private key (NAME.private.jwk) is needed")
    return key


def check_private_file(path: Path | str) -> None:
    """Refuse a private key file of ours that the group or others may read, as OpenSSH
    does ("permissions are too open"), saying the ``chmod 600`` that fixes it. A file
    owned by another user is not ours to judge (nor to change); a missing one is left
    for the reader to report."""
    if not hasattr(os, "geteuid"):
        return  # no POSIX modes (Windows)
    try:
        info = Path(path).stat()
    except OSError:
        return
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid == os.geteuid() and mode & 0o077:
        raise ValueError(
            f"private key {path} is open to other users (mode {mode:04o}), so it is not "
            f"used: run `chmod 600 {shlex.quote(str(path))}`"
        )


def load_private_key(path: Path | str, passphrase: str | None = None) -> ECKey:
    """Our private key from its file (refused if others may read it: ``check_private_file``)."""
    check_private_file(path)
    return parse_private_key(_read(Path(path)), str(path), passphrase)


def parse_public_key(text: str, where: str) -> ECKey:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # also a number too long for Python to read
        raise ValueError(f"{where} is not a JSON JWK") from None
    if isinstance(data, dict) and "d" in data:
        raise ValueError(f"{where} holds a private key: trust only a partner's public key")
    return _import_ec(data, where)


def load_public_key(path: Path | str) -> ECKey:
    return parse_public_key(_read(Path(path)), str(path))


# -- the trust store ------------------------------------------------------------------


def trust_key(session: Session, key: ECKey, name: str, actor: str) -> tuple[TrustedKey, bool]:
    """Add a partner's public key under ``name``; (row, created). Same key again: no change."""
    name = " ".join(clean_text(name, "partner name", max_length=200).split())
    if not name:
        raise ValueError("the partner name is empty")
    if key.is_private:
        raise ValueError("refusing a private key: trust only a partner's public key")
    write_lock(session)  # the same key trusted twice at once: the second finds the first
    thumbprint = key.thumbprint()
    existing = session.exec(select(TrustedKey).where(TrustedKey.thumbprint == thumbprint)).first()
    if existing is not None:
        if existing.name != name:
            raise ValueError(f"this key is already trusted as {existing.name!r}")
        return existing, False
    kid = key_id(key)
    if session.get(TrustedKey, kid) is not None:
        raise ValueError(f"another trusted key already uses key id {kid!r}")
    row = TrustedKey(
        kid=kid,
        thumbprint=thumbprint,
        name=name,
        jwk=public_jwk(key),
        added_at=datetime.now(UTC),
        added_by=actor,
    )
    session.add(row)
    session.flush()
    return row, True


def list_trusted(session: Session) -> list[TrustedKey]:
    return list(session.exec(select(TrustedKey).order_by(TrustedKey.name, TrustedKey.kid)).all())


def find_trusted(session: Session, kid: str) -> TrustedKey | None:
    row = session.get(TrustedKey, kid)
    if row is None:
        row = session.exec(select(TrustedKey).where(TrustedKey.thumbprint == kid)).first()
    return row


def trusted_by_name(session: Session, name: str) -> list[TrustedKey]:
    return list(session.exec(select(TrustedKey).where(TrustedKey.name == name)).all())


def trusted_key(row: TrustedKey) -> ECKey:
    return _import_ec(dict(row.jwk), f"trusted key {row.name!r}")


def resolve_recipient(session: Session, target: str) -> tuple[ECKey, str]:
    """``--to`` is a trusted partner's name, or a public JWK file; (key, partner name)."""
    rows = trusted_by_name(session, target)
    if len(rows) > 1:
        rows.sort(key=lambda r: r.added_at)
    if rows:
        row = rows[-1]  # the most recently trusted key of that partner
        return trusted_key(row), row.name
    path = Path(target)
    if path.is_file():
        key = load_public_key(path)
        known = find_trusted(session, key.thumbprint())
        return key, (known.name if known is not None else path.name.removesuffix(".public.jwk"))
    raise LookupError(
        f"no trusted partner called {target!r} and no such public key file (see linkwork keys list)"
    )
