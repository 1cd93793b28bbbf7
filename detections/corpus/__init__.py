"""Rule corpora: run reports, matching-event generation and self-tests through the real ingest."""
