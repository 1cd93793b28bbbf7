"""The one place that picks the blob stores the settings name.

Another backend (an S3-compatible object store) plugs in here: a class with `put`, `open` and `check`
(`evidence.store.BlobStore`), chosen by a new value of `EvidenceSettings.store`. None is built: no S3-compatible
server installs from the registries this project's machines reach, and an untested backend would be a promise.
"""

from __future__ import annotations

from elasticsearch import Elasticsearch

from evidence.settings import EvidenceSettings
from evidence.store.elasticsearch import ElasticsearchBlobStore
from evidence.store.protocol import BlobStore


def open_stores(es: Elasticsearch, settings: EvidenceSettings) -> tuple[BlobStore, BlobStore]:
    """The content store and the bundle store, both in the backend the settings name."""
    return (
        ElasticsearchBlobStore(es, settings.content_index, settings.chunk_bytes, settings.max_item_bytes),
        ElasticsearchBlobStore(es, settings.bundle_file_index, settings.chunk_bytes, settings.max_bundle_bytes),
    )
