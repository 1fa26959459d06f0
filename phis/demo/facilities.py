"""Facilities of every type per county, deterministic (same codes and names every run)."""

from __future__ import annotations

from phis.core.orgunits.models import FacilityType, Level, OrgUnit
from phis.core.orgunits.services import _TreeWriter

# Short names used to build facility names: 东营区 -> 东营区人民医院 etc.
_COUNTY_FACILITIES = [
    ("HB", FacilityType.HEALTH_COMMISSION, "{c}卫生健康局", "{e} Health Bureau"),
    ("CDC", FacilityType.CDC, "{c}疾病预防控制中心", "{e} CDC"),
    ("H1", FacilityType.HOSPITAL, "{c}人民医院", "{e} People's Hospital"),
    ("H2", FacilityType.HOSPITAL, "{c}中医院", "{e} TCM Hospital"),
    ("MCH", FacilityType.MCH_HOSPITAL, "{c}妇幼保健院", "{e} MCH Hospital"),
    ("CSSD", FacilityType.CSSD, "{c}消毒供应中心", "{e} Sterile Supply Centre"),
]
_CITY_FACILITIES = [
    ("F370500HC", FacilityType.HEALTH_COMMISSION, "东营市卫生健康委员会",
     "Dongying Municipal Health Commission"),
    ("F370500CDC", FacilityType.CDC, "东营市疾病预防控制中心", "Dongying CDC"),
    ("F370500H1", FacilityType.HOSPITAL, "东营市人民医院", "Dongying People's Hospital"),
    ("F370500H2", FacilityType.HOSPITAL, "胜利油田中心医院", "Shengli Oilfield Central Hospital"),
    ("F370500H3", FacilityType.HOSPITAL, "东营市中医院", "Dongying TCM Hospital"),
    ("F370500BS", FacilityType.BLOOD_STATION, "东营市中心血站", "Dongying Central Blood Station"),
    ("F370500EC", FacilityType.EMERGENCY_CENTRE, "东营市急救中心", "Dongying 120 Emergency Centre"),
    ("F370500MH", FacilityType.MENTAL_HEALTH_CENTRE, "东营市精神卫生中心",
     "Dongying Mental Health Centre"),
    ("F370500WD", FacilityType.DISPOSAL_COMPANY, "东营市医疗废物集中处置中心",
     "Dongying Medical Waste Disposal Centre"),
    ("F370500WH", FacilityType.WAREHOUSE, "东营市应急物资储备库",
     "Dongying Emergency Supplies Warehouse"),
]
AMBULANCE_STATIONS = 20  # the plan: 120 centre with 20 stations (B9)


def facilities_build() -> dict[str, int]:
    writer = _TreeWriter()
    city = OrgUnit.objects.get(level=Level.CITY)
    counts: dict[str, int] = {}

    def put(code, ftype, name, name_en, parent, lat=None, lon=None):
        writer.put(code=code, name=name, name_en=name_en, level=Level.FACILITY, parent=parent,
                   facility_type=ftype, latitude=lat, longitude=lon,
                   position_approximate=lat is not None)
        counts[ftype] = counts.get(ftype, 0) + 1

    for code, ftype, name, name_en in _CITY_FACILITIES:
        put(code, ftype, name, name_en, city, city.latitude, city.longitude)

    counties = list(OrgUnit.objects.filter(level=Level.COUNTY).order_by("code"))
    townships = list(OrgUnit.objects.filter(level=Level.TOWNSHIP).order_by("code"))
    for county in counties:
        seat = next((t for t in townships if t.parent_id == county.id), None)
        for suffix, ftype, name, name_en in _COUNTY_FACILITIES:
            put(f"F{county.code}{suffix}", ftype, name.format(c=county.name),
                name_en.format(e=county.name_en or county.name), county,
                seat.latitude if seat else None, seat.longitude if seat else None)
    # 20 stations spread over the whole city, not the first 20 townships.
    station_at = {round(i * len(townships) / AMBULANCE_STATIONS) for i in
                  range(AMBULANCE_STATIONS)} if townships else set()
    for index, township in enumerate(townships):
        street = township.name.endswith("街道")
        ftype = FacilityType.COMMUNITY_HEALTH_CENTRE if street \
            else FacilityType.TOWNSHIP_HEALTH_CENTRE
        short = township.name.removesuffix("街道").removesuffix("镇").removesuffix("乡")
        put(f"F{township.code}HC", ftype,
            f"{short}{'社区卫生服务中心' if street else '镇卫生院'}",
            f"{township.name} health centre", township, township.latitude, township.longitude)
        put(f"F{township.code}PS", FacilityType.SCHOOL, f"{short}小学",
            f"{township.name} Primary School", township, township.latitude, township.longitude)
        put(f"F{township.code}MS", FacilityType.SCHOOL, f"{short}中学",
            f"{township.name} Middle School", township, township.latitude, township.longitude)
        put(f"F{township.code}KG", FacilityType.KINDERGARTEN, f"{short}幼儿园",
            f"{township.name} Kindergarten", township, township.latitude, township.longitude)
        if index in station_at:
            put(f"F{township.code}AS", FacilityType.AMBULANCE_STATION, f"120{short}急救站",
                f"120 station {township.name}", township, township.latitude,
                township.longitude)
    # village clinics (村卫生室) in every fifth village
    villages = OrgUnit.objects.filter(level=Level.COMMUNITY, name__endswith="村委会") \
        .order_by("code")
    for index, village in enumerate(villages):
        if index % 5 == 0:
            put(f"F{village.code}VC", FacilityType.VILLAGE_CLINIC,
                f"{village.name.removesuffix('村委会')}村卫生室", f"{village.code} village clinic",
                village)
    writer.flush()
    return counts
