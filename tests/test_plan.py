"""The personalised care and support plan (issue 20 point 5): ``linkwork plan PERSON --out
FILE`` renders a PDF (typst); its first page converts to an image (pypdfium2) and its text
(pypdf) lists exactly the needs shared and who they were shared with, the goals, the
services with how to contact them, the next contact and the link worker; no NHS number
unless asked; large print is larger; bad input changes nothing."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from casework_episode_support import CASE_NOTE, HUB, PRACTICE, SERVICE, ok, whole_episode


@pytest.fixture(autouse=True)
def practice_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINKWORK_PRACTICE", PRACTICE)
    monkeypatch.setenv("LINKWORK_USER", "Sam Worker")
    monkeypatch.setenv("LINKWORK_WORKER_CONTACT", "Phone 01632 960999")


def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    reader = PdfReader(path)
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def _png(gray: Any) -> bytes:
    """A greyscale image (rows of bytes) as a PNG file."""
    rows = b"".join(b"\x00" + bytes(row) for row in gray)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    head = struct.pack(">IIBBBBB", gray.shape[1], gray.shape[0], 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", head)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def first_page_png(path: Path, out: Path) -> tuple[int, int, int]:
    """The first page to a PNG file (pypdfium2 at 100 dpi): its width, height and how many
    of its pixels are dark (print on the page)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(path))
    try:
        pixels = doc[0].render(scale=100 / 72, grayscale=True).to_numpy()
    finally:
        doc.close()
    gray = pixels.reshape(pixels.shape[0], pixels.shape[1], -1)[:, :, 0]
    out.write_bytes(_png(gray))
    assert out.read_bytes().startswith(b"\x89PNG")
    return int(gray.shape[1]), int(gray.shape[0]), int((gray < 128).sum())


def shared_lines(text: str) -> list[str]:
    """The recipients listed under "What we shared about you", each with what went."""
    part = text.split("What we shared about you, with whom and when", 1)[1]
    part = part.split("Your next appointment", 1)[0]
    return [p.strip() for p in part.split("•")[1:]]


def test_plan_pdf_lists_exactly_the_shared_needs_and_recipients(cli, db_url, tmp_path):  # type: ignore[no-untyped-def]
    made = whole_episode(cli, db_url)
    out = tmp_path / "plan.pdf"
    data = ok(cli, "plan", made.person, "--out", out, db=db_url)
    assert data["file"] == str(out) and data["pages"] >= 1
    assert out.read_bytes().startswith(b"%PDF-")

    width, height, dark = first_page_png(out, tmp_path / "page-1.png")
    assert abs(width - 827) <= 1 and abs(height - 1169) <= 1  # A4 (210 x 297 mm) at 100 dpi
    assert dark > 2000  # print on the page, not a blank one

    text = pdf_text(out)
    assert "Your social prescribing plan" in text and "Ann Example" in text
    assert "Getting back to my allotment" in text
    assert "Somewhere safe to live" in text and "Join a walking group" in text
    assert "Progress: some progress." in text
    # Services with how to reach them (the directory service's phone; a hub has none).
    assert SERVICE in text and "Phone: 01632 960001" in text and HUB in text
    # What was shared, with whom: exactly two recipients, each with its one need.
    lines = shared_lines(text)
    assert len(lines) == 2, lines
    by_to = {line.split(",", 1)[0]: line for line in lines}
    assert set(by_to) == {SERVICE, HUB}
    assert "what you need help with: Homelessness;" not in by_to[HUB]
    assert re.search(r"what you need help with: Homelessness\.$", by_to[SERVICE])
    assert re.search(r"what you need help with: Living alone\.$", by_to[HUB])
    # Never shared, never on the plan as shared: unemployment (no referral) and the
    # withdrawn need; the case note stays in the organisation.
    assert "Unemployment" not in text and "Low income" not in text
    assert CASE_NOTE not in text
    # The next contact and the link worker.
    assert "a home visit" in text
    assert "Sam Worker" in text and "Phone 01632 960999" in text
    # No NHS number unless asked.
    assert "NHS number" not in text and "943 476 5919" not in text and "9434765919" not in text


def test_nhs_number_only_when_asked_and_large_print_is_larger(cli, db_url, tmp_path):  # type: ignore[no-untyped-def]
    made = whole_episode(cli, db_url)
    small, large = tmp_path / "small.pdf", tmp_path / "large.pdf"
    a = ok(cli, "plan", made.person, "--out", small, db=db_url)
    b = ok(
        cli, "plan", made.person, "--out", large, "--large-print", "--with-nhs-number", db=db_url
    )
    assert "NHS number: 943 476 5919" in pdf_text(large)
    assert b["pages"] > a["pages"]  # the same plan at 18 pt takes more pages than at 12 pt
    assert (b["large_print"], b["with_nhs_number"]) == (True, True)


def test_plan_bad_input_changes_nothing(cli, db_url, tmp_path):  # type: ignore[no-untyped-def]
    from test_casework import dump

    made = whole_episode(cli, db_url)
    before = dump(db_url)
    for args, words in (
        (["plan", "no-such-person", "--out", tmp_path / "x.pdf"], "no-such-person"),
        (["plan", made.person, "--out", tmp_path / "nofolder" / "x.pdf"], "does not exist"),
        (["plan", made.person, "--out", tmp_path / "x.txt"], "should end in .pdf"),
    ):
        result = cli(*args, db=db_url)
        assert result.code in (1, 2) and words in result.err, result.err
        assert len(result.err.splitlines()) == 1
    assert dump(db_url) == before
    assert list(tmp_path.glob("*.pdf")) == []
