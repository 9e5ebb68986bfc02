"""The personalised care and support plan as a printable PDF, in plain English.

Typeset by typst (the ``typst`` wheel carries the compiler and its fonts: it works offline
and gives the same PDF on every machine; system fonts are ignored). The person's data goes
in as JSON through ``sys.inputs`` and is only ever placed as text, so nothing anyone typed
can become typst markup. Large print: 18 pt body text (RNIB's clear and large print
guidance), wider spacing. The NHS number appears only when the data carries one (the
caller asked for it).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any


def source() -> bytes:
    """The typst template (``linkwork/plan.typ``)."""
    from importlib import resources

    return resources.files("linkwork").joinpath("plan.typ").read_bytes()


def pdf(data: dict[str, Any], *, large_print: bool = False) -> bytes:
    """The plan as PDF bytes."""
    import typst

    inputs = {"data": json.dumps(data, ensure_ascii=False), "large": "1" if large_print else "0"}
    made = int(datetime.fromisoformat(data["made"]).timestamp())  # the PDF's creation date
    out = typst.compile(
        source(), format="pdf", sys_inputs=inputs, ignore_system_fonts=True, timestamp=made
    )
    if not isinstance(out, bytes):  # one PDF, never a list of pages
        raise RuntimeError("typst returned no PDF")
    return out


def page_count(data: bytes) -> int:
    """Pages in a PDF typst made (each page object once; no PDF library needed)."""
    import re

    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))
