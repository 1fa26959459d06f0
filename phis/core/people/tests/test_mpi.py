"""MPI intake, the steward queue, merge/unmerge, patient 360 and the FHIR export."""

import threading
import uuid
from datetime import date, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phis.algorithms.identity import check_character
from phis.core.audit.models import AuditLog
from phis.core.events.models import OutboxEvent
from phis.core.exceptions import Conflict, ValidationFailed
from phis.core.people.models import Person, PersonFacility, PersonIdentifier, PersonStatus
from phis.core.people.mpi_models import MatchReview, PersonLink, PersonMerge, ReviewState
from phis.core.people.mpi_services import (
    IncomingPerson,
    mpi_demo_records,
    mpi_demo_setup,
    mpi_intake,
    person_merge,
    person_unmerge,
    review_accept,
    review_reject,
)
from phis.core.people.timeline import (
    TimelineEntry,
    register_timeline_source,
    timeline_for,
    unregister_timeline_source,
)

pytestmark = pytest.mark.django_db


def rid(first17: str) -> str:
    return first17 + check_character(first17)


DY_ID = rid("37050219800101123")
DY_ID2 = rid("37050219800101145")
GR_ID = rid("37052319900202234")


def dy_record(**kw) -> IncomingPerson:
    base = {"name": "张伟", "sex": 1, "birth_date": date(1980, 1, 1), "id_number": DY_ID,
                "phone": "13812345678", "address_unit_code": "370502001011"}
    base.update(kw)
    return IncomingPerson(**base)


@pytest.fixture
def steward(make_user, tree):
    return make_user("data_steward", tree.facilities["370502CDC"], jurisdiction=tree.dy)


@pytest.fixture
def gr_steward(make_user, tree):
    return make_user("data_steward", tree.facilities["370523CDC"], jurisdiction=tree.gr)


def review_case(tree):
    """A registered person, then a record with a homophone name and the same birth date but
    no ID, no phone: uncertain → review."""
    first = mpi_intake(record=dy_record(), source="his-a", source_key="1",
                       facility=tree.facilities["370502H1"])
    second = mpi_intake(record=dy_record(name="章伟", id_number="", phone=""),
                        source="his-b", source_key="9")
    return first, second


# --- intake ---------------------------------------------------------------------------------

def test_new_record_creates_person_with_link_and_identifier(tree):
    r = mpi_intake(record=dy_record(), source="his-a", source_key="1",
                   facility=tree.facilities["370502H1"])
    assert r.outcome == "created" and not r.repeated
    assert r.link.method == "new" and r.link.person == r.person
    ident = PersonIdentifier.objects.get(person=r.person)
    assert ident.source == "his-a" and ident.is_primary
    assert r.link.record["id_masked"] == "370502********" + DY_ID[-4:]
    assert DY_ID not in str(r.link.record)  # only masked facts on the link
    assert PersonFacility.objects.filter(person=r.person,
                                         org_unit=tree.facilities["370502H1"]).exists()
    assert AuditLog.objects.filter(object_type="people.personlink",
                                   object_id=str(r.link.pk)).exists()
    assert OutboxEvent.objects.filter(topic="people.person.linked").count() == 1


def test_same_source_key_is_idempotent(tree):
    a = mpi_intake(record=dy_record(), source="his-a", source_key="1")
    b = mpi_intake(record=dy_record(name="完全不同"), source="his-a", source_key="1")
    assert b.person.pk == a.person.pk and b.link.pk == a.link.pk and b.repeated
    assert Person.objects.count() == 1 and PersonLink.objects.count() == 1


def test_valid_resident_id_is_a_sure_match_and_keeps_every_identifier(tree):
    a = mpi_intake(record=dy_record(), source="his-a", source_key="1")
    b = mpi_intake(record=dy_record(name="张 伟", phone="", other_identifiers=[
        ("03", "E12345678")]), source="lis", source_key="L-7")
    assert b.outcome == "matched" and b.person.pk == a.person.pk
    assert b.link.method == "identifier" and b.link.match_probability == 1.0
    sources = dict(PersonIdentifier.objects.filter(person=a.person)
                   .values_list("id_type", "source"))
    assert sources == {"01": "his-a", "03": "lis"}


def test_scored_match_links_automatically(tree):
    a = mpi_intake(record=dy_record(), source="his-a", source_key="1")
    # homophone surname, no ID, same phone, birth date and address: a sure scored match
    b = mpi_intake(record=dy_record(name="章伟", id_number=""), source="emr", source_key="E1")
    assert b.outcome == "matched" and b.person.pk == a.person.pk
    assert b.link.method == "probabilistic" and b.link.match_probability >= 0.95


