"""The app's search process starts without what it does not need (issue 18: first results
in under a second at 100k services): with the index file current for an SQLite database
it opens it without the database layer; it still rebuilds a stale one; and the app reads
its answers without importing the index's numpy or rapidfuzz."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

OPEN = """
import sys
from linkwork.settings import Settings
from tui.search_process import _Opener
opened = _Opener(Settings(database_url=sys.argv[1], stale_months=12), None)
index = opened.index()
print(index.size, 'sqlalchemy' in sys.modules)
opened.close()
"""

READ = """
import pickle, sys
result = pickle.loads(sys.stdin.buffer.read())
print(result.matches[0].name == sys.argv[1], 'numpy' in sys.modules, 'rapidfuzz' in sys.modules)
"""


def _run(code: str, *args: str, data: bytes | None = None) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        input=data,
        capture_output=True,
        timeout=300,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "LINKWORK_DATABASE_URL"},
    )
    return done.stdout.decode().split()


def test_a_current_index_file_is_opened_without_the_database_layer(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'dir.db'}"
    assert cli("directory", "load-sample", db=url).code == 0  # writes the index file
    (index_file,) = Path(os.environ["LINKWORK_HOME"]).glob("search-index/*.lwidx")
    written = index_file.stat().st_mtime_ns
    assert _run(OPEN, url) == ["400", "False"]
    assert index_file.stat().st_mtime_ns == written
    index_file.unlink()  # as if the directory had changed on another machine
    assert _run(OPEN, url) == ["400", "True"]  # rebuilt through the database layer
    assert index_file.exists()


def test_the_app_reads_the_search_process_answers_without_numpy(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from linkwork.actions.search import NearSearch, current_index
    from linkwork.settings import load_settings
    from linkwork.workspace import Workspace

    url = f"sqlite:///{tmp_path / 'dir.db'}"
    assert cli("directory", "load-sample", db=url).code == 0
    near = NearSearch(current_index(Workspace(load_settings(database_url=url))))
    answer = near.search("food bank")
    read = _run(READ, answer.matches[0].name, data=pickle.dumps(answer))
    assert read == ["True", "False", "False"]  # read whole, without numpy or rapidfuzz
