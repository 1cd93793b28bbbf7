"""The control catalog as data: controls, checks, the collectors they rely on, and the scope in force."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from compliance.errors import CatalogError, ScopeError

CATALOG_FILE = Path(__file__).resolve().parent / "controls.yaml"

Framework = Literal["soc2", "iso27001"]
# SOC 2 common criteria (CC7.2) and additional criteria (A1.2), ISO/IEC 27001:2022 Annex A (A.8.16).
ControlId = Annotated[str, StringConstraints(pattern=r"^(CC\d+\.\d+|A\d+\.\d+|A\.\d+\.\d+)$")]
CheckId = Annotated[str, StringConstraints(pattern=r"^[a-z_]+\.[a-z_]+$")]
CollectorName = Annotated[str, StringConstraints(pattern=r"^[a-z_]+\.[a-z_]+$")]
Summary = Annotated[str, StringConstraints(min_length=10, max_length=160)]


class CheckSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    title: Summary
    collectors: tuple[CollectorName, ...] = Field(default=(), description="Collectors whose evidence it reads.")
    pushed: tuple[CollectorName, ...] = Field(
        default=(), description="Evidence kinds a producer appends itself (the canary's `canary.run`), not collected."
    )

    @model_validator(mode="after")
    def _reads_something(self) -> CheckSpec:
        if not self.collectors and not self.pushed:
            raise ValueError("a check reads the evidence of at least one collector or pushed kind")
        return self


class Control(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: ControlId
    framework: Framework
    summary: Summary
    checks: tuple[CheckId, ...] = Field(min_length=1)
    collectors: tuple[CollectorName, ...] = Field(default=(), description="Extra evidence beyond the checks'.")

    @model_validator(mode="after")
    def _id_matches_framework(self) -> Control:
        if (self.framework == "soc2") == self.id.startswith("A."):
            raise ValueError(f"{self.id} does not belong to framework {self.framework}")
        return self


class Catalog(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    checks: dict[CheckId, CheckSpec]
    controls: tuple[Control, ...]

    @model_validator(mode="after")
    def _references_resolve(self) -> Catalog:
        problems: list[str] = []
        seen: set[str] = set()
        for control in self.controls:
            if control.id in seen:
                problems.append(f"{control.id}: listed twice")
            seen.add(control.id)
            problems.extend(f"{control.id}: unknown check {c}" for c in control.checks if c not in self.checks)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def control(self, control_id: str) -> Control:
        for control in self.controls:
            if control.id == control_id:
                return control
        raise ScopeError(f"unknown control {control_id!r}; known: {', '.join(c.id for c in self.controls)}")

    def in_scope(self, scope: tuple[str, ...]) -> tuple[Control, ...]:
        """The controls a team committed to (all of them when the scope is empty), in catalog order."""
        if not scope:
            return self.controls
        unknown = sorted(set(scope) - {c.id for c in self.controls})
        if unknown:
            raise ScopeError(f"scope names unknown control(s) {', '.join(unknown)}; see `vigil compliance catalog`")
        wanted = set(scope)
        return tuple(c for c in self.controls if c.id in wanted)

    def collectors_for(self, controls: tuple[Control, ...]) -> tuple[str, ...]:
        names: set[str] = set()
        for control in controls:
            names.update(control.collectors)
            for check in control.checks:
                names.update(self.checks[check].collectors)
        return tuple(sorted(names))

    def controls_for_collector(self, collector: str) -> tuple[str, ...]:
        """The controls citing a collector's (or a pushed kind's) evidence: the `control_ids` of its items."""
        return tuple(
            c.id
            for c in self.controls
            if collector in c.collectors
            or any(collector in self.checks[k].collectors or collector in self.checks[k].pushed for k in c.checks)
        )

    def controls_for_check(self, check_id: str) -> tuple[str, ...]:
        return tuple(c.id for c in self.controls if check_id in c.checks)


def parse_catalog(text: str, source: str = "catalog") -> Catalog:
    try:
        data = yaml.safe_load(text)
        return Catalog.model_validate(data)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{source}: not valid YAML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CatalogError(f"{source}: {where}: {first['msg']}") from None


@cache
def load_catalog(path: Path = CATALOG_FILE) -> Catalog:
    return parse_catalog(path.read_text(encoding="utf-8"), str(path.name))