def test_uncertain_match_creates_person_and_review_task(tree):
    first, second = review_case(tree)
    assert second.outcome == "review" and second.person.pk != first.person.pk
    (task,) = second.reviews
    assert task.candidate == first.person and task.state == ReviewState.OPEN
    assert 0.5 <= task.probability < 1
    assert task.org_unit.code == "370502001011"
    assert set(task.comparison) == {"name", "sex", "birth_date", "id_number", "phone",
                                    "address"}
    again = mpi_intake(record=dy_record(name="章伟", id_number="", phone=""),
                       source="his-b", source_key="9")
    assert again.outcome == "review" and again.repeated


def test_different_valid_ids_never_link_automatically(tree):
    a = mpi_intake(record=dy_record(), source="his-a", source_key="1")
    twin = mpi_intake(record=dy_record(id_number=DY_ID2, name="张伟"), source="his-a",
                      source_key="2")
    assert twin.person.pk != a.person.pk
    assert twin.outcome in ("created", "review")


def test_other_county_is_not_blocked_by_name_and_date(tree):
    mpi_intake(record=dy_record(id_number="", phone=""), source="his-a", source_key="1")
    r = mpi_intake(record=dy_record(id_number="", phone="", address_unit_code="370523001001"),
                   source="his-c", source_key="1")
    assert r.outcome == "created"


def test_invalid_resident_id_is_kept_for_matching_only(tree):
    typo = DY_ID[:-2] + str((int(DY_ID[-2]) + 1) % 10) + DY_ID[-1]
    r = mpi_intake(record=dy_record(id_number=typo), source="x", source_key="1")
    assert r.outcome == "created"
    assert not PersonIdentifier.objects.filter(person=r.person).exists()
    assert any(n.startswith("id_invalid") for n in r.link.record["notes"])


def test_bad_input_gives_field_errors(tree):
    with pytest.raises(ValidationFailed) as exc:
        mpi_intake(record=IncomingPerson(name="", sex=5, phone="12", address_unit_code="999",
                                         other_identifiers=[("77", "X1")]),
                   source="", source_key="")
    fields = {e.field for e in exc.value.errors}
    assert fields == {"source", "source_key"}
    with pytest.raises(ValidationFailed) as exc:
        mpi_intake(record=IncomingPerson(name="", sex=5, phone="12", address_unit_code="999",
                                         birth_date=date.today() + timedelta(days=3),
                                         other_identifiers=[("77", "X1")]),
                   source="s", source_key="k")
    fields = {e.field for e in exc.value.errors}
    assert fields == {"name", "sex", "phone", "address_unit_code", "birth_date",
                      "other_identifiers.0"}
    assert all(e.message and e.message_en for e in exc.value.errors)
    assert not PersonLink.objects.exists()


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=6))
def test_intake_is_idempotent_for_any_sequence(tree, keys):
    source = f"prop-{uuid.uuid4().hex[:8]}"  # examples share the database
    seen = {}
    for k in keys:
        r = mpi_intake(record=dy_record(name=f"王{k}", id_number="", phone=""),
                       source=source, source_key=k)
        assert seen.setdefault(k, r.person.pk) == r.person.pk
    assert PersonLink.objects.filter(source=source).count() == len(set(keys))


# --- steward decisions ------------------------------------------------------------------------

def test_accept_merges_and_unmerge_restores_exactly(tree, steward):
    first, second = review_case(tree)
    survivor, merged = first.person, second.person
    PersonIdentifier.objects.create(person=merged, id_type="03", number_encrypted=b"x",
                                    number_index="idx-passport", number_masked="E***78",
                                    source="his-b")
    before = {
        "links": sorted(PersonLink.objects.values_list("pk", "person_id")),
        "idents": sorted(PersonIdentifier.objects.values_list("pk", "person_id")),
        "facilities": sorted(PersonFacility.objects.values_list("person_id", "org_unit_id")),
        "persons": sorted(Person.objects.values_list("pk", "status", "merged_into_id",
                                                     "id_masked")),
    }
    (task,) = second.reviews
    review_accept(user=steward, review_id=task.pk, reason="同一人")
    merged.refresh_from_db()
    assert merged.status == PersonStatus.MERGED and merged.merged_into_id == survivor.pk
    assert set(PersonLink.objects.values_list("person_id", flat=True)) == {survivor.pk}
    assert PersonIdentifier.objects.filter(person=survivor, id_type="03").exists()
    event = OutboxEvent.objects.get(topic="people.person.merged")
    assert event.payload["survivor_id"] == survivor.pk
    assert event.payload["merged_id"] == merged.pk
    assert [e.record_type for e in timeline_for(user=steward, person_id=survivor.pk)
            ].count("people.personlink") == 2
    record = PersonMerge.objects.get()
    person_unmerge(user=steward, merge_id=record.pk, reason="误合并")
    after = {
        "links": sorted(PersonLink.objects.values_list("pk", "person_id")),
        "idents": sorted(PersonIdentifier.objects.values_list("pk", "person_id")),
        "facilities": sorted(PersonFacility.objects.values_list("person_id", "org_unit_id")),
        "persons": sorted(Person.objects.values_list("pk", "status", "merged_into_id",
                                                     "id_masked")),
    }
    assert after == before
    task.refresh_from_db()
    assert task.state == ReviewState.OPEN and task.decided_by is None
    assert OutboxEvent.objects.filter(topic="people.person.unmerged").count() == 1
    actions = list(AuditLog.objects.filter(object_type="people.personmerge")
                   .values_list("detail__action", flat=True))
    assert {"merge", "unmerge"} <= set(actions)
    with pytest.raises(Conflict):
        person_unmerge(user=steward, merge_id=record.pk, reason="再次撤销")


