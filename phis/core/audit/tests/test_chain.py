from datetime import timedelta
from importlib import import_module

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from phis.core.audit.models import AuditLog
from phis.core.audit.selectors import audit_chain_verify
from phis.core.audit.services import audit_purge_expired, audit_record
from phis.core.audit.types import AuditEventType

GUARD = import_module("phis.core.audit.migrations.0002_append_only_triggers")
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def guard(db):
    """The database guard as production installs it (test settings leave it out)."""
    GUARD.install_guard(connection)


def _rows(n=5):
    return [audit_record(event=AuditEventType.RECORD_VIEWED, object_type="t", object_id=i,
                         purpose="test") for i in range(n)]


def _without_guard(sql: str, params=()):
    """What an attacker with database rights can do: switch the triggers off and edit."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditlog DISABLE TRIGGER audit_auditlog_guard")
            cursor.execute(sql, params)
            cursor.execute("ALTER TABLE audit_auditlog ENABLE TRIGGER audit_auditlog_guard")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS audit_auditlog_no_update")
            cursor.execute("DROP TRIGGER IF EXISTS audit_auditlog_no_early_delete")
            cursor.execute(sql, params)
            for trigger in GUARD.SQLITE:
                cursor.execute(trigger)


def test_untouched_chain_verifies():
    _rows()
    report = audit_chain_verify()
    assert report.ok and report.rows_checked == 5
    call_command("audit", "verify")


def test_update_and_delete_are_refused_by_the_database():
    rows = _rows(2)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditlog SET purpose = 'x' WHERE id = %s", [rows[0].id])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditlog WHERE id = %s", [rows[0].id])


def test_edited_row_is_found():
    rows = _rows()
    _without_guard("UPDATE audit_auditlog SET purpose = 'changed' WHERE id = %s", [rows[2].id])
    report = audit_chain_verify()
    assert not report.ok and report.first_bad_id == rows[2].id
    with pytest.raises(CommandError, match=f"row {rows[2].id}"):
        call_command("audit", "verify")


def test_deleted_row_is_found():
    rows = _rows()
    _without_guard("DELETE FROM audit_auditlog WHERE id = %s", [rows[1].id])
    report = audit_chain_verify()
    assert not report.ok and report.first_bad_id == rows[2].id
    assert "missing" in report.problem


def test_deleted_newest_row_is_found():
    rows = _rows()
    _without_guard("DELETE FROM audit_auditlog WHERE id = %s", [rows[-1].id])
    assert not audit_chain_verify().ok


def test_inserted_row_is_found():
    rows = _rows(3)
    forged = {f.attname: getattr(rows[1], f.attname) for f in AuditLog._meta.concrete_fields}
    _without_guard("UPDATE audit_auditlog SET id = id + 100 WHERE id = %s", [rows[2].id])
    forged["id"] = rows[2].id
    forged["purpose"] = "forged"
    AuditLog.objects.bulk_create([AuditLog(**forged)])
    report = audit_chain_verify()
    assert not report.ok


def test_purge_keeps_young_rows_and_chain_verifies():
    _rows(3)
    if True:  # age the first two rows (test-only back-dating)
        _without_guard("UPDATE audit_auditlog SET occurred_at = %s WHERE id <= 2",
                       [timezone.now() - timedelta(days=400)])
    # back-dating changed the MACs: rebuild rows 1-2 as if they were written then
    from phis.core.audit.chain import GENESIS, row_mac
    from phis.core.audit.models import AuditChainHead

    prev = GENESIS
    for row in AuditLog.objects.order_by("id").values():
        row_hash = row_mac(prev, row)
        _without_guard("UPDATE audit_auditlog SET prev_hash=%s, row_hash=%s WHERE id=%s",
                       [prev, row_hash, row["id"]])
        prev = row_hash
    AuditChainHead.objects.filter(pk=1).update(last_hash=prev)
    assert audit_chain_verify().ok
    assert audit_purge_expired() == 2
    assert AuditLog.objects.filter(id__lte=2).count() == 0
    assert audit_chain_verify().ok  # anchored at the last purged row


def test_audit_failure_rolls_back_the_business_write(tree, monkeypatch):
    """SECURITY.md §8 item 23: no audit row, no change."""
    from phis.core.orgunits.models import OrgUnit
    from phis.core.people.services import PersonInput, person_create

    def broken(*a, **k):
        raise RuntimeError("audit store down")

    monkeypatch.setattr("phis.core.audit.services.row_mac", broken)
    before = OrgUnit.objects.count()
    with pytest.raises(RuntimeError):
        person_create(data=PersonInput(name="张三", sex=1))
    from phis.core.people.models import Person

    assert Person.objects.count() == 0
    assert OrgUnit.objects.count() == before
