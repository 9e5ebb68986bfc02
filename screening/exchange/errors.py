"""Why a received file was refused: one reason code and one line for the user."""

from __future__ import annotations

# Reason codes (stable; shown at the start of the message and in --json output).
EMPTY = "empty"
TOO_LARGE = "too large"
TRUNCATED = "truncated"
NOT_ENCRYPTED = "not encrypted"
NOT_JOSE = "not a JOSE file"
TAMPERED = "tampered"
WRONG_RECIPIENT = "different recipient"
UNTRUSTED_SIGNER = "untrusted signer"
BAD_SIGNATURE = "signature does not match"
ALG_NONE = "alg none"
UNEXPECTED_ALG = "unexpected algorithm"
NOT_BUNDLE = "not a FHIR Bundle"
INVALID_BUNDLE = "invalid FHIR Bundle"
DANGLING_REFERENCE = "dangling reference"
WRONG_PARTNER = "wrong partner"
UNKNOWN_REFERRAL = "unknown referral"


class ExchangeRefused(ValueError):
    """A received file that linkwork will not open or import (exit 2, nothing changed)."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"refused ({reason}): {detail}")
