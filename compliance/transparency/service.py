"""The transparency facade: what the CLI (`vigil report transparency`), the API and the console page call.

It validates the request (a known client, a period that is ordered and not longer than `report_max_days`),
builds the report, renders only the form asked for, and signs the package with the evidence bundle key through
evidence's own package writer, so `vigil evidence verify` and the openssl procedure check it like a bundle.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import ValidationError

from compliance.errors import PeriodError
from compliance.models import Period
from compliance.service import Compliance
from compliance.transparency.builder import AlertSource, build_report
from compliance.transparency.models import ReportFormat, ReportRequest, TransparencyReport
from compliance.transparency.render import report_html, report_json, report_pdf
from edgeauth import AuditEvent, AuditSink
from evidence import REPORT_FORMAT, SigningKeyPublic, rfc3339

GENERATOR = "vigil-compliance"
REPORT_FILE = "report.json"
MEDIA_TYPES: dict[str, str] = {
    "zip": "application/zip",
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}


class PackageSigner(Protocol):
    """evidence's archive: signs a small package with the bundle key and publishes that key."""

    def sign_package(self, files: Sequence[tuple[str, bytes]], head: Mapping[str, Any]) -> bytes: ...

    def public_keys(self) -> list[SigningKeyPublic]: ...


@dataclass(frozen=True)
class ReportDocument:
    """One form of a report, ready to hand out."""

    report: TransparencyReport
    form: ReportFormat
    content: bytes
    media_type: str
    filename: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


class Transparency:
    def __init__(
        self,
        compliance: Compliance,
        alerts: AlertSource,
        signer: PackageSigner,
        *,
        version: str = "0.1.0",
        audit: AuditSink | None = None,
    ) -> None:
        self.compliance = compliance
        self.alerts = alerts
        self.signer = signer
        self.version = version
        self._audit = audit

    def request(self, client: str, start: datetime, end: datetime) -> tuple[str, Period]:
        """The client id and period, checked: one line saying what is wrong otherwise."""
        try:
            asked = ReportRequest(client=client, start=start, end=end)
        except ValidationError as exc:
            first = exc.errors(include_input=False)[0]
            raise PeriodError(f"invalid report request ({'.'.join(map(str, first['loc']))}): {first['msg']}") from None
        try:
            start, end = asked.start.astimezone(UTC), asked.end.astimezone(UTC)
        except OverflowError:  # year 1 at a positive offset, year 9999 at a negative one: not a UTC time
            raise PeriodError("the period lies outside the years 1 to 9999 in UTC") from None
        if end <= start:
            raise PeriodError("the period must end after it starts (`to` after `from`)")
        limit = self.compliance.settings.report_max_days
        if end - start > timedelta(days=limit):
            raise PeriodError(f"the period is longer than {limit} days; ask for several reports")
        return asked.client, Period(start=start, end=end)

    def report(self, client: str, start: datetime, end: datetime, *, now: datetime | None = None) -> TransparencyReport:
        client, period = self.request(client, start, end)
        service = self.compliance
        return build_report(
            client,
            period,
            catalog=service.catalog,
            settings=service.settings,
            locker=service.locker,
            alerts=self.alerts,
            clients=service.sources.clients,
            now=now or datetime.now(UTC),
            generator=f"{GENERATOR} {self.version}",
        )

    def document(
        self,
        client: str,
        start: datetime,
        end: datetime,
        form: ReportFormat = "zip",
        *,
        actor: str = "vigil",
        now: datetime | None = None,
    ) -> ReportDocument:
        """The report in one form; the signed package (`zip`) holds the JSON, the HTML and the PDF."""
        report = self.report(client, start, end, now=now)
        content = self._render(report, form)
        stem = f"transparency-{report.client}-{_stamp(report.period.start)}-{_stamp(report.period.end)}"
        document = ReportDocument(
            report=report, form=form, content=content, media_type=MEDIA_TYPES[form], filename=f"{stem}.{form}"
        )
        self._record(document, actor)
        return document

    def _render(self, report: TransparencyReport, form: ReportFormat) -> bytes:
        data = report_json(report)
        if form == "json":
            return data
        kid = next((k.kid for k in self.signer.public_keys() if k.active), None) if form == "zip" else None
        html = report_html(report, kid=kid, json_sha256=hashlib.sha256(data).hexdigest() if kid else None)
        if form == "html":
            return html.encode("utf-8")
        pdf = report_pdf(html)
        if form == "pdf":
            return pdf
        head = {
            "format": REPORT_FORMAT,
            "generator": {"name": GENERATOR, "version": self.version},
            "period": {"from": rfc3339(report.period.start), "to": rfc3339(report.period.end)},
            "report": {"client": report.client, "file": REPORT_FILE},
        }
        files = [(REPORT_FILE, data), ("report.html", html.encode("utf-8")), ("report.pdf", pdf)]
        return self.signer.sign_package(files, head)

    def _record(self, document: ReportDocument, actor: str) -> None:
        """Who had which client's report, and its digest: an auditor may ask what was handed out."""
        if self._audit is None:
            return
        report = document.report
        self._audit.emit(
            [
                AuditEvent(
                    timestamp=datetime.now(UTC),
                    provider="compliance",
                    action="transparency-report-issued",
                    category="file",
                    type="access",
                    actor=actor,
                    target=f"client:{report.client}",
                    after={
                        "form": document.form,
                        "sha256": document.sha256,
                        "from": rfc3339(report.period.start),
                        "to": rfc3339(report.period.end),
                    },
                )
            ]
        )


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
