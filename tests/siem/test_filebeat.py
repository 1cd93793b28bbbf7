"""Filebeat 7.17 (built from the Go module proxy into `$VIGIL_HOME/tools`) ships a real nginx access log and an
exception log into the bulk endpoint with its stock Elasticsearch output (start-up probes included); every line is
indexed exactly once, also while the queue answers 429 (Filebeat's own retry recovers)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from siem import Pipeline
from tests.siem.conftest import served
from tests.siem.shippers import exception_log, filebeat, nginx_access_log, slow_worker, wait_until
from tests.siem.test_bulkapi import vigil_app
from tests.siem.test_shipper_faults import distinct, per_client

pytestmark = pytest.mark.integration

# The documented snippet (docs/siem.md, "Filebeat"), with the test's files, port and token.
FILEBEAT = """
filebeat.inputs:
  - type: filestream
    id: nginx-access
    paths: ["{access}"]
    index: access
  - type: filestream
    id: billing-exceptions
    paths: ["{exceptions}"]
    index: exception
output.elasticsearch:
  hosts: ["http://127.0.0.1:{port}"]
  api_key: "filebeat:{token}"
  backoff.init: 0.5s
  backoff.max: 2s
logging.level: warning
"""


def test_filebeat_ships_nginx_and_exception_logs_once_through_429s(
    make_pipeline: Callable[..., Pipeline], edge_auth: Any, es: Elasticsearch, tmp_path: Path
) -> None:
    lines, failures = 600, 120
    pipeline = make_pipeline(high_water_mark=300, chunk_records=20, batch_max_events=40)
    token = edge_auth.token(["ingest:write"], client_id="filebeat")
    exceptions = exception_log(tmp_path / "exceptions.log", failures)
    with nginx_access_log(tmp_path / "nginx", lines) as access, served(vigil_app(edge_auth, pipeline)) as url:
        config = FILEBEAT.format(access=access, exceptions=exceptions, port=url.rsplit(":", 1)[1], token=token)
        with slow_worker(pipeline), filebeat(tmp_path / "filebeat", config):
            wait_until(lambda: pipeline.stream.stats().get("received", 0) >= lines + failures, 90, "every line")
    assert pipeline.stream.stats().get("rejected", 0) > 0  # the queue really refused, and Filebeat re-sent
    pipeline.drain()
    assert pipeline.stream.stats()["received"] == lines + failures
    assert per_client(es, pipeline, "access") == {"filebeat": lines}
    assert per_client(es, pipeline, "exception") == {"filebeat": failures}
    assert distinct(es, pipeline, "access", "url.path") == lines
    assert distinct(es, pipeline, "exception", "http.request.id") == failures
