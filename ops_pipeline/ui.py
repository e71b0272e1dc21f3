"""`ops-pipeline ui`: the Dagster UI (`dagster dev`) as a child that stops when it is told to.

`dagster dev` runs in a process group of its own, with everything it starts:
the webserver, the daemon, the code servers and the run workers they launch
(with their dbt processes and log tails). SIGINT, SIGTERM or SIGHUP to this
process (Ctrl-C at the terminal, `kill`, make passing on a SIGTERM) stops the
whole group:

1. SIGINT to the group, what Ctrl-C at a terminal sends them all when
   `dagster dev` runs there, and what its processes are made to stop on:
   dagster dev shuts its services down (about 2.5 s when idle), and a run in
   progress is interrupted and recorded as failed;
2. after INTERRUPT_GRACE_SECONDS, SIGTERM to whatever is left of the group;
3. after GRACE_SECONDS, SIGKILL to the group. A second signal goes straight to
   this step.

Without the group of its own (dagster dev exec'ed in place of this process),
SIGTERM stopped dagster dev, but its code servers outlived it by about 2 s,
and a run in progress went on writing the warehouse, orphaned, until it
finished.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ops_pipeline.settings import PROJECT_ROOT, Settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000
INTERRUPT_GRACE_SECONDS = 5.0  # after SIGINT to the group, then SIGTERM
GRACE_SECONDS = 8.0  # after the first signal, then SIGKILL
KILL_WAIT_SECONDS = 2.0
POLL_SECONDS = 0.1
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def ui_url(host: str, port: int) -> str:
    """The UI's address as a browser reaches it: a wildcard host is this machine's name."""
    if host in ("", "0.0.0.0", "::"):
        host = socket.gethostname()
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"http://{host}:{port}"


def dagster_dev_command(host: str, port: int) -> list[str]:
    # The venv's own dagster, even when the venv is not activated (make calls .venv/bin/ops-pipeline).
    dagster = Path(sys.executable).parent / "dagster"
    return [
        str(dagster) if dagster.exists() else "dagster",
        "dev",
        "-w",
        str(PROJECT_ROOT / "workspace.yaml"),
        "--host",
        host,
        "--port",
        str(port),
    ]


def dagster_dev_env(settings: Settings, host: str, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env["DAGSTER_HOME"] = str(settings.dagster_home)
    # The venv's tools (dbt) for the code servers, even when the venv is not activated.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    # Links in the alerts that the UI's sensors and runs send point to this UI, unless set.
    if not env.get("OPS_DAGSTER_URL"):
        env["OPS_DAGSTER_URL"] = ui_url(host, port)
    return env


def serve(settings: Settings, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> int:
    """Run `dagster dev` until it ends or this process is told to stop; its exit status, or 0 when
    stopped by a signal and everything in its group has gone."""
    from ops_pipeline.instance import dagster_instance

    dagster_instance(settings)  # the instance's dagster.yaml, written before the services read it
    received: list[int] = []
    previous = {sig: signal.signal(sig, lambda signum, _frame: received.append(signum)) for sig in STOP_SIGNALS}
    try:
        child = subprocess.Popen(
            dagster_dev_command(host, port),
            env=dagster_dev_env(settings, host, port),
            stdin=subprocess.DEVNULL,  # a background process group must not read the terminal
            process_group=0,
        )
        while not received:
            try:
                status = child.wait(timeout=POLL_SECONDS)
            except subprocess.TimeoutExpired:
                continue
            _stop(child, received)  # it ended by itself: nothing of its group outlives it
            return status
        _stop(child, received)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop(child: subprocess.Popen, received: list[int]) -> None:
    """Stop dagster dev and every process of its group; see the module's docstring."""
    start, seen = time.monotonic(), len(received)

    def waiting(until: float) -> bool:
        return _group_alive(child.pid) and len(received) == seen and time.monotonic() < until

    for sig, until in ((signal.SIGINT, start + INTERRUPT_GRACE_SECONDS), (signal.SIGTERM, start + GRACE_SECONDS)):
        if waiting(until):
            _signal(child.pid, sig)
            while waiting(until):
                child.poll()  # reaped as soon as it exits
                time.sleep(POLL_SECONDS)
    if _group_alive(child.pid):
        print(
            f"ops-pipeline ui: killing what is left of dagster dev after {time.monotonic() - start:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        _signal(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + KILL_WAIT_SECONDS
        while _group_alive(child.pid) and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
    child.poll()


def _signal(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    """Whether a live process (zombies aside) is left in the process group."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            return True
    return False
