import pytest
from django.db import connection

from phis.algorithms.identity import check_character
from phis.core.audit.models import AuditLog
from phis.core.audit.types import AuditEventType
from phis.core.exceptions import NotFound, PermissionDenied, ValidationFailed
from phis.core.people.models import Person
from phis.core.people.selectors import person_search
from phis.core.people.services import PersonInput, person_create, person_unmask, person_view

pytestmark = pytest.mark.django_db


def rid(first17: str) -> str:
    return first17 + check_character(first17)


DY_ID = rid("37050219800101123")   # male, born 1980-01-01
GR_ID = rid("37052319900202234")   # female, born 1990-02-02


@pytest.fixture
def people(tree):
    dy = person_create(data=PersonInput(name="张伟", sex=1, id_number=DY_ID, phone="13812345678",
                                        address_unit_code="370502001011", address_text="府前街1号"))
    gr = person_create(data=PersonInput(name="李娜", id_number=GR_ID, phone="13987654321",
                                        address_unit_code="370523001001"))
    return dy, gr


def test_identifiers_are_encrypted_and_masked(people):
    dy, _ = people
    assert dy.id_masked == DY_ID[:6] + "********" + DY_ID[-4:]
    assert dy.phone_masked == "138****5678"
    assert dy.birth_date.isoformat() == "1980-01-01"
    with connection.cursor() as cursor:  # raw SQL sees no plaintext
        cursor.execute("SELECT number_encrypted FROM people_personidentifier")
        blobs = [bytes(r[0]) for r in cursor.fetchall()]
    assert all(DY_ID.encode() not in b and GR_ID.encode() not in b for b in blobs)


def test_sex_and_birth_date_taken_from_id_and_checked(tree):
    p = person_create(data=PersonInput(name="王芳", id_number=GR_ID))
    assert p.sex == 2
    with pytest.raises(ValidationFailed) as info:
        person_create(data=PersonInput(name="王芳", sex=1, id_number=rid("37050219850505111")
                                       [:-1] + "0"))
    assert {e.field for e in info.value.errors} == {"id_number"}
    with pytest.raises(ValidationFailed) as info:
        person_create(data=PersonInput(name="赵六", sex=2, id_number=DY_ID))
    fields = {e.field: e for e in info.value.errors}
    assert "sex" in fields and fields["sex"].message and fields["sex"].message_en


def test_field_errors_name_each_field(tree):
    with pytest.raises(ValidationFailed) as info:
        person_create(data=PersonInput(name="", sex=7, phone="12", address_unit_code="999"))
    assert {e.field for e in info.value.errors} == {"name", "sex", "phone", "address_unit_code"}
    assert Person.objects.count() == 0


def test_duplicate_id_refused(people):
    with pytest.raises(ValidationFailed) as info:
        person_create(data=PersonInput(name="张伟", id_number=DY_ID.lower()))
    assert info.value.errors[0].code == "duplicate"


def test_legacy_15_digit_id_finds_the_same_person(people, make_user, tree):
    dy, _ = people
    user = make_user("county_cdc_reviewer", tree.facilities["370502CDC"], jurisdiction=tree.dy)
    legacy = DY_ID[:6] + DY_ID[8:17]
    assert [p.pk for p in person_search(user=user, id_number=legacy)] == [dy.pk]


def test_blind_index_lookup_and_scoping(people, make_user, tree):
    dy, gr = people
    dy_user = make_user("county_cdc_reviewer", tree.facilities["370502CDC"],
                        jurisdiction=tree.dy)
    city_user = make_user("city_cdc", tree.city)
    assert [p.pk for p in person_search(user=dy_user, id_number=DY_ID)] == [dy.pk]
    assert list(person_search(user=dy_user, id_number=GR_ID)) == []  # other county
    assert [p.pk for p in person_search(user=city_user, id_number=GR_ID)] == [gr.pk]
    assert [p.pk for p in person_search(user=city_user, phone="+86 139 8765 4321")] == [gr.pk]
    assert [p.pk for p in person_search(user=city_user, name="zhangw")] == [dy.pk]
    assert [p.pk for p in person_search(user=city_user, name="张")] == [dy.pk]
    with pytest.raises(NotFound):
        person_view(user=dy_user, person_id=gr.pk)


def test_homophone_name_search(people, make_user, tree):
    city_user = make_user("city_cdc", tree.city)
    assert [p.name for p in person_search(user=city_user, name="章炜")] == ["张伟"]


def test_hospital_sees_persons_it_registered(tree, make_user):
    hospital = tree.facilities["370502H1"]
    clerk = make_user("hospital_clerk", hospital)
    p = person_create(data=PersonInput(name="外县病人", id_number=GR_ID,
                                       address_unit_code="370523001001"), facility=hospital)
    assert [x.pk for x in person_search(user=clerk, id_number=GR_ID)] == [p.pk]
    other_hospital = make_user("hospital_clerk", tree.facilities["370523H1"])
    assert list(person_search(user=other_hospital, id_number=GR_ID)) == []
    county_cdc = make_user("county_cdc_reviewer", tree.facilities["370523CDC"],
                           jurisdiction=tree.gr)
    assert list(person_search(user=county_cdc, id_number=GR_ID)) == [p]  # lives there
    stranger = make_user("hospital_clerk", tree.facilities["370502CDC"])
    assert list(person_search(user=stranger, id_number=GR_ID)) == []


def test_view_and_unmask_are_audited(people, make_user, tree):
    dy, _ = people
    reviewer = make_user("county_cdc_reviewer", tree.facilities["370502CDC"],
                         jurisdiction=tree.dy)
    person_view(user=reviewer, person_id=dy.pk, purpose="病例核实")
    row = AuditLog.objects.filter(event_type=AuditEventType.RECORD_VIEWED).latest("id")
    assert row.person_id == dy.pk and row.purpose == "病例核实"
    with pytest.raises(ValidationFailed):
        person_unmask(user=reviewer, person_id=dy.pk, reason="")
    revealed = person_unmask(user=reviewer, person_id=dy.pk, reason="流调需要核对身份")
    assert DY_ID in revealed["identifiers"].values()
    assert revealed["phone"] == "13812345678" and revealed["address"] == "府前街1号"
    assert AuditLog.objects.filter(event_type=AuditEventType.IDENTIFIER_UNMASKED,
                                   person_id=dy.pk, purpose="流调需要核对身份").exists()
    clerk = make_user("hospital_clerk", tree.facilities["370502H1"])
    with pytest.raises(PermissionDenied):
        person_unmask(user=clerk, person_id=dy.pk, reason="好奇看看")


def test_change_history_masks_encrypted_fields(people):
    dy, _ = people
    created = AuditLog.objects.filter(object_type="people.person", object_id=str(dy.pk),
                                      event_type=AuditEventType.RECORD_CREATED).get()
    assert created.detail["after"]["phone_encrypted"] == "***"
    assert created.detail["after"]["name"] == "张伟"
