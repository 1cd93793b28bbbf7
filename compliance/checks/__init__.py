"""Checks: pure functions of evidence, registered by the ids the catalog uses."""

from compliance.checks import availability, identity, monitoring, operation
from compliance.checks.identity import weak_algorithm
from compliance.checks.operation import loosened
from compliance.checks.registry import CHECKS, CheckContext, CheckFunction, get_check, register, run_check

__all__ = [
    "CHECKS",
    "CheckContext",
    "CheckFunction",
    "availability",
    "get_check",
    "identity",
    "loosened",
    "monitoring",
    "operation",
    "register",
    "run_check",
    "weak_algorithm",
]
