"""Reading one rule file into pySigma objects, collecting every problem as a typed finding."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.filters import SigmaFilter
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaRule
from sigma.types import SigmaRegularExpression

from detections.catalog.regex import UnsafeRegexError, check_regex
from detections.catalog.yamlsafe import UnsafeYamlError, load_documents
from detections.models import Finding
from detections.settings import DetectionsSettings

ParsedRule = SigmaRule | SigmaCorrelationRule
#: What one file yields: rules and Sigma meta-filters (`filter:` documents that name the rules they tune).
Parsed = ParsedRule | SigmaFilter


def _error(source: str, code: str, message: str, rule_id: str | None = None) -> Finding:
    return Finding(source=source, rule_id=rule_id, severity="error", code=code, message=message.splitlines()[0][:500])


def _items(detection: SigmaDetection) -> Iterator[SigmaDetectionItem]:
    for item in detection.detection_items:
        if isinstance(item, SigmaDetection):
            yield from _items(item)
        else:
            yield item


def _regex_problem(rule: SigmaRule, settings: DetectionsSettings) -> str | None:
    for detection in rule.detection.detections.values():
        for item in _items(detection):
            for value in item.value:
                if isinstance(value, SigmaRegularExpression):
                    try:
                        check_regex(
                            value.regexp.to_plain(),
                            max_length=settings.max_regex_length,
                            max_repeat=settings.max_regex_repeat,
                        )
                    except UnsafeRegexError as exc:
                        return f"field '{item.field}': {exc}"
    return None


def read_text(path: Path, settings: DetectionsSettings, findings: list[Finding]) -> str | None:
    source = str(path)
    try:
        size = path.stat().st_size
        if size > settings.max_rule_bytes:
            findings.append(
                _error(source, "too_large", f"{size} bytes, more than the {settings.max_rule_bytes} allowed")
            )
            return None
        with path.open("rb") as handle:  # the file may grow between stat and read
            data = handle.read(settings.max_rule_bytes + 1)
    except OSError as exc:
        findings.append(_error(source, "unreadable", exc.strerror or str(exc)))
        return None
    if len(data) > settings.max_rule_bytes:
        findings.append(_error(source, "too_large", f"more than the {settings.max_rule_bytes} bytes allowed"))
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        findings.append(_error(source, "not_utf8", f"not UTF-8 at byte {exc.start}"))
        return None


def parse_text(text: str, source: str, settings: DetectionsSettings, findings: list[Finding]) -> list[Parsed]:
    """The valid rules and filters of one file; each invalid one (or the whole file) becomes an error finding.

    Filters are collected, not applied here: the loader applies every filter to the rules it names, whatever
    file or folder they came from.
    """
    try:
        documents: list[Any] = load_documents(
            text, max_nodes=settings.max_yaml_nodes, max_depth=settings.max_yaml_depth
        )
    except UnsafeYamlError as exc:
        findings.append(_error(source, "unsafe_yaml", str(exc)))
        return []
    except yaml.YAMLError as exc:
        findings.append(_error(source, "invalid_yaml", str(exc).replace("\n", " ")))
        return []
    except RecursionError:
        findings.append(_error(source, "unsafe_yaml", "YAML nested too deeply"))
        return []
    documents = [d for d in documents if d is not None]
    if not documents or not all(isinstance(d, dict) for d in documents):
        findings.append(_error(source, "not_a_rule", "every YAML document of a rule file must be a mapping"))
        return []
    try:
        collection = SigmaCollection.from_dicts(
            documents,
            collect_errors=True,
            source=SigmaRuleLocation(Path(source)),
            resolve_references=False,
            collect_filters=True,
        )
    except (SigmaError, ValueError, TypeError, AttributeError, KeyError) as exc:
        findings.append(_error(source, "invalid_sigma", f"{type(exc).__name__}: {exc}"))
        return []
    for error in collection.errors:
        if not any(error in rule.errors for rule in [*collection.rules, *collection.filters]):
            findings.append(_error(source, "invalid_sigma", str(error)))
    rules: list[Parsed] = []
    for sigma_filter in collection.filters:
        if sigma_filter.errors:
            for error in sigma_filter.errors:
                findings.append(_error(source, "invalid_sigma", str(error), str(sigma_filter.id or "") or None))
            continue
        rules.append(sigma_filter)
    for rule in collection.rules:
        rule_id = str(rule.id) if rule.id else None
        if rule.errors:
            for error in rule.errors:
                findings.append(_error(source, "invalid_sigma", str(error), rule_id))
            continue
        if isinstance(rule, SigmaRule):
            problem = _regex_problem(rule, settings)
            if problem:
                findings.append(_error(source, "unsafe_regex", problem, rule_id))
                continue
        if isinstance(rule, SigmaRule | SigmaCorrelationRule):
            rules.append(rule)
    return rules


def parse_file(path: Path, settings: DetectionsSettings, findings: list[Finding]) -> list[Parsed]:
    text = read_text(path, settings, findings)
    return [] if text is None else parse_text(text, str(path), settings, findings)
