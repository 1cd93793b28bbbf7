"""Settings of the detections package (built by `vigil`, never read from the environment here)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from siem import IndexLayout

BUNDLED_RULES = Path(__file__).resolve().parent / "rules"


class DetectionsSettings(BaseModel):
    """How rules are found, limited, scheduled and where alerts are stored."""

    model_config = ConfigDict(extra="forbid")

    namespace: str = Field(
        default="vigil",
        pattern=r"^[a-z0-9][a-z0-9_-]*$",
        description="Names the alerts and runs indices and the Redis keys of detections. From VIGIL_NAMESPACE.",
    )
    rule_paths: list[Path] = Field(
        default_factory=list, description="Extra folders or files of Sigma rules, read after the bundled ones."
    )
    include_bundled: bool = Field(default=True, description="Load the rules shipped in detections/rules/.")
    max_rule_bytes: int = Field(default=256 * 1024, ge=1024, description="A larger rule file is rejected.")
    max_yaml_nodes: int = Field(default=20_000, ge=100, description="YAML nodes allowed per rule file.")
    max_yaml_depth: int = Field(default=32, ge=4, description="YAML nesting allowed per rule file.")
    max_regex_length: int = Field(default=1000, ge=10, description="Longest `|re` value accepted.")
    max_regex_repeat: int = Field(default=1000, ge=1, description="Largest `{n,m}` bound accepted in `|re`.")
    interval_seconds: int = Field(default=60, ge=1, description="Default run interval of a rule.")
    ingest_delay_seconds: int = Field(
        default=5,
        ge=0,
        description="Windows end this long before now: indexed events become searchable after a refresh (1 s).",
    )
    tick_seconds: float = Field(
        default=1.0, gt=0, description="How often Celery beat starts a cycle; each rule runs when its interval is due."
    )
    initial_lookback_seconds: int = Field(default=3600, ge=1, description="First window of a rule never run before.")
    max_window_seconds: int = Field(default=3600, ge=1, description="Longest window per run when catching up.")
    max_catch_up_windows: int = Field(default=24, ge=1, description="Windows a rule may run in one cycle.")
    samples_per_alert: int = Field(
        default=20, ge=1, le=100, description="Representative sample events kept on an alert (facts are exact)."
    )
    group_page_size: int = Field(
        default=1000, ge=1, le=10_000, description="Groups per composite page; pages continue until the last group."
    )
    storm_groups: int = Field(
        default=50_000,
        ge=1,
        description="More groups than this in one run of one rule raise one 'alert storm' alert instead.",
    )
    suppress_seconds: int = Field(default=3600, ge=1, description="Repeat matches in this span update one alert.")
    histogram_seconds: int = Field(default=10, ge=1, description="Bucket size of correlation sliding windows.")
    absence_minutes: int = Field(default=15, ge=1, description="A source silent this long raises an absence alert.")
    absence_lookback_hours: int = Field(default=168, ge=1, description="How far back a source counts as 'was sending'.")
    new_terms_history_days: int = Field(default=30, ge=1, description="History a new-terms rule compares against.")
    search_max_window_days: int = Field(default=31, ge=1, le=3660, description="Longest time range of one search.")
    search_max_page: int = Field(default=500, ge=1, le=10_000, description="Most events one search page returns.")
    search_max_fields: int = Field(default=40, ge=1, le=200, description="Most columns one search may ask for.")
    search_max_query_chars: int = Field(default=4000, ge=10, le=100_000, description="Longest search query.")
    search_timeout_seconds: float = Field(default=10.0, gt=0, le=300, description="A slower search is refused.")
    search_max_export_rows: int = Field(
        default=100_000, ge=1, description="An export of more events is refused (narrow the query or the range)."
    )
    exceptions_refresh_seconds: float = Field(
        default=10.0, ge=0, description="How often a process re-reads the analysts' exceptions (and expiries)."
    )
    max_exceptions: int = Field(default=1000, ge=1, description="Exceptions in force at once; more are refused.")
    hunt_window_seconds: int = Field(default=3600, ge=60, description="Width of one retro-hunt window (@timestamp).")
    hunt_max_span_days: int = Field(default=400, ge=1, description="Longest span one retro-hunt may cover.")
    hunt_groups_listed: int = Field(
        default=100, ge=1, description="Groups listed per rule in a stored dry-run job; the rest are counted."
    )

    def index(self, name: str) -> str:
        return f"{self.namespace}-{name}"

    @property
    def alerts_index(self) -> str:
        return self.index("alerts")

    @property
    def runs_index(self) -> str:
        return self.index("detections-runs")

    @property
    def audit_index(self) -> str:
        return self.index("detections-audit")

    @property
    def exceptions_index(self) -> str:
        return self.index("detections-exceptions")

    @property
    def hunts_index(self) -> str:
        return self.index("detections-hunts")

    @property
    def logs(self) -> IndexLayout:
        """siem's names for the logs detections reads: asked of siem, never rebuilt here."""
        return IndexLayout.of(self.namespace)

    def key(self, name: str) -> str:
        return f"{self.namespace}:detections:{name}"
