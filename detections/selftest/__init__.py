"""Rule self-tests for rule authors, behind `vigil rules test` and `vigil rules check --run`.

For every rule: does it load, convert and run against Elasticsearch (`report.py`), and does a generated event
that satisfies it (`generate.py`, checked by a local Sigma matcher, `match.py`) raise its alert when sent through
the real ingest into a scratch namespace (`selftest.py`, removed afterwards by `scratch.py`)? The test suite runs
the same code over the shared SigmaHQ corpus; this package exists because rule authors run it on their own rules.
"""
