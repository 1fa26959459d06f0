"""The catalogue against shared/domain/surveillance.md §1.1-§1.3 and §2.2."""

from datetime import date

import pytest

from phis.core.codes.models import Concept
from phis.core.codes.selectors import (
    notifiable_disease_for_icd10,
    notifiable_disease_rules,
    notifiable_diseases,
)
from phis.core.exceptions import ApplicationError

# §1.2 (list as of 2023-09-20 … 2025-08-31): Chinese name -> (class, ICD-10 codes)
DOC_LIST = {
    "鼠疫": ("A", ["A20"]), "霍乱": ("A", ["A00"]),
    "新型冠状病毒感染": ("B", ["U07.1", "U07.2"]), "传染性非典型肺炎": ("B", ["U04"]),
    "艾滋病": ("B", ["B20", "B21", "B22", "B23", "B24", "Z21"]),
    "病毒性肝炎": ("B", ["B15", "B16", "B17", "B18", "B19"]), "脊髓灰质炎": ("B", ["A80"]),
    "人感染高致病性禽流感": ("B", ["J09"]), "麻疹": ("B", ["B05"]),
    "流行性出血热": ("B", ["A98.5"]), "狂犬病": ("B", ["A82"]),
    "流行性乙型脑炎": ("B", ["A83.0"]), "登革热": ("B", ["A97"]), "炭疽": ("B", ["A22"]),
    "细菌性和阿米巴性痢疾": ("B", ["A03", "A06"]), "肺结核": ("B", ["A15", "A16"]),
    "伤寒和副伤寒": ("B", ["A01"]), "流行性脑脊髓膜炎": ("B", ["A39"]),
    "百日咳": ("B", ["A37"]), "白喉": ("B", ["A36"]), "新生儿破伤风": ("B", ["A33"]),
    "猩红热": ("B", ["A38"]), "布鲁氏菌病": ("B", ["A23"]), "淋病": ("B", ["A54"]),
    "梅毒": ("B", ["A50", "A51", "A52", "A53"]), "钩端螺旋体病": ("B", ["A27"]),
    "血吸虫病": ("B", ["B65"]), "疟疾": ("B", ["B50", "B51", "B52", "B53", "B54"]),
    "人感染H7N9禽流感": ("B", ["J09"]), "猴痘": ("B", ["B04"]),
    "流行性感冒": ("C", ["J10", "J11"]), "流行性腮腺炎": ("C", ["B26"]), "风疹": ("C", ["B06"]),
    "急性出血性结膜炎": ("C", ["B30.3"]), "麻风病": ("C", ["A30"]),
    "流行性和地方性斑疹伤寒": ("C", ["A75.0", "A75.2"]), "黑热病": ("C", ["B55.0"]),
    "包虫病": ("C", ["B67"]), "丝虫病": ("C", ["B74"]), "手足口病": ("C", ["B08.4"]),
    "其它感染性腹泻病": ("C", ["A02", "A04", "A08", "A09"]),
}
# §1.3 and §2.2: 2 h for class A, managed-as-class-A (SARS, pulmonary anthrax) and, by
# the [U] default of §1.3, poliomyelitis; 24 h otherwise.
TWO_HOUR = {"鼠疫", "霍乱", "传染性非典型肺炎", "肺炭疽", "脊髓灰质炎"}
ON = date(2024, 6, 1)


def _by_name(on=ON, include_subtypes=False):
    return {r.name_zh: r for r in notifiable_diseases(on=on, include_subtypes=include_subtypes)}


def test_list_matches_the_domain_doc(codes):
    listed = {n: r for n, r in _by_name().items() if r.disease_class != "other"}
    assert set(listed) == set(DOC_LIST)
    for name, (klass, icd10) in DOC_LIST.items():
        assert listed[name].disease_class == klass, name
        assert list(listed[name].icd10_codes) == icd10, name


def test_every_disease_and_subtype_has_class_and_the_documented_deadline(codes):
    for name, rules in _by_name(include_subtypes=True).items():
        assert rules.disease_class in {"A", "B", "C", "other"}
        expected = 2 if name in TWO_HOUR else 24
        assert rules.deadline_hours == expected, name
        assert rules.managed_as_class_a == (name in {"传染性非典型肺炎", "肺炭疽"}), name


