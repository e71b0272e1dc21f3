"""Seeded sample data for the landing folder: six sources, bad rows and incidents included.

    from ops_pipeline.generator import generate
    manifest = generate("data/landing", date(2026, 1, 1), days=90, users=6000,
                        incidents=["ios_pay_tracking_outage", "kol_viral@2026-03-10"])

Same arguments, same bytes. See docs/sources.md for what the files must look like;
the manifest says exactly what was written (rows, bad rows by kind, duplicates,
late events, incidents with their slice and expected cause).
"""

from ops_pipeline.generator.core import generate
from ops_pipeline.generator.incidents import INCIDENTS, Incident

__all__ = ["INCIDENTS", "Incident", "generate"]
