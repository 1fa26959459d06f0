"""The weekly situation report (疫情周报) as PDF, drawn with reportlab.

Chinese needs a CJK font. reportlab embeds TrueType outlines only; Debian's fonts-noto-cjk
ships CFF (PostScript) outlines, which its ``TTFont`` refuses. So the font is searched for:
the ``PHIS_PDF_CJK_FONT`` setting (``path`` or ``path#subfont-index``), then the usual
TrueType CJK fonts of Debian (fonts-wqy-zenhei, fonts-wqy-microhei, fonts-arphic-uming,
fonts-droid-fallback), then anything ``fc-list :lang=zh`` lists; the first that loads and
has the glyphs is embedded (subset). Without one, reportlab's CID font STSong-Light is used:
not embedded, every PDF reader maps it to a system Song/Ming face (poppler, Acrobat, pdf.js).
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import timezone

log = logging.getLogger(__name__)

CID_FALLBACK = "STSong-Light"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/noto/NotoSansSC-Regular.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # CFF: refused, kept for
)                                                              # a future reportlab
PROBE = "疫情周报东营"


@dataclass(frozen=True)
class CjkFont:
    name: str          # registered reportlab font name
    source: str        # file (and subfont) or the CID font's name
    embedded: bool


def _try_ttf(path: str, index: int) -> CjkFont | None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    name = f"PHISCJK-{Path(path).stem}-{index}"
    try:
        font = TTFont(name, path, subfontIndex=index)
    except Exception as exc:
        log.debug("CJK font %s#%s not usable: %s", path, index, exc)
        return None
    widths = font.face.charToGlyph
    if not all(ord(ch) in widths for ch in PROBE):
        return None
    pdfmetrics.registerFont(font)
    return CjkFont(name=name, source=f"{path}#{index}", embedded=True)


def _fc_list() -> list[str]:
    try:
        fc_list = shutil.which("fc-list")
        if fc_list is None:
            return []
        # fixed arguments, the fontconfig tool found on PATH
        out = subprocess.run([fc_list, ":lang=zh", "file"],  # noqa: S603
                             capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({line.split(":")[0].strip() for line in out.splitlines() if line.strip()})


def _candidates() -> list[tuple[str, list[int]]]:
    found: list[tuple[str, list[int]]] = []
    configured = str(getattr(settings, "PHIS_PDF_CJK_FONT", "") or "")
    if configured:
        path, _sep, index = configured.partition("#")
        found.append((path, [int(index)] if index.isdigit() else [0, 1, 2, 3]))
    for path in (*FONT_CANDIDATES, *_fc_list()):
        if path.lower().endswith((".ttf", ".otf", ".ttc", ".otc")):
            found.append((path, [0, 1, 2, 3] if path.lower().endswith((".ttc", ".otc"))
                          else [0]))
    return found


@lru_cache(maxsize=1)
def cjk_font() -> CjkFont:
    """The font the report is written in (searched once per process)."""
    seen = set()
    for path, indexes in _candidates():
        if path in seen or not Path(path).is_file():
            continue
        seen.add(path)
        for index in indexes:
            font = _try_ttf(path, index)
            if font:
                return font
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK))
    return CjkFont(name=CID_FALLBACK, source=CID_FALLBACK, embedded=False)


def _pct(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:+.1f}%"


def _num(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def render_week_report(figures, *, generated_at=None, notes: list[str] | None = None
                       ) -> bytes:
    """The PDF of one week's figures (``selectors.WeekFigures``)."""
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        KeepTogether,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    font = cjk_font().name
    generated_at = timezone.localtime(generated_at or timezone.now())
    f = figures
    title_text = f"{f.scope_name}法定传染病疫情周报"
    period = (f"{f.iso_year}年第{f.iso_week}周（{f.week_start:%Y年%m月%d日}至"
              f"{f.week_end:%Y年%m月%d日}）")

    base = ParagraphStyle("base", fontName=font, fontSize=9.5, leading=14, wordWrap="CJK")
    title = ParagraphStyle("title", parent=base, fontSize=18, leading=26, alignment=TA_CENTER,
                           spaceAfter=2 * mm)
    sub = ParagraphStyle("sub", parent=base, alignment=TA_CENTER, textColor=colors.grey)
    h2 = ParagraphStyle("h2", parent=base, fontSize=12, leading=18, spaceBefore=4 * mm,
                        spaceAfter=2 * mm, textColor=colors.HexColor("#0b4f8a"))
    small = ParagraphStyle("small", parent=base, fontSize=8, leading=11,
                           textColor=colors.grey)
    grid = TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font), ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa9b8")),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ])

    story = [Paragraph(escape(title_text), title),
             Paragraph(f"Weekly notifiable disease situation report | {period}", sub),
             Spacer(1, 4 * mm)]

    # 1. summary
    story.append(Paragraph("一、疫情概况 Summary", h2))
    change_prev = _pct(_change(f.total, f.previous_total))
    change_ly = _pct(_change(f.total, f.last_year_total))
    cls = f.by_class
    story.append(Paragraph(
        f"本周（按发病日期）共报告法定传染病 <b>{f.total}</b> 例，较上周（{f.previous_total} 例）"
        f"{change_prev}，较去年同期（{f.last_year_total} 例）{change_ly}；"
        f"其中甲类 {cls.get('A', 0)} 例，乙类 {cls.get('B', 0)} 例，"
        f"丙类 {cls.get('C', 0)} 例，其他 {cls.get('other', 0)} 例；"
        f"死亡 {f.deaths} 例。", base))
    summary = [["指标 Indicator", "本周 This week", "上周 Last week", "去年同期 Same week LY"],
               ["报告病例 Cases", f.total, f.previous_total, f.last_year_total],
               ["甲类 Class A", cls.get("A", 0), "", ""],
               ["乙类 Class B", cls.get("B", 0), "", ""],
               ["丙类 Class C", cls.get("C", 0), "", ""],
               ["其他 Other", cls.get("other", 0), "", ""],
               ["死亡 Deaths", f.deaths, "", ""]]
    table = Table(summary, colWidths=[50 * mm, 38 * mm, 38 * mm, 40 * mm])
    table.setStyle(grid)
    story += [Spacer(1, 2 * mm), table]

    # 2. diseases
    story.append(Paragraph("二、主要病种 Leading diseases", h2))
    rows = [["病种 Disease", "类别", "本周", "上周", "较上周", "去年同期", "较去年同期"]]
    class_zh = {"A": "甲类", "B": "乙类", "C": "丙类", "other": "其他"}
    for d in f.diseases[:15]:
        rows.append([Paragraph(escape(d["name"]), base), class_zh.get(d["class"], d["class"]),
                     d["count"], d["previous"], _pct(d["change_pct"]), d["last_year"],
                     _pct(d["change_ly_pct"])])
    if len(rows) == 1:
        rows.append(["本周无报告病例 No cases", "", "", "", "", "", ""])
    table = Table(rows, colWidths=[46 * mm, 14 * mm, 18 * mm, 18 * mm, 22 * mm, 22 * mm,
                                   26 * mm], repeatRows=1)
    table.setStyle(grid)
    story.append(table)

    # 3. epi curve (12 weeks) and this week's days
    drawing = Drawing(170 * mm, 62 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y = 12 * mm, 12 * mm
    chart.width, chart.height = 150 * mm, 42 * mm
    chart.data = [[n for _label, n in f.weekly]]
    chart.categoryAxis.categoryNames = [label[-3:] for label, _n in f.weekly]
    chart.categoryAxis.labels.fontName = font
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontName = font
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    top = max([n for _l, n in f.weekly] + [1])
    chart.valueAxis.valueMax = _nice_max(top)
    chart.valueAxis.valueStep = _nice_step(chart.valueAxis.valueMax)
    chart.bars[0].fillColor = colors.HexColor("#3a7bd5")
    chart.bars[0].strokeColor = None
    chart.barLabelFormat = "%d"
    chart.barLabels.fontName = font
    chart.barLabels.fontSize = 6.5
    chart.barLabels.nudge = 5
    drawing.add(chart)
    drawing.add(String(12 * mm, 57 * mm, "近12周报告病例数（按发病周）Cases by ISO week of onset",
                       fontName=font, fontSize=8.5))
    story.append(KeepTogether([Paragraph("三、流行曲线 Epidemic curve", h2), drawing]))
    days = [["日期 Day"] + [f"{d:%m-%d}" for d, _n in f.daily],
            ["病例 Cases"] + [n for _d, n in f.daily]]
    table = Table(days, colWidths=[24 * mm] + [20 * mm] * 7)
    table.setStyle(grid)
    story.append(table)

    # 4. areas
    area_word = "县区 County" if f.scope_level == "city" else "乡镇街道 Township"
    story.append(Paragraph(f"四、地区分布 By {area_word.split(' ')[1].lower()}", h2))
    rows = [[area_word, "本周", "上周", "较上周", "常住人口", "发病率(1/10万)"]]
    for a in f.areas:
        rows.append([Paragraph(escape(a["name"]), base), a["count"], a["previous"],
                     _pct(a["change_pct"]),
                     "" if a["population"] is None else f"{a['population']:,}",
                     _num(a["incidence"])])
    table = Table(rows, colWidths=[52 * mm, 18 * mm, 18 * mm, 22 * mm, 28 * mm, 28 * mm],
                  repeatRows=1)
    table.setStyle(grid)
    story.append(table)

    # 5. signals
    story.append(Paragraph("五、本周预警信号 Signals of the week", h2))
    if f.signals:
        rows = [["信号 Signal", "病种", "地区", "时间", "状态"]]
        for s in f.signals:
            rows.append([Paragraph(escape(s["title"]), base),
                         Paragraph(escape(s["disease"]), base),
                         Paragraph(escape(s["area"]), base), s["raised"][:16], s["status"]])
        table = Table(rows, colWidths=[56 * mm, 28 * mm, 30 * mm, 28 * mm, 24 * mm],
                      repeatRows=1)
        table.setStyle(grid)
        story.append(table)
    else:
        story.append(Paragraph("本周无预警信号（或预警模块未启用）。No signals this week.", base))

    # 6. notes
    story.append(Paragraph("六、说明 Notes", h2))
    for line in (notes or default_notes(f)):
        story.append(Paragraph(line, small))
    story.append(Spacer(1, 3 * mm))
    story.append(Paragraph(
        f"生成时间 Generated {generated_at:%Y-%m-%d %H:%M} (Asia/Shanghai) | "
        "东营市公共卫生信息系统 PHIS", small))

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm,
                            topMargin=16 * mm, bottomMargin=16 * mm, title=title_text,
                            author="PHIS", subject=period, creator="PHIS epi")

    def footer(canvas, doc_):
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(colors.grey)
        canvas.drawRightString(A4[0] - 18 * mm, 9 * mm, f"第 {doc_.page} 页 | {title_text}")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def default_notes(f) -> list[str]:
    return [
        "1. 数据来源：传染病报告卡（已提交、已退回待修改、已审核；草稿与已删除卡片不计）。"
        "Source: report cards that count (submitted, returned, reviewed).",
        "2. 按发病日期及现住址统计；周为ISO周（周一至周日）。"
        "Counted by onset date and current address; ISO weeks (Monday to Sunday).",
        "3. 本周数据为生成时的数字，迟报及订正卡片可能使其变化；重新生成将保存新版本。"
        "Figures as at generation; late and corrected cards may change them.",
        "4. 发病率为本周病例数/常住人口×10万（未年化）。"
        "Incidence: cases this week per 100,000 residents (not annualised).",
    ]


def _change(now: int, before: int) -> float | None:
    return None if not before else (now - before) * 100 / before


def _nice_max(value: int) -> int:
    """An axis maximum a little above ``value``, in whole steps of 1, 2 or 5 × 10ⁿ that
    give about five gridlines."""
    target = max(value * 1.1, 1)
    unit = 1
    while True:
        for m in (1, 2, 5):
            if m * unit * 5 >= target:
                step = m * unit
                return int(-(-target // step) * step)
        unit *= 10


def _nice_step(maximum: int) -> int:
    unit = 1
    while True:
        for m in (1, 2, 5):
            if m * unit * 5 >= maximum:
                return m * unit
        unit *= 10
