"""Reporting options from the environment (documented in docs/reporting.md)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.reporting.domain.targets import TargetOptions


class ReportingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    count_airport_zone: bool = Field(
        default=True,
        validation_alias="REPORTING_COUNT_AIRPORT_ZONE",
        description="Whether 航空港区 counts among the 10 区（开发区） of target 1 (domain.md)",
    )

    max_staleness_seconds: float = Field(
        default=10.0,
        ge=0,
        validation_alias="REPORT_MAX_STALENESS_SECONDS",
        description="How far behind the facts a report may be served while its newer answer "
        "renders (0: every answer waits until exact); the answer says what it reflects",
    )

    history_idle_seconds: float = Field(
        default=60.0,
        ge=0,
        validation_alias="REPORT_HISTORY_IDLE_SECONDS",
        description="After this long without a past report to fold, the history fold worker "
        "ends and its memory (a whole folded state) goes back to the system; the next one "
        "starts on demand (0: it is kept)",
    )

    warm_ready_seconds: float = Field(
        default=30.0,
        ge=0,
        validation_alias="REPORT_WARM_READY_SECONDS",
        description="A new instance reports ready once its live fold worker holds today's "
        "state (the first report as of today answers without a fold), or after this many "
        "seconds anyway",
    )

    history_hold_seconds: float = Field(
        default=2.0,
        ge=0,
        validation_alias="REPORT_HISTORY_HOLD_SECONDS",
        description="After this long without a past report to fold, the history fold worker "
        "lets its folded state go (a later past day then starts from a kept checkpoint, not "
        "from that state); longer than the gaps between one page's past queries (0: kept "
        "until the worker ends)",
    )

    check_connections: int = Field(
        default=4,
        ge=1,
        validation_alias="REPORT_CHECK_CONNECTIONS",
        description="Connections of the small pool that checks whether a held report answer is "
        "still exact (one statement each, no reset round trip); on top of DB_POOL_MAX",
    )

    coverage_from_versions: bool = Field(
        default=True,
        validation_alias="REPORT_COVERAGE_FROM_VERSIONS",
        description="Answer coverage, targets, bases, trends and the credit lists of past and "
        "by-recording cut-offs from the entity versions in the service, without a fold "
        "(docs/design/maintained-figures.md); only for a generation whose versions of the "
        "kinds read were built (made by a replay of this build, or folded live from the start)",
    )

    # Five minutes: registrations are often recorded late (a third of them in the 1M history),
    # and each re-keep at a million facts costs about 30 s of a core.
    rekeep_seconds: float = Field(
        default=300.0,
        ge=0,
        validation_alias="REPORT_REKEEP_SECONDS",
        description="How often the service looks for kept states (checkpoints) that late facts "
        "made inexact and keeps them again, in one fold in a worker process of its own at a "
        "lower CPU priority: late facts within one period are re-kept once, and after a "
        "re-keep the next look waits three times as long as it took (0: never; the first "
        "answer of a later date then folds from the state kept before the late fact). A look "
        "that finds them exact keeps the half-year figures by each past day's recording "
        "cut-off the same way (0: never kept; such answers fold)",
    )

    def target_options(self) -> TargetOptions:
        return TargetOptions(count_airport_zone=self.count_airport_zone)
