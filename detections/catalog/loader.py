"""The one rule loader: files -> pySigma rules -> validated, converted, compiled rules plus typed findings.

A bad rule never stops the others: every problem is a finding and the rule is left out.
"""

from __future__ import annotations

import hashlib
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationConditionOperator, SigmaCorrelationRule
from sigma.exceptions import SigmaError
from sigma.filters import SigmaFilter
from sigma.rule import SigmaRule
from sigma.validation import SigmaValidator
from sigma.validators.core import validators

from detections.catalog.compiled import (
    DEFAULT_GROUP_BY,
    CompiledRule,
    Correlation,
    Part,
    RuleExtension,
    Suppression,
)
from detections.catalog.files import rule_files
from detections.catalog.parse import Parsed, ParsedRule, parse_file
from detections.conversion.ecs import caseless, dataset_for, map_field
from detections.conversion.lucene import backend, to_lucene
from detections.errors import ConversionError
from detections.models import FilterInfo, Finding, Level, RuleInfo, RuleKind
from detections.settings import BUNDLED_RULES, DetectionsSettings
from detections.tuning.filters import TuningFilter, applies, filtered, names

#: Validators that only judge SigmaHQ's repository conventions, not whether a rule works here, and the two
#: that download MITRE ATT&CK / D3FEND data at run time (a detection host must not depend on the internet).
_SKIPPED_VALIDATORS = {"filename_length", "duplicate_filename", "custom_attributes", "attacktag", "d3_fendtag"}


@dataclass
class RuleSet:
    rules: dict[str, CompiledRule] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    #: pristine parsed rules and file filters, the findings of reading them, and the validator warnings per
    #: rule: what `recompile` starts from when the analysts' exceptions change
    sources: list[Parsed] = field(default_factory=list)
    read_findings: list[Finding] = field(default_factory=list)
    warnings: dict[str, list[str]] = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


def rule_key(rule: ParsedRule) -> str:
    if rule.id:
        return str(rule.id)
    if rule.name:
        return rule.name
    digest = hashlib.sha256(f"{rule.source}:{rule.title}".encode()).hexdigest()
    return digest[:32]


def _source(rule: ParsedRule) -> str:
    return str(rule.source.path) if rule.source else "<memory>"


def _level(rule: ParsedRule) -> Level:
    return Level(rule.level.name.lower()) if rule.level else Level.MEDIUM


def _extension(rule: ParsedRule) -> RuleExtension:
    raw = rule.custom_attributes.get("vigil", {})
    return RuleExtension.model_validate(raw if raw is not None else {})


def _ecs(field_name: str, dataset: str) -> str:
    try:
        return caseless(map_field(field_name, dataset))
    except KeyError:
        raise ConversionError(f"field '{field_name}' has no ECS mapping in the {dataset} dataset") from None


def _warnings(rules: list[ParsedRule]) -> dict[str, list[str]]:
    validator = SigmaValidator([v for k, v in validators.items() if k not in _SKIPPED_VALIDATORS])
    out: dict[str, list[str]] = {}
    for rule in rules:
        try:
            issues = validator.validate_rule(rule)  # type: ignore[arg-type]
        except (SigmaError, ValueError, TypeError, AttributeError) as exc:
            out.setdefault(rule_key(rule), []).append(f"validator failed: {exc}")
            continue
        for issue in issues:
            out.setdefault(rule_key(rule), []).append(f"{type(issue).__name__}: {issue.description}")
    return out