def test_reject_needs_a_reason_and_second_decision_conflicts(tree, steward):
    _, second = review_case(tree)
    (task,) = second.reviews
    with pytest.raises(ValidationFailed) as exc:
        review_reject(user=steward, review_id=task.pk, reason=" ")
    assert exc.value.errors[0].field == "reason"
    review_reject(user=steward, review_id=task.pk, reason="双胞胎，不同人")
    with pytest.raises(Conflict) as exc:
        review_accept(user=steward, review_id=task.pk)
    assert exc.value.status == 409 and steward.username in exc.value.message
    assert Person.objects.filter(status=PersonStatus.ACTIVE).count() == 2


def test_unmerge_refused_while_a_later_merge_builds_on_it(tree, steward):
    a = mpi_intake(record=dy_record(), source="s", source_key="1").person
    b = mpi_intake(record=dy_record(name="李四", id_number="", phone="13800000001",
                                    birth_date=date(1970, 5, 5)), source="s", source_key="2").person
    c = mpi_intake(record=dy_record(name="王五", id_number="", phone="13800000002",
                                    birth_date=date(1960, 6, 6)), source="s", source_key="3").person
    m1 = person_merge(user=steward, survivor_id=b.pk, merged_id=c.pk, reason="同一人")
    person_merge(user=steward, survivor_id=a.pk, merged_id=b.pk, reason="同一人")
    with pytest.raises(Conflict):
        person_unmerge(user=steward, merge_id=m1.pk, reason="撤销")
    ids = [e.record_id for e in timeline_for(user=steward, person_id=a.pk)
           if e.record_type == "people.personlink"]
    assert len(ids) == 3  # merged persons' links, through two merges


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db(transaction=True)
def test_concurrent_decisions_one_wins(tree, steward):
    _, second = review_case(tree)
    (task,) = second.reviews
    results: list = []
    barrier = threading.Barrier(2)

    def decide(kind):
        from django.db import connection as conn

        try:
            barrier.wait()
            if kind == "accept":
                review_accept(user=steward, review_id=task.pk, reason="同一人")
            else:
                review_reject(user=steward, review_id=task.pk, reason="不同人")
            results.append("ok")
        except Conflict:
            results.append("conflict")
        finally:
            conn.close()

    threads = [threading.Thread(target=decide, args=(k,)) for k in ("accept", "reject")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict", "ok"]
    assert connection.vendor == "postgresql"


# --- timeline registry ----------------------------------------------------------------------

def test_timeline_merges_sources_newest_first_and_survives_a_failing_source(tree, steward):
    first, _ = review_case(tree)
    calls = {}

    def fetch(*, person_ids, user):
        calls["ids"], calls["user"] = person_ids, user
        yield TimelineEntry(at=timezone.now() + timedelta(days=1), module="notifiable",
                            kind="report", title="传染病报告卡", title_en="Report")
        yield TimelineEntry(at=datetime(2000, 1, 1, tzinfo=timezone.get_current_timezone()),
                            module="notifiable", kind="old", title="旧", title_en="Old")

    def broken(*, person_ids, user):
        raise RuntimeError("module bug")

    register_timeline_source("test.reports", "报告", "Reports", fetch)
    register_timeline_source("test.broken", "坏", "Broken", broken)
    try:
        entries = timeline_for(user=steward, person_id=first.person.pk)
    finally:
        unregister_timeline_source("test.reports")
        unregister_timeline_source("test.broken")
    assert calls["ids"] == [first.person.pk] and calls["user"] == steward
    assert entries[0].kind == "report" and entries[-1].kind == "old"
    assert [e.at for e in entries] == sorted((e.at for e in entries), reverse=True)
    assert {"created", "identifier", "source_record"} <= {e.kind for e in entries}


def test_demo_setup_fills_the_queue(tree):
    for k in range(4):
        mpi_intake(record=dy_record(name=f"张{'伟敏静丽'[k]}", id_number="",
                                    phone=f"1381234567{k}",
                                    birth_date=date(1980 + k, 1, 1)),
                   source="seed", source_key=str(k))
    results = mpi_demo_records(count=4)
    assert results and {r.outcome for r in results} <= {"review", "matched", "created"}
    assert sum(mpi_demo_setup(count=4).values()) == len(results)  # the same records again
    assert MatchReview.objects.filter(state=ReviewState.OPEN).exists()
