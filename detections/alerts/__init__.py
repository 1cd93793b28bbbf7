"""Alerts: the index, grouping and writes, and triage."""
