"""The signed transparency report of one client over one period (docs/trust.md).

`Transparency` builds it (control status, SLA attainment from `compliance.sla`, the alerts that touched the
client, evidence digests) and hands it out as canonical JSON, HTML, PDF or a signed package;
`create_router` serves it under `compliance:read`.
"""

from compliance.transparency.builder import AlertSource, build_report, scoped_evidence
from compliance.transparency.http import create_router, report_response
from compliance.transparency.models import ReportFormat, ReportRequest, TransparencyReport
from compliance.transparency.render import report_html, report_json, report_pdf, report_summary
from compliance.transparency.service import MEDIA_TYPES, PackageSigner, ReportDocument, Transparency

__all__ = [
    "MEDIA_TYPES",
    "AlertSource",
    "PackageSigner",
    "ReportDocument",
    "ReportFormat",
    "ReportRequest",
    "Transparency",
    "TransparencyReport",
    "build_report",
    "create_router",
    "report_html",
    "report_json",
    "report_pdf",
    "report_response",
    "report_summary",
    "scoped_evidence",
]