class _Compiler:
    def __init__(self, settings: DetectionsSettings, referenced: set[str]) -> None:
        self.settings = settings
        self.referenced = referenced
        self.lucene = backend()

    def info(self, rule: ParsedRule, dataset: str, kind: RuleKind, queries: list[str], warnings: list[str]) -> RuleInfo:
        ext = _extension(rule)
        return RuleInfo(
            id=rule_key(rule),
            name=rule.name,
            title=rule.title,
            level=_level(rule),
            tags=[str(t) for t in rule.tags],
            dataset=dataset,
            kind=kind,
            source=_source(rule),
            description=rule.description,
            queries=queries,
            standalone=rule_key(rule) not in self.referenced and (rule.name or "") not in self.referenced,
            interval_seconds=ext.interval or self.settings.interval_seconds,
            warnings=warnings,
        )

    def simple(self, rule: SigmaRule, warnings: list[str], tuning: list[TuningFilter]) -> CompiledRule:
        dataset = dataset_for(rule.logsource)
        if dataset is None:
            raise ConversionError(f"log source {rule.logsource.category or rule.logsource.product} is not collected")
        ext = _extension(rule)
        group_by = tuple(_ecs(f, dataset) for f in ext.group_by) or DEFAULT_GROUP_BY[dataset]
        new_terms = tuple(_ecs(f, dataset) for f in ext.new_terms)
        kind: RuleKind = "new_terms" if new_terms else "simple"
        base = to_lucene(deepcopy(rule), self.lucene)
        query, suppressions = base, []
        if tuning:
            query = to_lucene(filtered(rule, tuning), self.lucene)
            for one in tuning:
                # (rule) AND NOT (rule and this filter): exactly the events this filter alone removes
                alone = to_lucene(filtered(rule, [one]), self.lucene)
                suppressions.append(Suppression(one.id, f"({base}) AND NOT ({alone})", one.since))
        info = self.info(rule, dataset, kind, [query], warnings)
        return CompiledRule(
            info=info.model_copy(update={"filters": [_filter_info(t) for t in tuning]}),
            query=query,
            datasets=(dataset,),
            group_by=group_by,
            suppress_seconds=ext.suppress or self.settings.suppress_seconds,
            new_terms=new_terms,
            suppressions=tuple(suppressions),
        )

    def correlation(
        self, rule: SigmaCorrelationRule, warnings: list[str], compiled: dict[str, CompiledRule]
    ) -> CompiledRule:
        parts: list[Part] = []
        for ref in rule.rules or []:
            base = ref.rule
            if not isinstance(base, SigmaRule):
                raise ConversionError("correlations of correlations are not supported")
            done = compiled.get(rule_key(base))
            if done is None or done.query is None:
                raise ConversionError(f"referenced rule '{ref.reference}' did not load")
            parts.append(Part(done.id, ref.reference, done.datasets[0], done.query))
        condition = rule.condition
        op = getattr(condition, "op", None)
        if not isinstance(op, SigmaCorrelationConditionOperator):
            raise ConversionError("only simple correlation conditions (gte, gt, lte, lt, eq, neq) are supported")
        dataset = parts[0].dataset
        group_by = tuple(_ecs(f, dataset) for f in (rule.group_by or []))
        fieldref = getattr(condition, "fieldref", None)
        value_field = _ecs(fieldref, dataset) if isinstance(fieldref, str) else None
        if str(rule.type) == "value_count" and value_field is None:
            raise ConversionError("a value_count correlation needs condition.field")
        if str(rule.type) not in {"event_count", "value_count", "temporal"}:
            raise ConversionError(f"correlation type {rule.type!s} is not supported")
        ext = _extension(rule)
        if ext.fallback_group_by and (str(rule.type) != "temporal" or not ext.fallback_timespan):
            raise ConversionError("vigil.fallback_group_by needs a temporal correlation and vigil.fallback_timespan")
        correlation = Correlation(
            type=str(rule.type),
            timespan=rule.timespan.seconds,
            group_by=group_by,
            op=op.name.lower(),
            count=int(getattr(condition, "count", 1)),
            value_field=value_field,
            parts=tuple(parts),
            fallback_group_by=tuple(_ecs(f, dataset) for f in ext.fallback_group_by),
            fallback_timespan=ext.fallback_timespan or 0,
        )
        datasets = tuple(dict.fromkeys(p.dataset for p in parts))
        return CompiledRule(
            info=self.info(rule, "+".join(datasets), "correlation", [p.query for p in parts], warnings),
            query=None,
            datasets=datasets,
            group_by=group_by,
            suppress_seconds=ext.suppress or self.settings.suppress_seconds,
            correlation=correlation,
        )


def _filter_info(tuning: TuningFilter) -> FilterInfo:
    return FilterInfo(
        id=tuning.id,
        title=tuning.title,
        kind="exception" if tuning.kind == "exception" else "file",
        source=tuning.source,
        author=tuning.author,
        reason=tuning.reason,
        expires=tuning.expires,
    )


def _roots(settings: DetectionsSettings, extra: list[Path] | None) -> list[Path]:
    roots = [BUNDLED_RULES] if settings.include_bundled else []
    return roots + list(settings.rule_paths) + list(extra or [])


def load_rules(settings: DetectionsSettings, extra_paths: list[Path] | None = None) -> RuleSet:
    """Load, validate and compile every rule; never raises for a bad rule."""
    result = RuleSet()
    parsed: list[Parsed] = []
    for path in rule_files(_roots(settings, extra_paths), result.findings):
        parsed.extend(parse_file(path, settings, result.findings))
    result.sources = deepcopy(parsed)
    result.read_findings = list(result.findings)
    return compile_rules(parsed, settings, result)


