"""The command line: --version, the help of every option, the run flags, and `ops-pipeline ui`
started for real (dagster dev, its webserver, daemon and code servers) and stopped by SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from importlib.metadata import version
from pathlib import Path

import pytest

from ops_pipeline.cli import build_parser

OPS_PIPELINE = Path(sys.executable).parent / "ops-pipeline"
UI_START_TIMEOUT = 180  # seconds; a code server imports Dagster, dbt and Great Expectations on a shared 2-core machine
UI_STOP_TIMEOUT = 15


def test_version_is_the_package_version():
    result = subprocess.run([OPS_PIPELINE, "--version"], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout == f"ops-pipeline {version('ops-pipeline')}\n"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(commands.choices)


def test_every_option_of_every_subcommand_states_its_default():
    parser = build_parser()
    subcommands = _subparsers(parser)
    assert {"generate", "run", "demo", "ui", "eval-alerts", "bench"} <= subcommands.keys()
    checked = 0
    for name, sub in [("", parser), *subcommands.items()]:
        shown = " ".join(sub.format_help().split())
        assert "default: None" not in shown and "default: False" not in shown, name
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction | argparse._VersionAction | argparse._SubParsersAction):
                continue
            where = f"{name} {'/'.join(action.option_strings) or action.dest}"
            assert action.help, f"{where} has no help"
            text = " ".join(sub._get_formatter()._expand_help(action).split())
            assert text in shown, where
            assert "(default: " in text, f"{where}: {text!r} does not state its default"
            if action.default not in (None, False, [], argparse.SUPPRESS):
                assert f"default: {action.default}" in text, f"{where}: {text!r}"
            checked += 1
    assert checked >= 20


def test_run_flags_and_their_defaults():
    parser = build_parser()
    plain = parser.parse_args(["run"])
    assert (plain.all, plain.no_wait, plain.quiet, plain.verbose) == (False, False, False, False)
    given = parser.parse_args(["run", "--all", "--no-wait", "-q"])
    assert (given.all, given.no_wait, given.quiet) == (True, True, True)
    assert parser.parse_args(["run", "--quiet"]).quiet
    # demo always builds what changed, waits and shows progress: it has none of these flags.
    for flag in ("--all", "--no-wait", "-q"):
        with pytest.raises(SystemExit):
            parser.parse_args(["demo", flag])


def test_ui_host_and_port():
    parser = build_parser()
    default = parser.parse_args(["ui"])
    assert (default.host, default.port) == ("127.0.0.1", 3000)
    given = parser.parse_args(["ui", "--host", "0.0.0.0", "--port", "3999"])
    assert (given.host, given.port) == ("0.0.0.0", 3999)


# --- `ops-pipeline ui`, for real -------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state, ppid, pgrp, session, ...)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _processes() -> dict[int, list[str]]:
    return {int(p.name): s for p in Path("/proc").iterdir() if p.name.isdigit() and (s := _stat(int(p.name)))}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _family(root: int) -> dict[int, str]:
    """The live processes descending from root or in its session: pid -> start time (tells a reused pid)."""
    procs = _processes()
    family = {root} | {pid for pid, s in procs.items() if int(s[3]) == root}
    grew = True
    while grew:
        new = {pid for pid, s in procs.items() if int(s[1]) in family} - family
        family |= new
        grew = bool(new)
    return {pid: procs[pid][19] for pid in family if pid in procs and procs[pid][0] != "Z"}


def _session(sid: int) -> dict[int, str]:
    """The live processes of a session (after its leader has gone, orphans are no one's descendants)."""
    return {pid: s[19] for pid, s in _processes().items() if int(s[3]) == sid and s[0] != "Z"}


def _alive(family: dict[int, str]) -> dict[int, str]:
    alive = {}
    for pid, started in family.items():
        s = _stat(pid)
        if s and s[0] != "Z" and s[19] == started:
            alive[pid] = _cmdline(pid)
    return alive


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_ui_stops_everything_on_sigterm(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "OPS_DAGSTER_URL"}
    env |= {
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
        "OPS_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "OPS_LANDING_DIR": str(tmp_path / "landing"),
    }
    (tmp_path / "landing").mkdir()
    log = tmp_path / "ui.log"
    with open(log, "wb") as out:
        ui = subprocess.Popen(
            [OPS_PIPELINE, "ui", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own session: everything it starts can be found, and cleaned up
        )
    try:
        deadline = time.monotonic() + UI_START_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert ui.poll() is None, f"ops-pipeline ui exited with {ui.returncode}:\n{log.read_text()[-3000:]}"
                assert time.monotonic() < deadline, f"no UI after {UI_START_TIMEOUT} s:\n{log.read_text()[-3000:]}"
                time.sleep(0.25)

        family = _family(ui.pid)
        commands = {pid: _cmdline(pid) for pid in family}
        for part in ("dagster dev", "dagster_webserver", "dagster._daemon", "dagster api grpc"):
            assert any(part in c for c in commands.values()), f"no {part!r} among {sorted(commands.values())}"
        # Alert links point to this UI when OPS_DAGSTER_URL is not set: the code servers see its address.
        (code_server,) = (pid for pid, c in commands.items() if "dagster api grpc" in c)
        code_env = Path(f"/proc/{code_server}/environ").read_bytes().split(b"\0")
        assert f"OPS_DAGSTER_URL=http://127.0.0.1:{port}".encode() in code_env

        signalled = time.monotonic()
        ui.send_signal(signal.SIGTERM)
        try:
            status = ui.wait(timeout=UI_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"ops-pipeline ui still running {UI_STOP_TIMEOUT} s after SIGTERM:\n{log.read_text()[-3000:]}")
        took = time.monotonic() - signalled
        # Right when it has exited: nothing it started, directly or not, is still running.
        left = _alive(family) | _alive(_session(ui.pid))
        assert not left, f"left running {took:.1f} s after SIGTERM: {left}"
        assert status == 0, log.read_text()[-3000:]
    finally:
        for pid in _session(ui.pid):
            os.kill(pid, signal.SIGKILL)
        if ui.poll() is None:
            ui.wait(timeout=5)
