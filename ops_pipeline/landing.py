"""The landing folder: which files belong to which source and landing day."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ops_pipeline.contract import FILE_FORMATS, SOURCES

FILE_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})(.*)\.(" + "|".join(FILE_FORMATS) + r")$", re.IGNORECASE)


@dataclass(frozen=True)
class LandingFile:
    source: str
    landing_date: date
    path: Path
    format: str


@dataclass
class LandingScan:
    files: list[LandingFile]
    ignored: list[Path]  # present in a source folder but not named <YYYY-MM-DD>...<ext>

    def days(self, source: str | None = None) -> list[date]:
        return sorted({f.landing_date for f in self.files if source in (None, f.source)})

    def by_source_day(self) -> dict[str, dict[date, list[LandingFile]]]:
        grouped: dict[str, dict[date, list[LandingFile]]] = defaultdict(lambda: defaultdict(list))
        for f in self.files:
            grouped[f.source][f.landing_date].append(f)
        return grouped


def scan(landing_dir: Path, source: str | None = None) -> LandingScan:
    """List the landing files, for one source or all, sorted by day then name."""
    files: list[LandingFile] = []
    ignored: list[Path] = []
    for name in [source] if source else SOURCES:
        folder = Path(landing_dir) / name
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if not path.is_file():
                continue
            match = FILE_NAME.match(path.name)
            landing_date = _parse_date(match.group(1)) if match else None
            if landing_date is None:
                ignored.append(path)
                continue
            files.append(LandingFile(name, landing_date, path, match.group(3).lower()))
    files.sort(key=lambda f: (f.source, f.landing_date, f.path.name))
    return LandingScan(files, ignored)


def _parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
