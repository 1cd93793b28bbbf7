"""The one place that picks the blob stores the settings name."""

from __future__ import annotations

from elasticsearch import Elasticsearch

from evidence.errors import StoreError
from evidence.settings import EvidenceSettings
from evidence.store.elasticsearch import ElasticsearchBlobStore
from evidence.store.protocol import BlobStore
from evidence.store.s3 import S3BlobStore


def open_stores(es: Elasticsearch, settings: EvidenceSettings) -> tuple[BlobStore, BlobStore]:
    """The content store and the bundle store, both in the backend the settings name."""
    if settings.store == "s3":
        if settings.s3 is None:
            raise StoreError("store = s3 needs VIGIL_EVIDENCE__S3__BUCKET (and its endpoint and credentials)")
        return (
            S3BlobStore(settings.s3, "content/", settings.max_item_bytes),
            S3BlobStore(settings.s3, "bundles/", settings.max_bundle_bytes),
        )
    return (
        ElasticsearchBlobStore(es, settings.content_index, settings.chunk_bytes, settings.max_item_bytes),
        ElasticsearchBlobStore(es, settings.bundle_file_index, settings.chunk_bytes, settings.max_bundle_bytes),
    )
