"""A mesh-sandbox launcher for the MESH tests (run as a script by tests/mesh_support.py; no
tests here, and nothing imported from the tests).

It imports uvicorn and NHS England's mesh-sandbox once, then for each start forks a new
process that runs ``uvicorn.run("mesh_sandbox.api:app", ...)`` exactly as the
``uvicorn`` command would, with the environment the test gives. A start then costs a fork
instead of ~0.5 s of imports (~1 s wall), so a test can restart the sandbox between every
step cheaply. Each sandbox is still a real restart: the serving process is stopped with
SIGTERM (uvicorn's graceful shutdown) and a new one serves; the launcher itself never
builds the sandbox's configuration or store (mesh_sandbox makes both on the first request,
in the forked process), so nothing a server held in memory survives it: only the file
store on disk does.

Protocol, one line each way on stdin/stdout:
``start <json {"port", "log", "env"}>`` -> ``pid <n>``;
``poll <pid>`` -> ``running`` or ``exited <status>``;
``stop <pid>`` -> ``exited <status>`` (SIGTERM, then SIGKILL after 10 s).
On end of input (the test process gone) every sandbox still running is stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
import warnings


def _child(port: int, log: str, env: dict[str, str]) -> None:
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.environ.clear()
        os.environ.update(env)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        import uvicorn

        uvicorn.run("mesh_sandbox.api:app", host="127.0.0.1", port=port, log_level="warning")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _wait(pid: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() >= deadline:
            return None
        time.sleep(delay)
        delay = min(delay * 2, 0.02)


def _stop(pid: int) -> int:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    code = _wait(pid, 10)
    if code is None:
        os.kill(pid, signal.SIGKILL)
        code = _wait(pid, 60)
    return -9 if code is None else code


def main() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mesh-sandbox's FastAPI deprecation warnings
        import mesh_sandbox.api  # noqa: F401
        import uvicorn
        import uvicorn.lifespan.on
        import uvicorn.loops.auto
        import uvicorn.protocols.http.auto
        import uvicorn.protocols.websockets.auto  # noqa: F401
    running: set[int] = set()
    exited: dict[int, int] = {}
    out = sys.stdout
    for line in sys.stdin:
        verb, _, rest = line.strip().partition(" ")
        if verb == "start":
            spec = json.loads(rest)
            out.flush()
            pid = os.fork()
            if pid == 0:
                _child(int(spec["port"]), str(spec["log"]), dict(spec["env"]))
            running.add(pid)
            reply = f"pid {pid}"
        elif verb == "poll":
            pid = int(rest)
            if pid in running:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    running.discard(pid)
                    exited[pid] = os.waitstatus_to_exitcode(status)
            reply = f"exited {exited[pid]}" if pid in exited else "running"
        elif verb == "stop":
            pid = int(rest)
            if pid in running:
                running.discard(pid)
                exited[pid] = _stop(pid)
            reply = f"exited {exited[pid]}"
        else:
            reply = f"error unknown command {verb!r}"
        out.write(reply + "\n")
        out.flush()
    for pid in running:
        _stop(pid)


if __name__ == "__main__":
    main()
