"""Helpers of the alert tests: a small synthetic marts.metrics_daily, a fake Slack server (webhooks,
Web API calls, and the file upload flow of files_upload_v2), monitors.

The synthetic warehouse has 56 days (2026-01-01 .. 2026-02-25) of DAU by
platform and channel, backend paid orders and tracked-payment completeness
by platform, with weekly seasonality and a little seeded noise. On the last
day (OUTAGE_DAY) the ios client loses 95% of its tracked pay_success events
while backend orders hold: the one alert the monitors below raise.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import duckdb
import numpy as np
import pandas as pd

from ops_pipeline.alerts.monitors import parse_monitors

START = date(2026, 1, 1)
DAYS = 56
OUTAGE_DAY = START + timedelta(days=DAYS - 1)
PLATFORMS = {"ios": 0.35, "android": 0.45, "web": 0.08, "mini_program": 0.12}
CHANNELS = {"organic": 0.4, "douyin_ads": 0.35, "wechat_ads": 0.25}
WEEKDAY = (1.0, 0.97, 0.98, 1.0, 1.03, 1.12, 1.1)

MONITORS_YAML = """
monitors:
  - name: tracking_completeness
    metric: tracking_completeness
    label: 埋点完整度 Tracking completeness
    severity: critical
    min_volume: 10
    drill_down: [platform]
    owner: data-team
  - name: dau
    metric: dau
    label: 日活跃用户 DAU
    min_volume: 100
    owner: growth
"""


def monitors():
    return parse_monitors(__import__("yaml").safe_load(MONITORS_YAML))


def write_monitors(path: Path) -> Path:
    path.write_text(MONITORS_YAML, encoding="utf-8")
    return path


def synthetic_metrics(days: int = DAYS, outage: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    rows = []
    for index in range(days):
        day = START + timedelta(days=index)
        season = WEEKDAY[day.weekday()]
        dau = {p: round(2000 * s * season * (1 + rng.normal(0, 0.02))) for p, s in PLATFORMS.items()}
        rows.append((day, "dau", "all", "all", float(sum(dau.values())), None, None))
        rows += [(day, "dau", "platform", p, float(v), None, None) for p, v in dau.items()]
        rows += [
            (day, "dau", "channel", c, float(round(sum(dau.values()) * s)), None, None) for c, s in CHANNELS.items()
        ]
        paid = {p: round(300 * s * season * (1 + rng.normal(0, 0.03))) for p, s in PLATFORMS.items()}
        tracked = {p: round(v * 0.97) for p, v in paid.items()}
        if outage and day == OUTAGE_DAY:
            tracked["ios"] = round(paid["ios"] * 0.05)
        rows.append((day, "paid_orders", "all", "all", float(sum(paid.values())), None, None))
        rows += [(day, "paid_orders", "platform", p, float(v), None, None) for p, v in paid.items()]
        total_tracked, total_paid = sum(tracked.values()), sum(paid.values())
        rows.append(
            (
                day,
                "tracking_completeness",
                "all",
                "all",
                total_tracked / total_paid,
                float(total_tracked),
                float(total_paid),
            )
        )
        rows += [
            (day, "tracking_completeness", "platform", p, tracked[p] / paid[p], float(tracked[p]), float(paid[p]))
            for p in PLATFORMS
        ]
    return pd.DataFrame(
        rows, columns=["date", "metric", "dimension", "dimension_value", "value", "numerator", "denominator"]
    )


def write_warehouse(path: Path, frame: pd.DataFrame | None = None) -> Path:
    frame = synthetic_metrics() if frame is None else frame
    conn = duckdb.connect(str(path))
    try:
        conn.execute("create schema if not exists marts")
        conn.register("frame", frame)
        conn.execute(
            "create or replace table marts.metrics_daily as select cast(date as date) as date, metric, "
            "dimension, dimension_value, value, numerator, denominator from frame"
        )
    finally:
        conn.close()
    return path


def outbox_rows(path: Path) -> list[dict]:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        cursor = conn.execute("select * from monitoring.alert_outbox order by created_at, alert_id")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        conn.close()


class FakeSlack:
    """A small Slack stand-in on 127.0.0.1: incoming webhooks at /services/..., Web API at /api/<method>.

    `script` holds the next responses, (status, headers, body), used first in first out; when it is
    empty the server answers like Slack does on success. `delay` (seconds) holds every answer back.
    """

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.script: deque = deque()
        self.delay = 0.0
        self.uploads = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length)
                body = fake._body(self.path, self.headers.get("Content-Type") or "", data)
                fake.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body, "at": time.monotonic()}
                )
                if fake.delay:
                    time.sleep(fake.delay)
                if fake.script:
                    status, headers, payload = fake.script.popleft()
                elif self.path.startswith("/api/"):
                    status, headers, payload = 200, {}, fake._api_answer(self.path, body)
                elif self.path.startswith("/upload/"):
                    status, headers, payload = 200, {}, f"OK - {len(data)}"
                else:
                    status, headers, payload = 200, {}, "ok"
                data = (json.dumps(payload) if isinstance(payload, dict) else payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if isinstance(payload, dict) else "text/plain")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _body(self, path: str, content_type: str, data: bytes):
        """The request as the test reads it: the bytes of a file upload, the fields of a form (the
        SDK's Web API calls), the JSON of a webhook or a JSON call, else the text."""
        if path.startswith("/upload/"):
            return data
        text = data.decode("utf-8")
        if content_type.startswith("application/x-www-form-urlencoded"):
            return {name: values[0] for name, values in parse_qs(text, keep_blank_values=True).items()}
        try:
            return json.loads(text)
        except ValueError:
            return text

    def _api_answer(self, path: str, body) -> dict:
        """Slack's success answers; files.getUploadURLExternal and files.completeUploadExternal as the
        SDK's files_upload_v2 expects them (the upload URL points back at this server)."""
        method = path.removeprefix("/api/").split("?")[0]
        if method == "files.getUploadURLExternal":
            self.uploads += 1
            file_id = f"F{self.uploads:08d}"
            return {"ok": True, "upload_url": f"{self.base}/upload/v1/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = json.loads(body.get("files", "[]")) if isinstance(body, dict) else []
            return {
                "ok": True,
                "files": [{"id": f["id"], "title": f.get("title"), "name": f.get("title")} for f in files],
            }
        return {"ok": True, "channel": "C123", "ts": "1700000000.000100"}

    def __enter__(self) -> FakeSlack:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def base(self) -> str:
        host, port = self.server.server_address
        return f"http://{host}:{port}"

    def webhook_url(self, secret: str = "T0000/B0000/XXXXXXXXXXXXXXXX") -> str:
        return f"{self.base}/services/{secret}"

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"


def fake_bot_token(name: str) -> str:
    """A made-up bot token, assembled at run time so that no literal in the repo looks like a real one."""
    return "-".join(("xoxb", name))
