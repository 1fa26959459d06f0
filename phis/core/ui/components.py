"""Server-side halves of the shared components: tables (with paging and Excel export),
charts and maps. Templates in templates/ui/components/ render them; static/ui/phis.js
initialises charts and maps."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header


@dataclass
class Row:
    cells: Sequence
    url: str = ""


@dataclass
class Table:
    headers: Sequence[str]
    rows: list[Row] = field(default_factory=list)
    page: object = None
    query_without_page: str = ""


def paged_table(request, *, headers: Sequence[str], items, to_row, per_page: int = 50
                ) -> Table:
    paginator = Paginator(items, per_page)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return Table(headers=headers, rows=[to_row(i) for i in page.object_list], page=page,
                 query_without_page=query.urlencode())


def xlsx_response(*, filename: str, headers: Sequence[str], rows: Iterable[Sequence],
                  exported_by: str, title: str = "") -> HttpResponse:
    """An .xlsx download whose first line names who exported it and when (SECURITY.md §8
    item 27); the caller audits the export."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=(title or "data")[:31])
    stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    ws.append([f"导出人 Exported by: {exported_by} · {stamp} · 东营市公共卫生信息系统 PHIS"])
    ws.append(list(headers))
    for row in rows:
        ws.append([_cell(v) for v in row])
    buffer = io.BytesIO()
    wb.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response


def _cell(value):
    if value is None or isinstance(value, int | float | str):
        return value
    return str(value)


def chart_json(option: dict) -> str:
    """ECharts option serialised for a ``<script type="application/json">`` block."""
    return json.dumps(option, ensure_ascii=False).replace("</", "<\\/")
