"""Snapshots of the casework screens (caseload, a person's casework, the week diary) at
80x24 and 120x40, on tests/casework_seed.py's practice with the app's fixed clock. Update
with ``pytest --snapshot-update`` after a deliberate change, and look at the SVGs."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import casework_seed
import tui_seed

SIZES = [(80, 24), (120, 40)]


@pytest.fixture(scope="session")
def casework_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("casework-seed") / "practice.db"
    casework_seed.seed(f"sqlite:///{path}")
    return path


@pytest.fixture
def casework_url(casework_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("LINKWORK_USER", tui_seed.ACTOR)  # "my" caseload is the seed's worker's
    target = tmp_path / "practice.db"
    shutil.copy(casework_template, target)
    return f"sqlite:///{target}"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", list(casework_seed.SCREEN_KEYS))
def test_casework_snapshot(snap_compare, casework_url: str, screen: str, size: tuple[int, int]):  # type: ignore[no-untyped-def]
    app = tui_seed.make_app(casework_url, screen)
    assert snap_compare(app, terminal_size=size, run_before=casework_seed.steps(screen))
