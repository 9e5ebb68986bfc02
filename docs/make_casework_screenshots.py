"""Screenshots of the casework screens (caseload, a person's casework, the week diary) as
SVG, and the first page of a person's care and support plan as PNG (with the PDF), into
docs/screenshots/, from tests/casework_seed.py's synthetic practice and fixed clock.

    .venv/bin/python docs/make_casework_screenshots.py [--size 120x40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import struct
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import casework_seed  # noqa: E402
import tui_seed  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


async def shoot(db_url: str, screen: str, size: tuple[int, int]) -> Path:
    app = tui_seed.make_app(db_url, screen)
    async with app.run_test(size=size) as pilot:
        await casework_seed.steps(screen)(pilot)
        app.save_screenshot(filename=f"{screen}.svg", path=str(OUT))
    return OUT / f"{screen}.svg"


def png(gray) -> bytes:  # type: ignore[no-untyped-def]
    """A greyscale image (rows of bytes) as a PNG file."""
    rows = b"".join(b"\x00" + bytes(row) for row in gray)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    head = struct.pack(">IIBBBBB", gray.shape[1], gray.shape[0], 8, 0, 0, 0, 0)
    body = chunk(b"IHDR", head) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def plan(db_url: str) -> list[Path]:
    import pypdfium2 as pdfium

    from linkwork.actions.careplan import care_plan
    from linkwork.settings import load_settings
    from linkwork.workspace import Workspace

    ws = Workspace(load_settings(database_url=db_url))
    pdf = OUT / "plan.pdf"
    care_plan(ws, tui_seed.pid(1), pdf, now=casework_seed.NOW)
    doc = pdfium.PdfDocument(str(pdf))
    try:
        pixels = doc[0].render(scale=110 / 72, grayscale=True).to_numpy()
    finally:
        doc.close()
    image = OUT / "plan.png"
    image.write_bytes(png(pixels.reshape(pixels.shape[0], pixels.shape[1], -1)[:, :, 0]))
    return [pdf, image]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="120x40")
    args = parser.parse_args()
    width, height = (int(x) for x in args.size.split("x"))
    OUT.mkdir(parents=True, exist_ok=True)
    os.environ["LINKWORK_USER"] = tui_seed.ACTOR  # "my" caseload is the seed's worker's
    os.environ.setdefault("LINKWORK_WORKER_CONTACT", "Phone 01632 960999 (Mon to Fri)")
    os.environ.setdefault("LINKWORK_PRACTICE", "Y02101")
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "practice.db"
        casework_seed.seed(f"sqlite:///{template}")
        for screen in casework_seed.SCREEN_KEYS:
            copy = Path(tmp) / f"{screen}.db"
            copy.write_bytes(template.read_bytes())
            path = asyncio.run(shoot(f"sqlite:///{copy}", screen, (width, height)))
            print(f"wrote {path.relative_to(ROOT)}")
        for path in plan(f"sqlite:///{template}"):
            print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
