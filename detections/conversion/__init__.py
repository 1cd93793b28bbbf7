"""Sigma to Elasticsearch: the Vigil ECS processing pipeline and the Lucene backend."""
