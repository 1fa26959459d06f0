import pytest

from phis.core.codes.selectors import concept_get, concept_search
from phis.core.exceptions import NotFound


def _codes(system, text, **kw):
    return [c.code for c in concept_search(system=system, text=text, **kw)]


def test_code_prefix(codes):
    found = _codes("icd10", "A01")
    assert found[0] == "A01"
    assert found[1:6] == ["A01.0", "A01.1", "A01.2", "A01.3", "A01.4"]
    assert _codes("icd10", "a010")[0] == "A01.0"  # typed without the dot, lower-case


def test_chinese(codes):
    assert _codes("icd10", "霍乱")[0] == "A00"
    assert "B08.4" in _codes("icd10", "手足口病")  # synonym
    assert _codes("notifiable-disease", "乙肝")[0] == "hepatitis-b"
    assert _codes("notifiable-disease", "肺炭疽") == ["anthrax-pulmonary"]


def test_english(codes):
    assert _codes("icd10", "cholera")[0] == "A00"
    assert _codes("icd10", "Typhoid fever")[0] == "A01.0"
    assert _codes("notifiable-disease", "mpox")[0] == "mpox"


def test_pinyin_initials_and_full_pinyin(codes):
    assert _codes("notifiable-disease", "hl")[0] == "cholera"          # 霍乱
    assert _codes("notifiable-disease", "szkb")[0] == "hfmd"           # 手足口病
    assert _codes("notifiable-disease", "feijiehe")[0] == "tuberculosis"  # 肺结核
    assert _codes("gbt3304-ethnicity", "wwez")[0] == "05"              # 维吾尔族
    assert _codes("icd10", "hl")[0] == "A00"


def test_empty_query_lists_top_level_and_children(codes):
    assert len(_codes("icd10", "", limit=100)) == 22
    assert _codes("icd10", "", parent="A00") == ["A00.0", "A00.1", "A00.9"]
    assert _codes("occupation", "", limit=3) == ["01", "02", "03"]


def test_limit_and_inactive(codes):
    assert len(_codes("icd10", "A", limit=7)) == 7
    assert len(_codes("icd10", "A", limit=10_000)) == 100  # capped
    assert "hpai" not in _codes("notifiable-disease", "禽流感")
    assert "hpai" in _codes("notifiable-disease", "禽流感", include_inactive=True)


def test_get(codes):
    assert concept_get(system="icd10", code="a01.0").display_en == "Typhoid fever"
    assert concept_get(system="icd10", code="A010").code == "A01.0"
    with pytest.raises(NotFound):
        concept_get(system="icd10", code="ZZZ")
    with pytest.raises(NotFound):
        concept_search(system="nope", text="x")


def test_search_is_one_query(codes, django_assert_num_queries):
    concept_search(system="icd10", text="warm-up")
    with django_assert_num_queries(1):
        concept_search(system="icd10", text="肝炎")
