"""Sign then encrypt (export) and decrypt then verify (receive), with joserfc.

A referral file is a compact JWE (RFC 7516) whose plaintext is a compact JWS (RFC 7515)
whose payload is the FHIR Bundle JSON:

* JWS header: ``alg`` ES256, ``kid`` = the sender's key thumbprint, ``typ`` ``JOSE``,
  ``cty`` ``fhir+json`` (application/fhir+json, prefix omitted as RFC 7515 recommends).
* JWE header: ``alg`` ECDH-ES+A256KW, ``enc`` A256GCM, ``kid`` = the recipient's key id,
  ``cty`` ``JOSE`` (the plaintext is a compact-serialised JOSE object, application/jose).

Receiving uses strict allow-lists on both layers and checks in an order that lets each
failure be named: shape (empty, truncated, not encrypted) -> outer header (algorithm,
recipient) -> decryption (tampered) -> inner header (alg none, algorithm, signer) ->
signature -> payload (the caller checks it is a FHIR Bundle).

One size rule: ``MAX_FILE_BYTES``. A file over it is refused as too large before anything
else, and joserfc's own (smaller) limits on each part are raised to it, so a file within it
is never refused for its size, and a part over one of joserfc's fixed limits (a header over
1 KiB) is refused as too large, never as tampered.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from joserfc import jwe, jws
from joserfc.errors import ExceededSizeError, JoseError
from joserfc.jwe import JWERegistry
from joserfc.jwk import ECKey
from joserfc.jws import JWSRegistry

from screening.exchange import errors as E
from screening.exchange.keys import key_id

JWS_ALG = "ES256"
JWE_ALG = "ECDH-ES+A256KW"
JWE_ENC = "A256GCM"
# What we accept from others: ECDH-ES (direct) is allowed by the exchange spec too.
ACCEPTED_JWE_ALGS = (JWE_ALG, "ECDH-ES")
ACCEPTED_JWE_ENCS = (JWE_ENC,)
ACCEPTED_JWS_ALGS = (JWS_ALG,)
GCM_TAG_BYTES = 16
MAX_FILE_BYTES = 16 * 1024 * 1024  # a referral is a few KiB; refuse anything absurd


MAX_DEPTH = 64  # arrays and objects in the signed content (a referral Bundle needs about 10)


def _deeper_than(value: Any, limit: int) -> bool:
    """Does ``value`` nest arrays and objects more than ``limit`` deep? (No recursion.)"""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def payload_json(payload: bytes | str) -> Any:
    """The signed content as JSON, refused (``not a FHIR Bundle``) if it is not JSON or
    nests more than ``MAX_DEPTH`` deep: never a RecursionError, whatever a partner sent."""
    deep = False
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise E.ExchangeRefused(E.NOT_BUNDLE, "the signed content is not JSON") from None
    except RecursionError:
        deep = True
    if deep or _deeper_than(data, MAX_DEPTH):
        raise E.ExchangeRefused(
            E.NOT_BUNDLE, f"the signed content nests more than {MAX_DEPTH} levels deep"
        )
    return data


def _jwe_registry(algorithms: list[str]) -> JWERegistry:
    registry = JWERegistry(algorithms=algorithms)
    registry.max_ciphertext_length = MAX_FILE_BYTES  # joserfc's default is 64 KiB
    return registry


def _jws_registry() -> JWSRegistry:
    registry = JWSRegistry(algorithms=list(ACCEPTED_JWS_ALGS))
    registry.max_payload_length = MAX_FILE_BYTES  # joserfc's default is 128,000 bytes
    return registry


def _too_large(exc: ExceededSizeError) -> E.ExchangeRefused:
    return E.ExchangeRefused(
        E.TOO_LARGE, f"part of the file is larger than linkwork reads ({exc.description})"
    )


def seal(payload: bytes, signer: ECKey, recipient: ECKey) -> str:
    """Sign ``payload`` with ``signer`` (ES256) and encrypt it for ``recipient``."""
    if not signer.is_private:
        raise ValueError("signing needs our private key")
    signed = jws.serialize_compact(
        {"alg": JWS_ALG, "kid": key_id(signer), "typ": "JOSE", "cty": "fhir+json"},
        payload,
        signer,
        algorithms=[JWS_ALG],
    )
    token = jwe.encrypt_compact(
        {"alg": JWE_ALG, "enc": JWE_ENC, "cty": "JOSE", "kid": key_id(recipient)},
        signed,
        recipient,
        algorithms=[JWE_ALG, JWE_ENC],
    )
    if len(token) > MAX_FILE_BYTES:  # the partner would refuse it as too large
        raise ValueError(
            f"the file would be {len(token):,} bytes: more than the {MAX_FILE_BYTES:,} "
            "a partner's linkwork reads"
        )
    return token


@dataclass(frozen=True)
class Opened:
    payload: bytes
    signer_kid: str
    jwe_header: dict[str, Any]
    jws_header: dict[str, Any]


def _b64decode(segment: str) -> bytes:
    if not _B64URL.issuperset(segment):
        raise ValueError("not base64url")
    padded = segment + "=" * (-len(segment) % 4)
    try:
        return base64.urlsafe_b64decode(padded)
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None


_KNOWN_JWE_FIELDS = frozenset(
    {"alg", "enc", "zip", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty"}
    | {"crit", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c"}
)
_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _header(segment: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(_b64decode(segment))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise E.ExchangeRefused(E.TAMPERED, f"the {what} header is unreadable") from None
    if not isinstance(data, dict):
        raise E.ExchangeRefused(E.TAMPERED, f"the {what} header is not a JSON object")
    return data


def _one_flip_apart(segment: str, name: str, seen: str, expected: str) -> bool:
    """Could ``seen`` be ``expected`` with one base64url character of the header changed?

    One changed character alters bits inside one 6-bit group of the decoded header, so a
    value whose differing bits all fall in one such group was damaged, not chosen. The raw
    header bytes are compared, not the parsed value: a damaged byte can become a JSON
    escape (``\\b``) that shortens the parsed string.
    """
    del seen  # the parsed value can differ in length; the raw bytes tell
    raw = _b64decode(segment)
    marker = json.dumps(name).encode() + b":"
    start = raw.find(marker)
    if start < 0:
        return False
    value_at = raw.find(b'"', start + len(marker)) + 1
    b = expected.encode()
    a = raw[value_at : value_at + len(b)]
    if len(a) != len(b) or a == b:
        return False
    groups = set()
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        diff = x ^ y
        for bit in range(8):
            if diff & (0x80 >> bit):
                groups.add(((value_at + i) * 8 + bit) // 6)
    return len(groups) == 1


def open_sealed(
    token: str | bytes,
    our_key: ECKey,
    trusted: Callable[[str], ECKey | None],
) -> Opened:
    """Decrypt with ``our_key`` and verify against ``trusted(kid)``; ExchangeRefused if not."""
    if len(token) > MAX_FILE_BYTES:
        raise E.ExchangeRefused(E.TOO_LARGE, f"the file is over {MAX_FILE_BYTES} bytes")
    if isinstance(token, bytes):
        raw = token
        try:
            token = raw.decode("ascii")
        except UnicodeDecodeError:
            if raw.count(b".") >= 3 or raw.lstrip().startswith(b"eyJ"):
                raise E.ExchangeRefused(E.TAMPERED, "the file holds non-text bytes") from None
            raise E.ExchangeRefused(E.NOT_JOSE, "the file is not a JOSE compact file") from None
    token = token.strip()
    if not token:
        raise E.ExchangeRefused(E.EMPTY, "the file is empty")
    looks_jose = token.startswith("eyJ") or token.count(".") >= 3
    stray = set(token) - _B64URL - {"."}
    if stray:
        if looks_jose:
            raise E.ExchangeRefused(
                E.TAMPERED, f"the file holds a character not allowed in JOSE ({min(stray)!r})"
            )
        raise E.ExchangeRefused(E.NOT_JOSE, "the file is not a JOSE compact file")
    parts = token.split(".")
    if len(parts) == 1:
        if "eyJ".startswith(token[:3]):
            raise E.ExchangeRefused(E.TRUNCATED, "the file is cut short (1 of 5 parts)")
        raise E.ExchangeRefused(E.NOT_JOSE, "the file is not a JOSE compact file")
    outer = _header(parts[0], "encryption") if parts[0] else None
    if outer is None:
        raise E.ExchangeRefused(E.NOT_JOSE, "the file does not start with a JOSE header")
    is_jwe = "enc" in outer
    if not is_jwe:
        if len(parts) == 3 and "alg" in outer:
            raise E.ExchangeRefused(
                E.NOT_ENCRYPTED, "the file is signed but not encrypted (a JWS, not a JWE)"
            )
        raise E.ExchangeRefused(E.TAMPERED, "the encryption header has no 'enc'")
    if len(parts) == 4 and len(parts[3]) == 22 and len(token) > 200:
        # a full authentication tag is there, so a separator was damaged, not the end cut
        raise E.ExchangeRefused(E.TAMPERED, "the file has 4 parts with a whole tag")
    if len(parts) < 5:
        raise E.ExchangeRefused(E.TRUNCATED, f"the file is cut short ({len(parts)} of 5 parts)")
    if len(parts) > 5:
        raise E.ExchangeRefused(E.TAMPERED, f"the file has {len(parts)} parts, not 5")
    for index, part in enumerate(parts[1:], start=1):
        try:
            _b64decode(part)
        except ValueError:
            if index == 4 and len(part) % 4 == 1:
                raise E.ExchangeRefused(E.TRUNCATED, "the file is cut short") from None
            raise E.ExchangeRefused(E.TAMPERED, f"part {index + 1} is not base64url") from None
    tag = _b64decode(parts[4])
    if len(tag) < GCM_TAG_BYTES:
        raise E.ExchangeRefused(
            E.TRUNCATED, f"the file is cut short (authentication tag {len(tag)} of 16 bytes)"
        )
    alg, enc = outer.get("alg"), outer.get("enc")
    for name, value, accepted in (
        ("alg", alg, ACCEPTED_JWE_ALGS),
        ("enc", enc, ACCEPTED_JWE_ENCS),
    ):
        if value in accepted:
            continue
        if isinstance(value, str) and any(
            _one_flip_apart(parts[0], name, value, ok) for ok in accepted
        ):
            raise E.ExchangeRefused(E.TAMPERED, f"the encryption header was altered ({name})")
        if value is None:
            raise E.ExchangeRefused(E.TAMPERED, f"the encryption header has no {name!r}")
        if value == "none":
            raise E.ExchangeRefused(E.ALG_NONE, f"the encryption header has {name} 'none'")
        raise E.ExchangeRefused(
            E.UNEXPECTED_ALG,
            f"encryption {name} {value!r} is not accepted (only {', '.join(accepted)})",
        )
    if "zip" in outer:
        raise E.ExchangeRefused(
            E.UNEXPECTED_ALG, f"compressed content (zip {outer['zip']!r}) is not accepted"
        )
    ours = key_id(our_key)
    their_kid = outer.get("kid")
    if their_kid is not None and their_kid not in (ours, our_key.thumbprint()):
        if isinstance(their_kid, str) and _one_flip_apart(parts[0], "kid", their_kid, ours):
            raise E.ExchangeRefused(E.TAMPERED, "the encryption header was altered (kid)")
        raise E.ExchangeRefused(
            E.WRONG_RECIPIENT,
            f"the file is encrypted for key {their_kid}, not for our key {ours}",
        )
    try:
        opened = jwe.decrypt_compact(token, our_key, registry=_jwe_registry([str(alg), str(enc)]))
    except ExceededSizeError as exc:
        raise _too_large(exc) from None
    except Exception as exc:  # any failure of the crypto layer means the file was damaged
        if their_kid is None and set(outer) <= _KNOWN_JWE_FIELDS:
            raise E.ExchangeRefused(
                E.WRONG_RECIPIENT,
                "the file cannot be decrypted with our key (no key id: another recipient?)",
            ) from None
        raise E.ExchangeRefused(
            E.TAMPERED, f"the file fails its integrity check ({type(exc).__name__})"
        ) from None
    inner = (opened.plaintext or b"").strip()
    return _verify(inner, trusted, dict(opened.headers()))


def _verify(inner: bytes, trusted: Callable[[str], ECKey | None], outer: dict[str, Any]) -> Opened:
    try:
        text = inner.decode("ascii")
    except UnicodeDecodeError:
        text = ""
    parts = text.split(".")
    if len(parts) != 3:
        raise E.ExchangeRefused(E.NOT_JOSE, "the encrypted content is not a signed (JWS) file")
    try:
        header = json.loads(_b64decode(parts[0]))
    except (ValueError, UnicodeDecodeError, RecursionError):
        header = None
    if not isinstance(header, dict):
        raise E.ExchangeRefused(E.NOT_JOSE, "the signature header is unreadable")
    alg = header.get("alg")
    if alg is None or str(alg).lower() == "none":
        raise E.ExchangeRefused(E.ALG_NONE, "the content is unsigned (JWS alg 'none')")
    if alg not in ACCEPTED_JWS_ALGS:
        raise E.ExchangeRefused(
            E.UNEXPECTED_ALG,
            f"signature alg {alg!r} is not accepted (only {', '.join(ACCEPTED_JWS_ALGS)})",
        )
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise E.ExchangeRefused(E.UNTRUSTED_SIGNER, "the signature names no key (no kid)")
    key = trusted(kid)
    if key is None:
        raise E.ExchangeRefused(
            E.UNTRUSTED_SIGNER, f"signed by key {kid}, which is not in the trust store"
        )
    try:
        verified = jws.deserialize_compact(text, key, registry=_jws_registry())
    except ExceededSizeError as exc:
        raise _too_large(exc) from None
    except (JoseError, ValueError, TypeError):
        raise E.ExchangeRefused(
            E.BAD_SIGNATURE,
            f"the signature was not made by the trusted key {kid} (a different key)",
        ) from None
    return Opened(
        payload=verified.payload,
        signer_kid=kid,
        jwe_header=outer,
        jws_header=dict(verified.headers()),
    )
