"""Metrics and structured logs. A leaf package: it imports no app, so every layer may report
through it (the apps hand it plain values; config.metrics serves what it gathered)."""