def test_unconfirmed_deadlines_are_marked(codes):
    assert notifiable_disease_rules("poliomyelitis", on=ON).deadline_tag == "U"
    assert notifiable_disease_rules("plague", on=ON).deadline_tag == "V"
    concept = Concept.objects.get(system__key="notifiable-disease", code="poliomyelitis")
    assert concept.properties["deadline_note"]


@pytest.mark.parametrize(("on", "counts"), [
    (date(2005, 1, 1), (2, 25, 10)),   # 2004 law: 37
    (date(2008, 6, 1), (2, 25, 11)),   # + HFMD
    (date(2009, 5, 1), (2, 26, 11)),   # + H1N1
    (date(2014, 1, 1), (2, 26, 11)),   # + H7N9, H1N1 into seasonal influenza
    (date(2020, 2, 1), (2, 27, 11)),   # + COVID-19
    (date(2023, 10, 1), (2, 28, 11)),  # + mpox
    (date(2025, 9, 1), (2, 27, 11)),   # HPAI + H7N9 -> novel influenza subtype
])
def test_timeline_counts(codes, on, counts):
    by_class = [r.disease_class for r in notifiable_diseases(on=on)]
    assert (by_class.count("A"), by_class.count("B"), by_class.count("C")) == counts


def test_managed_as_class_a_periods(codes):
    covid_2021 = notifiable_disease_rules("covid-19", on=date(2021, 1, 1))
    assert (covid_2021.managed_as_class_a, covid_2021.deadline_hours) == (True, 2)
    assert covid_2021.name_zh == "新型冠状病毒肺炎"
    covid_2024 = notifiable_disease_rules("covid-19", on=ON)
    assert (covid_2024.managed_as_class_a, covid_2024.deadline_hours) == (False, 24)
    assert notifiable_disease_rules("hpai", on=date(2010, 1, 1)).deadline_hours == 2
    assert notifiable_disease_rules("hpai", on=date(2020, 1, 1)).deadline_hours == 24
    assert notifiable_disease_rules("h1n1", on=date(2010, 1, 1)).managed_as_class_a


def test_subtypes(codes):
    anthrax = notifiable_disease_rules("anthrax", on=ON)
    assert "anthrax-pulmonary" in anthrax.subtypes
    assert anthrax.deadline_hours == 24
    pulmonary = notifiable_disease_rules("anthrax-pulmonary", on=ON)
    assert (pulmonary.parent_code, pulmonary.disease_class, pulmonary.deadline_hours) == \
        ("anthrax", "B", 2)
    assert notifiable_disease_rules("hepatitis-b", on=ON).requires_acute_chronic
    assert notifiable_disease_rules("schistosomiasis", on=ON).requires_acute_chronic
    assert not notifiable_disease_rules("hepatitis-a", on=ON).requires_acute_chronic


def test_not_listed_and_unknown(codes):
    with pytest.raises(ApplicationError) as exc:
        notifiable_disease_rules("mpox", on=date(2020, 1, 1))
    assert (exc.value.status, exc.value.code) == (404, "not_listed_on_date")
    with pytest.raises(ApplicationError) as exc:
        notifiable_disease_rules("nope")
    assert exc.value.status == 404


def test_rules_are_frozen(codes):
    rules = notifiable_disease_rules("cholera")
    with pytest.raises(AttributeError):
        rules.deadline_hours = 48  # type: ignore[misc]
    assert rules.deadline.total_seconds() == 2 * 3600


def test_icd10_codes_exist_and_have_chinese_names(codes):
    icd = dict(Concept.objects.filter(system__key="icd10").values_list("code", "display_zh"))
    for concept in Concept.objects.filter(system__key="notifiable-disease"):
        assert concept.display_zh and concept.display_en
        for code in concept.properties["icd10"]:
            assert code in icd, (concept.code, code)
            assert icd[code], (concept.code, code)


def test_map_icd10_to_disease(codes):
    assert notifiable_disease_for_icd10("A01.0", on=ON).code == "typhoid"
    assert notifiable_disease_for_icd10("a010", on=ON).code == "typhoid"
    assert notifiable_disease_for_icd10("A15.000x001", on=ON).code == "tuberculosis"
    assert notifiable_disease_for_icd10("A22.1", on=ON).code == "anthrax-pulmonary"
    assert notifiable_disease_for_icd10("B04", on=date(2020, 1, 1)) is None
    assert notifiable_disease_for_icd10("I10", on=ON) is None
