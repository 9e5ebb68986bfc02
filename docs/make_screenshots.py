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


async def shoot(
    db_url: str, screen: str, size: tuple[int, int], theme: str, name: str = ""
) -> Path:
    app = tui_seed.make_app(db_url)
    async with app.run_test(size=size) as pilot:
        await tui_seed.steps(screen)(pilot)
        if theme == "light":
            app.theme = "textual-light"
            await tui_seed.settle(pilot)
        name = f"{name or screen}.svg" if theme == "dark" else f"{name or screen}-light.svg"
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
        # The counts a data lead sees on a busier practice: 2,000 synthetic people.
        busy = Path(tmp) / "busy.db"
        busy.write_bytes(template.read_bytes())
        add_demo_people(f"sqlite:///{busy}", 2000)
        path = asyncio.run(
            shoot(f"sqlite:///{busy}", "counts", (width, height), args.theme, name="counts-demo")
        )
        print(f"wrote {path.relative_to(ROOT)}")


def add_demo_people(db_url: str, people: int) -> None:
    from linkwork.db import open_engine, session_scope
    from linkwork.demo import make_demo

    with session_scope(open_engine(db_url)) as session:
        make_demo(session, people=people, seed=1, today=tui_seed.TODAY)


if __name__ == "__main__":
    main()
