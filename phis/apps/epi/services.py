"""Writes of the epi module: generating and keeping the weekly situation reports, and the
audit rows of downloads and exports (aggregates are not personal data; they are logged all
the same, so who took which figures out of the system is on record)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from phis.apps.epi import selectors
from phis.apps.epi.models import ReportTrigger, SituationReport
from phis.apps.epi.params import EpiQuery, iso_week_bounds, parse_epi_query, previous_iso_week
from phis.apps.epi.pdf import render_week_report
from phis.core.audit.services import audit_record
from phis.core.audit.types import AuditEventType
from phis.core.exceptions import ApplicationError, FieldError, ValidationFailed
from phis.core.orgunits.models import Level, OrgUnit


def epi_query_parse(*, user, raw: Mapping) -> tuple[selectors.AreaScope, EpiQuery]:
    """The user's area and the validated parameters; 422 on bad input, 403 when the county
    asked for is outside the area."""
    query = parse_epi_query(raw, today=selectors.today(),
                            known_diseases=set(selectors.diseases()),
                            known_counties=selectors.county_codes())
    scope = selectors.area_scope_for(user=user)
    selectors.scope_check(scope=scope, query=query)
    return scope, query


def analysis_export_record(*, user, table: str, query: EpiQuery, rows: int) -> None:
    audit_record(event=AuditEventType.RECORD_EXPORTED, object_type=f"epi.{table}",
                 purpose="疫情分析导出 epi table export",
                 detail={"table": table, "rows": rows, **query.as_params()})


# --- weekly situation report ---------------------------------------------------------------

def _week_errors(iso_year: int, iso_week: int, today: date) -> list[FieldError]:
    try:
        start, end = iso_week_bounds(iso_year, iso_week)
    except ValueError:
        return [FieldError("iso_week", "invalid_week", "该年没有这一周",
                           "That year has no such ISO week")]
    if end >= today:
        return [FieldError("iso_week", "week_not_over", "只能生成已结束的周的周报",
                           "Reports are made for weeks that are over")]
    if start.year < 2004:
        return [FieldError("iso_year", "too_early", "年份过早", "Year too early")]
    return []


@transaction.atomic
def situation_report_generate(*, scope_code: str, iso_year: int, iso_week: int,
                              by=None, trigger: str = ReportTrigger.MANUAL,
                              now=None) -> SituationReport:
    """Count the week, draw the PDF, store it in the default storage with its SHA-256, and
    keep it as the next revision of that week's report of that scope."""
    now = now or timezone.now()
    errors = _week_errors(iso_year, iso_week, timezone.localdate(now))
    unit = OrgUnit.objects.filter(code=scope_code, level__in=(Level.CITY, Level.COUNTY)).first()
    if unit is None:
        errors.append(FieldError("scope_code", "unknown_scope", "报告范围应为本市或一个县区",
                                 "The scope is the city or one county"))
    if errors:
        raise ValidationFailed(errors)
    if by is not None and scope_code not in selectors.report_scopes_for(user=by):
        raise ApplicationError(
            code="out_of_scope", status=403, message="该范围不在您的管辖范围内",
            message_en="That scope is outside your area",
            errors=[FieldError("scope_code", "out_of_scope", "该范围不在您的管辖范围内",
                               "That scope is outside your area")])
    figures = selectors.week_figures(scope_code=scope_code, iso_year=iso_year,
                                     iso_week=iso_week)
    content = render_week_report(figures, generated_at=now)
    revision = (SituationReport.objects.select_for_update()
                .filter(scope_code=scope_code, iso_year=iso_year, iso_week=iso_week)
                .aggregate(m=Max("revision"))["m"] or 0) + 1
    report = SituationReport(
        iso_year=iso_year, iso_week=iso_week, week_start=figures.week_start,
        week_end=figures.week_end, scope_code=scope_code, scope_name=figures.scope_name,
        scope_level=figures.scope_level, revision=revision, trigger=trigger,
        checksum=hashlib.sha256(content).hexdigest(), size=len(content), generated_at=now,
        generated_by=by, created_by=by,
        summary={"total": figures.total, "previous": figures.previous_total,
                 "last_year": figures.last_year_total, "deaths": figures.deaths,
                 "by_class": figures.by_class,
                 "top": [d["code"] for d in figures.diseases[:5]]})
    report.file.save(report.filename, ContentFile(content), save=False)
    try:
        with transaction.atomic():
            report.save()
    except IntegrityError:
        report.file.delete(save=False)
        raise ApplicationError(code="conflict", status=409,
                               message="该周报正在由他人生成，请稍后刷新",
                               message_en="This report is being generated; refresh shortly"
                               ) from None
    return report


def weekly_reports_generate(*, today: date | None = None) -> list[SituationReport]:
    """Monday's job: the previous ISO week's report for the city and each county, unless
    that week's report of that scope is already kept (the job may run twice)."""
    today = today or timezone.localdate()
    iso_year, iso_week = previous_iso_week(today)
    made = []
    scopes = list(OrgUnit.objects.filter(level=Level.CITY).values_list("code", flat=True))
    scopes += sorted(selectors.county_codes())
    for code in scopes:
        if selectors.situation_report_latest(scope_code=code, iso_year=iso_year,
                                             iso_week=iso_week):
            continue
        made.append(situation_report_generate(scope_code=code, iso_year=iso_year,
                                              iso_week=iso_week,
                                              trigger=ReportTrigger.SCHEDULE))
    return made


def situation_report_open(*, user, report_id: int, channel: str = "page"
                          ) -> tuple[SituationReport, bytes]:
    """The kept PDF for download, with an access-audit row; a file whose checksum no
    longer matches is refused (409) rather than served."""
    report = selectors.situation_report_get(user=user, report_id=report_id)
    with report.file.open("rb") as fh:
        content = fh.read()
    intact = hashlib.sha256(content).hexdigest() == report.checksum
    audit_record(event=AuditEventType.RECORD_EXPORTED, object_type="epi.situationreport",
                 object_id=report.pk, purpose="疫情周报下载 weekly report download",
                 outcome="ok" if intact else "bad_checksum",
                 detail={"scope": report.scope_code, "week": f"{report.iso_year}-W"
                         f"{report.iso_week:02d}", "revision": report.revision,
                         "channel": channel})
    if not intact:
        raise ApplicationError(code="checksum_mismatch", status=409,
                               message="周报文件校验失败，请重新生成",
                               message_en="The stored report fails its checksum; regenerate it")
    return report, content


def epi_demo_setup() -> dict:
    """Demo step: last week's situation reports (city and counties), as Monday's job would
    have made them. Idempotent."""
    made = weekly_reports_generate()
    return {"weekly_reports": len(made)}
