"""Validation of our OSCAL output with compliance-trestle's OSCAL models (a test-only dependency)."""

from __future__ import annotations

from typing import Any

from trestle.oscal.assessment_results import AssessmentResults


def validate_assessment_results(document: dict[str, Any]) -> AssessmentResults:
    return AssessmentResults.model_validate(document["assessment-results"])
