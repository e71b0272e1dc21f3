"""The landing folder: which files belong to which source and landing day.

The scan reads nothing; it decides what may be read. Besides the landing
files it reports, with a reason, what it leaves alone:

* ignored: an entry of a source folder that is not named
  <YYYY-MM-DD><anything>.<csv|jsonl|parquet> (or is a folder): not read, a
  warning;
* refused: a file that resolves outside the landing folder (a symlink to
  elsewhere, or a source folder that is one), or whose landing day is later
  than tomorrow in the reporting time zone: not read, and `ops-pipeline run`
  refuses to start while there is one (pipeline.landing_range).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ops_pipeline.contract import FILE_FORMATS, SOURCES

FILE_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})(.*)\.(" + "|".join(FILE_FORMATS) + r")$", re.IGNORECASE)
# Without the reporting time zone, a landing day is refused only when it is later than tomorrow
# everywhere on Earth: tomorrow in the zone that is furthest ahead (UTC+14). pipeline.landing_range
# scans with the reporting zone, which is exact.
LATEST_ZONE = "Etc/GMT-14"


@dataclass(frozen=True)
class LandingFile:
    source: str
    landing_date: date
    path: Path
    format: str


@dataclass(frozen=True)
class Skipped:
    """An entry of the landing folder that is not read, and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class LandingScan:
    files: list[LandingFile]
    ignored: list[Skipped]  # in a source folder, not named <YYYY-MM-DD>...<ext>: not read, a warning
    refused: list[Skipped]  # outside the landing folder, or a landing day after tomorrow: not read, an error

    def days(self, source: str | None = None) -> list[date]:
        return sorted({f.landing_date for f in self.files if source in (None, f.source)})

    def by_source_day(self) -> dict[str, dict[date, list[LandingFile]]]:
        grouped: dict[str, dict[date, list[LandingFile]]] = defaultdict(lambda: defaultdict(list))
        for f in self.files:
            grouped[f.source][f.landing_date].append(f)
        return grouped

    def refusal(self) -> str | None:
        """Why nothing may be built while the folder holds a refused file, naming each; None if none."""
        if not self.refused:
            return None
        return f"{len(self.refused)} file(s) of the landing folder refused, fix or remove them: " + "; ".join(
            str(refused) for refused in self.refused
        )

    def warnings(self) -> list[str]:
        """One line per entry not read: refused ones first, then ignored ones."""
        return [f"refused {s}" for s in self.refused] + [f"ignored {s}" for s in self.ignored]


def latest_landing_day(timezone: str | None = None, now: datetime | None = None) -> date:
    """Tomorrow in the reporting time zone (or, without one, in the zone furthest ahead): the
    latest landing day accepted. Rows of a later day cannot be known yet."""
    zone = ZoneInfo(timezone or LATEST_ZONE)
    today = (now.astimezone(zone) if now else datetime.now(zone)).date()
    return today + timedelta(days=1)


def scan(
    landing_dir: Path, source: str | None = None, *, timezone: str | None = None, now: datetime | None = None
) -> LandingScan:
    """List the landing files, for one source or all, sorted by day then name, with the entries not
    read (ignored and refused, each with a reason). timezone: the reporting time zone, which says
    what tomorrow is; now: the clock (tests)."""
    root = Path(landing_dir).resolve()
    latest = latest_landing_day(timezone, now)
    files: list[LandingFile] = []
    ignored: list[Skipped] = []
    refused: list[Skipped] = []
    for name in [source] if source else SOURCES:
        folder = Path(landing_dir) / name
        if not folder.is_dir():
            continue
        if not _inside(folder, root):
            refused.append(Skipped(folder, f"the source folder resolves outside the landing folder ({root})"))
            continue
        for path in sorted(folder.iterdir()):
            match = FILE_NAME.match(path.name)
            landing_date = _parse_date(match.group(1)) if match else None
            if not _inside(path, root):
                refused.append(Skipped(path, f"resolves outside the landing folder ({root}): not read"))
            elif path.is_dir():
                ignored.append(Skipped(path, "a folder inside a source folder: not read (files go directly in it)"))
            elif not path.exists():
                ignored.append(Skipped(path, "a broken link: not read"))
            elif not path.is_file():
                ignored.append(Skipped(path, "not a regular file: not read"))
            elif landing_date is None:
                ignored.append(
                    Skipped(
                        path,
                        "not named <YYYY-MM-DD><anything>.<" + "|".join(FILE_FORMATS) + ">: not read",
                    )
                )
            elif landing_date > latest:
                refused.append(
                    Skipped(
                        path,
                        f"landing day {landing_date} is later than tomorrow ({latest}) in "
                        f"{timezone or 'every time zone'}: not read; rename the file to its landing day or remove it",
                    )
                )
            else:
                files.append(LandingFile(name, landing_date, path, match.group(3).lower()))
    files.sort(key=lambda f: (f.source, f.landing_date, f.path.name))
    return LandingScan(files, ignored, refused)


def _inside(path: Path, root: Path) -> bool:
    """Whether path, all links followed, is in the landing folder (a loop of links is not)."""
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a loop of links
        return False


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
