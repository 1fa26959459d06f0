import csv
import io

from phis.core.codes import files
from phis.core.codes.models import Concept


def _icd():
    return Concept.objects.filter(system__key="icd10")


def test_all_levels_are_present_with_plausible_counts(codes):
    kinds = {k: _icd().filter(kind=k).count() for k in
             ("chapter", "block", "category", "subcategory")}
    assert kinds["chapter"] == 22
    assert 250 <= kinds["block"] <= 300
    assert 2000 <= kinds["category"] <= 2100
    assert 10000 <= kinds["subcategory"] <= 10500


def test_chapter_one_runs_from_a00_to_b99(codes):
    codes_ = set(_icd().filter(kind="category").values_list("code", flat=True))
    for code in ("A00", "A01", "A09", "A15", "A20", "B05", "B20", "B24", "B99"):
        assert code in codes_
    chapter = _icd().get(code="I")
    assert chapter.properties["range"] == "A00-B99"
    assert chapter.display_zh == "某些传染病和寄生虫病"


def test_parent_links(codes):
    parent = dict(_icd().values_list("code", "parent_code"))
    assert parent["A01.0"] == "A01"
    assert parent["A01"] == "A00-A09"
    assert parent["A00-A09"] == "I"
    assert parent["I"] == ""
    assert parent["U07.1"] == "U07"
    orphans = [c for c, p in parent.items() if p and p not in parent]
    assert orphans == []


def test_english_titles_and_chinese_titles_for_chapter_one(codes):
    a00 = _icd().get(code="A00")
    assert (a00.display_en, a00.display_zh) == ("Cholera", "霍乱")
    assert not _icd().filter(display_en="").exists()
    # every category of chapter I has a Chinese title
    untitled = _icd().filter(kind="category", parent_code__in=_icd().filter(
        parent_code="I").values("code"), display_zh="")
    assert list(untitled.values_list("code", flat=True)) == []


def test_chinese_titles_file_only_names_real_codes(codes):
    text = files.read_bytes("icd10_zh.csv").decode("utf-8")
    wanted = {r["code"]: r["display_zh"] for r in csv.DictReader(io.StringIO(text))}
    got = dict(_icd().filter(code__in=wanted).values_list("code", "display_zh"))
    assert got == wanted
