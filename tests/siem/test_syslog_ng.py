"""syslog-ng (Debian 12's 3.38, unpacked under `$VIGIL_HOME/tools` and run as our own process) ships a real nginx
access log and an exception log through both of its doors into Vigil: `syslog()` (RFC 5424, octet-counted) into
`vigil ingest syslog`, and `elasticsearch-http()` into the bulk endpoint; every line indexed once per door."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from siem import Pipeline
from tests.siem.conftest import served
from tests.siem.shippers import exception_log, nginx_access_log, slow_worker, syslog_ng, wait_until
from tests.siem.test_bulkapi import vigil_app
from tests.siem.test_shipper_faults import distinct, per_client
from tests.siem.test_syslog import receiving

pytestmark = pytest.mark.integration

# The documented snippet (docs/siem.md, "syslog-ng"), with the test's files, ports and token.
SYSLOG_NG = """
@include "{{scl}}/elasticsearch/elastic-http.conf"
source s_access {{
  file("{access}" flags(no-parse) program-override("nginx") default-facility(local7) default-priority(info));
}};
source s_exceptions {{
  file("{exceptions}" flags(no-parse) program-override("billing") default-facility(local0) default-priority(err));
}};
destination d_vigil_syslog {{ syslog("127.0.0.1" transport("tcp") port({syslog_port})); }};
destination d_vigil_access {{
  elasticsearch-http(url("http://127.0.0.1:{http_port}/_bulk") index("access") type("")
                     user("shipper") password("{token}") template("$(format-json message=$MESSAGE)")
                     persist-name("vigil-access"));
}};
destination d_vigil_exceptions {{
  elasticsearch-http(url("http://127.0.0.1:{http_port}/_bulk") index("exception") type("")
                     user("shipper") password("{token}") template("$(format-json message=$MESSAGE)")
                     persist-name("vigil-exceptions"));
}};
log {{ source(s_access); destination(d_vigil_syslog); destination(d_vigil_access); }};
log {{ source(s_exceptions); destination(d_vigil_syslog); destination(d_vigil_exceptions); }};
"""


def test_syslog_ng_ships_nginx_and_exception_logs_through_both_doors_once(
    pipeline: Pipeline, edge_auth: Any, es: Elasticsearch, tmp_path: Path
) -> None:
    lines, failures = 120, 40
    token = edge_auth.token(["ingest:write"], client_id="syslog-ng")
    exceptions = exception_log(tmp_path / "exceptions.log", failures)
    with (
        nginx_access_log(tmp_path / "nginx", lines) as access,
        served(vigil_app(edge_auth, pipeline)) as url,
        receiving(pipeline) as syslog,
    ):
        config = SYSLOG_NG.format(
            access=access, exceptions=exceptions, syslog_port=syslog.port, http_port=url.rsplit(":", 1)[1], token=token
        )
        total = 2 * (lines + failures)
        with syslog_ng(tmp_path / "syslog-ng", config):
            wait_until(lambda: pipeline.stream.stats().get("received", 0) >= total, 60, "syslog-ng's lines")
    assert syslog.counters is not None
    assert (syslog.counters.received, syslog.counters.dropped) == (lines + failures, 0)
    pipeline.drain()
    assert pipeline.stream.stats()["received"] == total
    assert per_client(es, pipeline, "access") == {"syslog-ng": lines, "syslog": lines}
    assert per_client(es, pipeline, "exception") == {"syslog-ng": failures, "syslog": failures}
    assert distinct(es, pipeline, "access", "url.path") == lines
    assert distinct(es, pipeline, "exception", "http.request.id") == failures
    one = es.search(index=pipeline.layout.alias, query={"term": {"http.request.id": "req-7"}})["hits"]["hits"]
    by_door = {h["_source"]["vigil"]["ingest"]["client"]: h["_source"] for h in one}
    assert by_door["syslog"]["log"]["syslog"]["facility"]["name"] == "local0"
    assert by_door["syslog"]["process"]["name"] == "billing"


# syslog-ng reads only the HTTP status of a bulk answer: `refusal=request` makes a full queue refuse the request as
# a whole (429), which it retries after `time-reopen`, keeping the batch.
SYSLOG_NG_FULL_QUEUE = """
@include "{{scl}}/elasticsearch/elastic-http.conf"
source s_access {{ file("{access}" flags(no-parse) program-override("nginx")); }};
destination d_vigil_access {{
  elasticsearch-http(url("http://127.0.0.1:{http_port}/_bulk?refusal=request") index("access") type("")
                     user("shipper") password("{token}") template("$(format-json message=$MESSAGE)")
                     time-reopen(1));
}};
log {{ source(s_access); destination(d_vigil_access); }};
"""


def test_syslog_ng_keeps_what_a_full_queue_refused_as_a_whole_and_ships_it_once(
    make_pipeline: Callable[..., Pipeline], edge_auth: Any, es: Elasticsearch, tmp_path: Path
) -> None:
    lines = 600
    pipeline = make_pipeline(high_water_mark=300, chunk_records=20, batch_max_events=40)
    token = edge_auth.token(["ingest:write"], client_id="syslog-ng")
    with nginx_access_log(tmp_path / "nginx", lines) as access, served(vigil_app(edge_auth, pipeline)) as url:
        config = SYSLOG_NG_FULL_QUEUE.format(access=access, http_port=url.rsplit(":", 1)[1], token=token)
        with slow_worker(pipeline), syslog_ng(tmp_path / "syslog-ng", config):
            wait_until(lambda: pipeline.stream.stats().get("received", 0) >= lines, 120, "every line queued")
    assert pipeline.stream.stats().get("rejected", 0) > 0  # the queue really refused, and syslog-ng re-sent
    pipeline.drain()
    assert pipeline.stream.stats()["received"] == lines
    assert per_client(es, pipeline, "access") == {"syslog-ng": lines}
    assert distinct(es, pipeline, "access", "url.path") == lines
