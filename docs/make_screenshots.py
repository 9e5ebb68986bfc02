"""Write an SVG screenshot of each main screen of the app to docs/screenshots/, from a
fixed synthetic practice database (tests/tui_seed.py) with a fixed clock.

    .venv/bin/python docs/make_screenshots.py [--size 120x40] [--theme dark|light]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import tui_seed  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


async def shoot(db_url: str, screen: str, size: tuple[int, int], theme: str) -> Path:
    app = tui_seed.make_app(db_url)
    async with app.run_test(size=size) as pilot:
        await tui_seed.steps(screen)(pilot)
        if theme == "light":
            app.theme = "textual-light"
            await tui_seed.settle(pilot)
        name = f"{screen}.svg" if theme == "dark" else f"{screen}-light.svg"
        app.save_screenshot(filename=name, path=str(OUT))
    return OUT / name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="120x40")
    parser.add_argument("--theme", default="dark", choices=["dark", "light"])
    args = parser.parse_args()
    width, height = (int(x) for x in args.size.split("x"))
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "practice.db"
        tui_seed.seed(f"sqlite:///{template}")
        for screen in tui_seed.SCREEN_KEYS:
            copy = Path(tmp) / f"{screen}.db"
            copy.write_bytes(template.read_bytes())
            path = asyncio.run(shoot(f"sqlite:///{copy}", screen, (width, height), args.theme))
            print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
