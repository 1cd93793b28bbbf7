"""Sigma to Lucene through pysigma-backend-elasticsearch and the Vigil ECS pipeline."""

from __future__ import annotations

from sigma.backends.elasticsearch.elasticsearch_lucene import LuceneBackend
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from detections.conversion.ecs import vigil_ecs_pipeline
from detections.errors import ConversionError


def backend() -> LuceneBackend:
    """A fresh backend: pySigma keeps per-conversion state on it, so one is made per load, never shared."""
    return LuceneBackend(processing_pipeline=vigil_ecs_pipeline())


def to_lucene(rule: SigmaRule, lucene: LuceneBackend) -> str:
    """One Lucene query string for a detection rule (several outputs are OR-ed)."""
    try:
        queries = lucene.convert_rule(rule)
    except SigmaError as exc:
        raise ConversionError(str(exc).split(" (while ", 1)[0]) from None
    except (ValueError, TypeError, KeyError, NotImplementedError) as exc:
        raise ConversionError(f"{type(exc).__name__}: {exc}") from None
    texts = [q for q in queries if isinstance(q, str)]
    if not texts:
        raise ConversionError("the backend produced no query")
    return texts[0] if len(texts) == 1 else " OR ".join(f"({q})" for q in texts)
