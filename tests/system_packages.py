"""Debian packages the tests need (PostgreSQL, Chromium, poppler-utils), installed with apt-get when missing.

A test skips only when installing is impossible (no apt-get, or not root); a
fresh machine without package lists gets `apt-get update` first.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

APT_ENV = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}


def apt_install(*packages: str) -> None:
    if shutil.which("apt-get") is None:
        pytest.skip(f"{', '.join(packages)} not installed and apt-get is not available to install it")
    if os.geteuid() != 0:
        pytest.skip(f"{', '.join(packages)} not installed and installing with apt-get needs root")
    install = ["apt-get", "install", "-y", "--no-install-recommends", *packages]
    result = subprocess.run(install, env=APT_ENV, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:  # a fresh machine has no package lists yet
        check(subprocess.run(["apt-get", "update"], env=APT_ENV, capture_output=True, text=True, timeout=900))
        check(subprocess.run(install, env=APT_ENV, capture_output=True, text=True, timeout=900))


def command(*names: str, package: str) -> str:
    """The path of the first of these commands, installing `package` when none is there."""
    found = next((shutil.which(n) for n in names if shutil.which(n)), None)
    if found is None:
        apt_install(package)
        found = next((shutil.which(n) for n in names if shutil.which(n)), None)
    assert found, f"apt-get installed {package}, but none of {', '.join(names)} is on PATH"
    return found


def check(result: subprocess.CompletedProcess) -> None:
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(result.args)} failed ({result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
