"""YAML reading that a hostile rule file cannot turn into a memory or CPU bomb.

Sigma rules never need anchors or aliases, so they are refused outright (that is what a "billion laughs"
bomb is made of); node count and nesting depth are bounded as well, and the file size is checked before parsing.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import Node


class UnsafeYamlError(ValueError):
    """The YAML uses a feature or a size that rule files may not use."""


class _BoundedLoader(yaml.SafeLoader):
    max_nodes = 20_000
    max_depth = 32

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._nodes = 0
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise UnsafeYamlError(f"YAML aliases are not allowed in rules (line {mark.line + 1})")
        self._nodes += 1
        if self._nodes > self.max_nodes:
            raise UnsafeYamlError(f"more than {self.max_nodes} YAML nodes")
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                raise UnsafeYamlError(f"YAML nested deeper than {self.max_depth} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_documents(text: str, *, max_nodes: int, max_depth: int) -> list[Any]:
    """Every YAML document of `text`, or `UnsafeYamlError` / `yaml.YAMLError`."""
    loader_cls = type("RuleLoader", (_BoundedLoader,), {"max_nodes": max_nodes, "max_depth": max_depth})
    loader = loader_cls(text)
    try:
        documents: list[Any] = []
        while loader.check_data():
            documents.append(loader.get_data())
        return documents
    finally:
        loader.dispose()