def recompile(ruleset: RuleSet, settings: DetectionsSettings, extra: list[TuningFilter]) -> RuleSet:
    """The rule set again from its pristine sources, with `extra` filters (analysts' exceptions) added."""
    fresh = RuleSet(
        findings=list(ruleset.read_findings),
        sources=ruleset.sources,
        read_findings=ruleset.read_findings,
        warnings=ruleset.warnings,
    )
    return compile_rules(deepcopy(ruleset.sources), settings, fresh, extra, warnings=ruleset.warnings)


def _reference_problem(rule: SigmaCorrelationRule, collection: SigmaCollection) -> str | None:
    try:
        rule.resolve_rule_references(collection)
    except SigmaError as exc:
        return str(exc)
    return None


def _file_filters(parsed: list[Parsed]) -> list[TuningFilter]:
    return [
        TuningFilter(p, str(p.source.path) if p.source else "<memory>", author=p.author, reason=p.description or None)
        for p in parsed
        if isinstance(p, SigmaFilter)
    ]


def _unused_filters(tuning: list[TuningFilter], rules: list[ParsedRule]) -> list[Finding]:
    """A filter that tunes no loaded rule is a warning: a typo in `rules:` must not look like a working filter."""
    detection = [r for r in rules if isinstance(r, SigmaRule)]
    return [
        Finding(
            source=t.source,
            rule_id=t.id,
            severity="warning",
            code="filter_unused",
            message=f"filter '{t.title}' applies to no loaded rule (rules: {', '.join(names(t))})",
        )
        for t in tuning
        if t.kind == "file" and not any(applies(t, r) for r in detection)
    ]


def compile_rules(
    parsed: list[Parsed],
    settings: DetectionsSettings,
    result: RuleSet,
    extra: list[TuningFilter] | None = None,
    *,
    warnings: dict[str, list[str]] | None = None,
) -> RuleSet:
    """Compile every rule with the filters that name it; `warnings` reuses a previous validator run."""
    tuning = _file_filters(parsed) + list(extra or [])
    unique: list[ParsedRule] = []
    seen: dict[str, str] = {}
    for rule in parsed:
        if isinstance(rule, SigmaFilter):
            continue
        key = rule_key(rule)
        if key in seen:
            result.findings.append(
                Finding(
                    source=_source(rule),
                    rule_id=key,
                    severity="error",
                    code="duplicate_id",
                    message=f"rule id already loaded from {seen[key]}",
                )
            )
            continue
        seen[key] = _source(rule)
        unique.append(rule)
    collection = SigmaCollection(list[SigmaRule | SigmaCorrelationRule | SigmaFilter](unique), resolve_references=False)
    referenced: set[str] = set()
    for rule in unique:
        if isinstance(rule, SigmaCorrelationRule):
            referenced.update(ref.reference for ref in rule.rules or [])
    if warnings is None:
        warnings = result.warnings = _warnings(unique)
    result.findings.extend(_unused_filters(tuning, unique))
    for warning_rule, messages in warnings.items():
        for message in messages:
            result.findings.append(
                Finding(
                    source=seen[warning_rule],
                    rule_id=warning_rule,
                    severity="warning",
                    code="sigma_validation",
                    message=message,
                )
            )
    compiler = _Compiler(settings, referenced)
    # Detection rules first: resolving correlation references disables their standalone output in pySigma.
    ordered = [r for r in unique if isinstance(r, SigmaRule)] + [
        r for r in unique if isinstance(r, SigmaCorrelationRule)
    ]
    for rule in ordered:
        key = rule_key(rule)
        try:
            if isinstance(rule, SigmaCorrelationRule):
                problem = _reference_problem(rule, collection)
                if problem:
                    raise ConversionError(problem)
                compiled = compiler.correlation(rule, warnings.get(key, []), result.rules)
            else:
                compiled = compiler.simple(rule, warnings.get(key, []), [t for t in tuning if applies(t, rule)])
        except (ConversionError, ValidationError) as exc:
            message = str(exc).splitlines()[0] if isinstance(exc, ConversionError) else _pydantic_line(exc)
            result.findings.append(
                Finding(source=_source(rule), rule_id=key, severity="error", code="conversion", message=message)
            )
            continue
        result.rules[key] = compiled
    return result


def _pydantic_line(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"vigil.{where}: {first['msg']}"
