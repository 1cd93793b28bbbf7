"""The shared store of evidence content and built bundles: no replica keeps either on its own disk.

`BlobStore` is the protocol; `ElasticsearchBlobStore` (chunks in a dedicated index) is the one backend, and an
S3-compatible object store would plug in beside it. `open_stores` builds the two stores the settings name.
"""

from evidence.store.backends import open_stores
from evidence.store.elasticsearch import ElasticsearchBlobStore
from evidence.store.protocol import BlobStore
from evidence.store.reader import BlobReader

__all__ = ["BlobReader", "BlobStore", "ElasticsearchBlobStore", "open_stores"]
