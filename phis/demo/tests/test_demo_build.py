"""The fast paths of the demo build keep its output: the same persons for a seed, every
index of the registry back after a fresh load, and demo log-ins that work."""

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.db import connection

from phis.core.accounts.models import User
from phis.core.crypto.fields import decrypt_text
from phis.core.orgunits.models import Level
from phis.core.people.identifiers import id_index, name_pinyin
from phis.core.people.models import Person, PersonIdentifier
from phis.core.people.selectors import person_address_county
from phis.demo.persons import persons_build
from phis.demo.users import DEMO_USERS, users_build

pytestmark = pytest.mark.django_db


def _snapshot() -> list[tuple]:
    rows = []
    for p in Person.objects.select_related("address_unit").prefetch_related("identifiers") \
            .order_by("pk"):
        ident = p.identifiers.get()
        rows.append((p.pk, p.name, p.name_pinyin, p.sex, p.birth_date, p.address_unit_id,
                     p.address_county, p.phone_index, p.id_masked, ident.number_index,
                     decrypt_text(ident.number_encrypted, purpose="person.id.01"),
                     decrypt_text(p.address_text_encrypted, purpose="person.address")))
    return rows


def _indexes() -> set[tuple]:
    with connection.cursor() as cursor:
        return {(t, tuple(c["columns"]), c["unique"])
                for t in ("people_person", "people_personidentifier")
                for c in connection.introspection.get_constraints(cursor, t).values()
                if c["index"] or c["unique"]}


def test_person_rows_are_the_same_for_a_seed_and_valid(dongying):
    indexes = _indexes()
    assert any(cols[:2] == ("address_county", "name") for _, cols, _ in indexes)
    assert persons_build(count=1200, seed=11) == 1200
    first = _snapshot()
    assert _indexes() == indexes  # the fresh load dropped and rebuilt them
    Person.objects.all().delete()
    assert persons_build(count=1200, seed=11) == 1200
    assert _snapshot() == first
    persons = Person.objects.select_related("address_unit")
    sample = list(persons.order_by("?")[:150])
    for person in sample:
        assert person.address_unit.level == Level.COMMUNITY
        assert person.address_county == person_address_county(person.address_unit)
        assert person.name_pinyin == name_pinyin(person.name)
    for ident in PersonIdentifier.objects.filter(person__in=sample):
        number = decrypt_text(ident.number_encrypted, purpose="person.id.01")
        assert ident.number_index == id_index("01", number)  # the blind index finds it
    Person.objects.all().delete()
    assert persons_build(count=1200, seed=12) == 1200
    assert [r[1] for r in _snapshot()] != [r[1] for r in first]  # the seed matters


def test_adding_persons_keeps_going_after_the_existing_ones(dongying):
    persons_build(count=300, seed=11)
    persons_build(count=200, seed=11)
    assert Person.objects.count() == 500
    assert PersonIdentifier.objects.count() == 500
    assert list(Person.objects.order_by("pk").values_list("pk", flat=True)) == \
        list(range(1, 501))


def test_every_demo_user_logs_in_with_the_demo_password(dongying):
    from phis.demo.facilities import facilities_build

    facilities_build()
    users_build()
    users = {u.username: u for u in User.objects.filter(
        username__in=[d.username for d in DEMO_USERS])}
    assert len(users) == len(DEMO_USERS)
    for user in users.values():
        assert user.has_usable_password()
        assert user.check_password(settings.PHIS_DEMO_PASSWORD)
        assert not user.check_password(settings.PHIS_DEMO_PASSWORD + "x")
    assert authenticate(username="demo.reviewer", password=settings.PHIS_DEMO_PASSWORD)
    users_build()  # idempotent: nobody's password changes on a second run
    assert {u.username: u.password for u in User.objects.filter(username__in=users)} == \
        {name: u.password for name, u in users.items()}


def test_rows_prepared_by_workers_and_parent_are_those_prepared_in_one_process(dongying):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from phis.demo.persons import _plan, _prepare, _prepared_in_parallel, _worker_init

    plan = _plan(5)
    batches = [(n, 40, 1 + 40 * n) for n in range(7)]

    def stable(rows):
        """The columns that do not change between two preparations (times of preparing
        and the randomised encryption, with fresh nonces, do)."""
        persons, idents = rows
        return ([p[:1] + p[3:10] + p[11:15] + p[16:] for p in persons],
                [i[:2] + i[3:7] for i in idents])

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"),
                             initializer=_worker_init, initargs=(plan,)) as pool:
        parallel = [stable(r) for r in _prepared_in_parallel(pool, plan, batches, 2)]
    alone = [stable(_prepare(plan, *b)) for b in batches]
    assert [rows[0][0][0] for rows in parallel] == [1 + 40 * n for n in range(7)]  # in order
    assert parallel == alone
