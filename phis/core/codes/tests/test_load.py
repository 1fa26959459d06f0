import shutil
import time

import pytest

from phis.core.codes import files
from phis.core.codes.models import CodeSystem, Concept
from phis.core.codes.services import code_system_load, code_systems_load, codes_load

EXPECTED_SYSTEMS = {"icd10", "notifiable-disease", "gbt2261-sex", "gbt3304-ethnicity",
                    "occupation", "id-document-type", "disease-class", "case-classification"}


def test_load_returns_counts_for_every_system(codes):
    counts = codes_load()
    assert set(counts) >= EXPECTED_SYSTEMS
    assert counts["icd10"] > 12000
    assert counts["gbt3304-ethnicity"] == 58
    assert counts["occupation"] == 18
    for key, n in counts.items():
        assert Concept.objects.filter(system__key=key).count() == n


def test_loading_again_changes_nothing(codes):
    ids_before = dict(Concept.objects.values_list("system__key", "id").order_by("id")[:50])
    total_before = Concept.objects.count()
    assert all(r.skipped for r in code_systems_load())
    forced = code_systems_load(force=True)
    assert all((r.created, r.updated, r.deactivated) == (0, 0, 0) for r in forced)
    assert Concept.objects.count() == total_before
    assert dict(Concept.objects.values_list("system__key", "id").order_by("id")[:50]) \
        == ids_before


def test_changed_file_updates_in_place_and_retires_missing_codes(codes, tmp_path,
                                                                 monkeypatch):
    for name in ("systems.json", "occupation.csv"):
        shutil.copy(files.DATA_DIR / name, tmp_path / name)
    lines = (tmp_path / "occupation.csv").read_text(encoding="utf-8").splitlines()
    lines = [ln.replace("01,幼托儿童", "01,托幼儿童") for ln in lines
             if not ln.startswith("18,")]
    (tmp_path / "occupation.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(files, "DATA_DIR", tmp_path)
    nursery_id = Concept.objects.get(system__key="occupation", code="01").id

    result = code_system_load(files.system_meta("occupation"))

    assert (result.created, result.updated, result.deactivated) == (0, 1, 1)
    nursery = Concept.objects.get(system__key="occupation", code="01")
    assert (nursery.id, nursery.display_zh) == (nursery_id, "托幼儿童")
    assert Concept.objects.get(system__key="occupation", code="18").active is False
    assert result.total == 18  # retired codes stay


def test_whole_load_is_fast(codes):
    Concept.objects.all().delete()
    CodeSystem.objects.all().delete()
    started = time.process_time()  # CPU time: the budget must not depend on other jobs
    codes_load()
    assert time.process_time() - started < 5


def test_unknown_system_is_refused(db):
    with pytest.raises(ValueError, match="unknown code systems"):
        code_systems_load(systems=["nope"])
