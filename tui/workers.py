"""How the app's thread workers report failure: in plain words, never a traceback."""

from __future__ import annotations

from typing import Any

from linkwork.errors import plain_error


def report_worker_error(node: Any, event: Any) -> None:
    """A worker that failed unexpectedly: tell the link worker in plain words (never a
    traceback); the app keeps running."""
    from textual.worker import WorkerState

    if event.state == WorkerState.ERROR and event.worker.error is not None:
        node.app.notify(plain_error(event.worker.error), severity="error")


def finished_with_true(event: Any, group: str | None = None) -> bool:
    """A worker (of ``group``, if given) has finished and returned True. A screen closes
    then, not from inside the worker's thread: closing there cancels the worker that is
    still returning (a race seen on a loaded machine)."""
    from textual.worker import WorkerState

    in_group = group is None or event.worker.group == group
    return in_group and event.state == WorkerState.SUCCESS and event.worker.result is True
