"""Scoped name search through Person.address_county (bench/person_lookup_bench.py): the
column follows the address, the migration fills it for existing rows, and the split search
returns exactly the rows, in the order, of one query over ``person_visible_for``."""

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phis.core.people.identifiers import name_pinyin
from phis.core.people.models import Person, PersonStatus
from phis.core.people.selectors import person_search, person_visible_for
from phis.core.people.services import (
    PersonInput,
    person_create,
    person_link_facility,
    person_update,
)

pytestmark = pytest.mark.django_db

NAMES = ["张伟", "张炜", "章伟", "张伟华", "张芳", "王芳", "王方", "汪芳", "李娜", "李娜娜",
         "黎娜", "欧阳娜"]


def test_address_county_follows_the_address(tree, make_user):
    person = person_create(data=PersonInput(name="张伟", address_unit_code="370502001011"))
    assert person.address_county == "370502"
    at_township = person_create(data=PersonInput(name="张芳", address_unit_code="370523001"))
    assert at_township.address_county == "370523"
    at_county = person_create(data=PersonInput(name="李娜", address_unit_code="370502"))
    assert at_county.address_county == "370502"
    assert person_create(data=PersonInput(name="王芳")).address_county == ""

    steward = make_user("data_steward", tree.city, jurisdiction=tree.city)
    moved = person_update(user=steward, person_id=person.pk, data=PersonInput(
        name="张伟", address_unit_code="370523001001"))
    assert Person.objects.get(pk=moved.pk).address_county == "370523"
    person_update(user=steward, person_id=person.pk, data=PersonInput(name="张伟"))
    assert Person.objects.get(pk=person.pk).address_county == ""


def test_migration_fills_the_county_of_existing_persons(tree):
    dy = person_create(data=PersonInput(name="张伟", address_unit_code="370502001011"))
    gr = person_create(data=PersonInput(name="李娜", address_unit_code="370523001"))
    county = person_create(data=PersonInput(name="王芳", address_unit_code="370523"))
    nowhere = person_create(data=PersonInput(name="赵六"))
    Person.objects.update(address_county="")  # as the rows were before the column
    migration = importlib.import_module(
        "phis.core.people.migrations.0002_person_search_scope")
    migration.fill_address_county(apps, connection.schema_editor())
    got = dict(Person.objects.values_list("pk", "address_county"))
    assert got == {dy.pk: "370502", gr.pk: "370523", county.pk: "370523", nowhere.pk: ""}


@pytest.fixture
def crowd(tree):
    """Persons with colliding names and pinyin in both counties, at every level, without an
    address, merged, and known to a hospital of the other county."""
    units = ["370502001011", "370502001", "370502", "370523001001", "370523001", ""]
    made = []
    for i in range(48):
        name = NAMES[i % len(NAMES)]
        made.append(person_create(data=PersonInput(name=name,
                                                   address_unit_code=units[i % len(units)])))
    for p in made[::7]:
        Person.objects.filter(pk=p.pk).update(status=PersonStatus.MERGED)
    for p in made[1::5]:
        person_link_facility(person=p, facility=tree.facilities["370523H1"])
    for p in made[2::9]:
        person_link_facility(person=p, facility=tree.facilities["370502H1"])
    return made


@pytest.fixture
def users(tree, make_user):
    return {
        "county": make_user("county_cdc_reviewer", tree.facilities["370502CDC"],
                            jurisdiction=tree.dy),
        "city": make_user("city_cdc", tree.city, jurisdiction=tree.city),
        "township": make_user("township_health_centre", tree.dy_township),
        "hospital": make_user("hospital_clerk", tree.facilities["370523H1"]),
        "two_counties": make_user("hospital_clerk", tree.facilities["370523H1"],
                                  jurisdiction=tree.dy),
    }


def reference(user, text: str, limit: int) -> list[int]:
    """One query over person_visible_for: the result the split search must equal."""
    text = text.strip()
    if text.isascii():
        cond = Q(name_pinyin__startswith=text.lower().replace(" ", ""))
    else:
        cond = Q(name__startswith=text) | Q(name_pinyin=name_pinyin(text))
    qs = person_visible_for(user=user).exclude(status=PersonStatus.MERGED).filter(cond)
    return list(qs.order_by("name", "pk").values_list("pk", flat=True)[:limit])


QUERIES = ["张", "章", "张伟", "章炜", "王", "汪芳", "李娜", "欧阳", "zhang", "zh", "wang",
           "lina", "z", "ouyang", " Zhang Wei "]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(who=st.sampled_from(["county", "city", "township", "hospital", "two_counties"]),
       text=st.sampled_from(QUERIES), limit=st.integers(1, 12))
def test_split_search_returns_the_rows_and_order_of_one_query(crowd, users, who, text, limit):
    user = users[who]
    got = [p.pk for p in person_search(user=user, name=text, limit=limit)]
    assert got == reference(user, text, limit)


COUNTY_TEST = '"address_county" IN ('


def test_the_county_user_search_is_narrowed_to_the_county(crowd, users):
    with CaptureQueriesContext(connection) as county_queries:
        found = list(person_search(user=users["county"], name="张"))
    assert found and all(p.address_county == "370502" or p.address_unit_id is None
                         or p.address_unit.path.startswith("/370500/370502/") for p in found)
    assert any(COUNTY_TEST in q["sql"] for q in county_queries.captured_queries)
    # A city-wide user's scope is not inside one county: no county condition.
    with CaptureQueriesContext(connection) as city_queries:
        list(person_search(user=users["city"], name="张"))
    assert not any(COUNTY_TEST in q["sql"] for q in city_queries.captured_queries)


def test_hospital_sees_the_persons_it_knows_in_another_county(crowd, users):
    known = {p.pk for p in crowd[1::5] if p.pk not in {q.pk for q in crowd[::7]}}
    found = {p.pk for p in person_search(user=users["hospital"], name="z", limit=200)} | \
        {p.pk for p in person_search(user=users["hospital"], name="w", limit=200)} | \
        {p.pk for p in person_search(user=users["hospital"], name="l", limit=200)} | \
        {p.pk for p in person_search(user=users["hospital"], name="o", limit=200)} | \
        {p.pk for p in person_search(user=users["hospital"], name="h", limit=200)}
    assert found == known
