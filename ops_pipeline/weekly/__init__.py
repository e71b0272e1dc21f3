"""The weekly operations report (运营数据周报): built from the marts, delivered to Slack once per
week (docs/weekly_report.md)."""
