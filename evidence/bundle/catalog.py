"""The catalog of built bundles in Elasticsearch: what auditors can list and download."""

from __future__ import annotations

from datetime import datetime

from elasticsearch import Elasticsearch, NotFoundError

from evidence.canonical import rfc3339
from evidence.models import BundleInfo

MAX_LISTED = 1000


class BundleCatalog:
    def __init__(self, es: Elasticsearch, index: str) -> None:
        self.es = es
        self.index = index

    def add(self, info: BundleInfo) -> None:
        doc = info.model_dump(mode="json")
        doc["period_from"], doc["period_to"] = rfc3339(info.period_from), rfc3339(info.period_to)
        doc["built_at"] = rfc3339(info.built_at)
        self.es.index(index=self.index, id=info.name, document=doc, refresh=True)

    def get(self, name: str) -> BundleInfo | None:
        try:
            found = self.es.get(index=self.index, id=name)
        except NotFoundError:
            return None
        return BundleInfo.model_validate(found["_source"])

    def within(self, start: datetime | None, end: datetime | None) -> list[BundleInfo]:
        """Bundles whose whole period lies inside [start, end] (no bound when None), newest period first."""
        filters: list[dict[str, object]] = []
        if start is not None:
            filters.append({"range": {"period_from": {"gte": rfc3339(start)}}})
        if end is not None:
            filters.append({"range": {"period_to": {"lte": rfc3339(end)}}})
        hits = self.es.search(
            index=self.index,
            query={"bool": {"filter": filters}},
            sort=[{"period_from": "desc"}, {"name": "asc"}],
            size=MAX_LISTED,
        )["hits"]["hits"]
        return [BundleInfo.model_validate(hit["_source"]) for hit in hits]
