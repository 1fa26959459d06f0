"""Audit rows are append-only at the database (SECURITY.md §8 item 21): UPDATE is refused,
DELETE only for rows older than the legal minimum of 180 days (retention purge)."""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER audit_auditlog_no_update BEFORE UPDATE ON audit_auditlog
       BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;""",
    """CREATE TRIGGER audit_auditlog_no_early_delete BEFORE DELETE ON audit_auditlog
       WHEN OLD.occurred_at > datetime('now', '-180 days')
       BEGIN SELECT RAISE(ABORT, 'audit rows younger than 180 days cannot be deleted'); END;""",
]
SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS audit_auditlog_no_update;",
                  "DROP TRIGGER IF EXISTS audit_auditlog_no_early_delete;"]

POSTGRES = [
    """CREATE OR REPLACE FUNCTION audit_auditlog_guard() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'UPDATE' THEN
           RAISE EXCEPTION 'audit rows are append-only';
         END IF;
         IF OLD.occurred_at > now() - interval '180 days' THEN
           RAISE EXCEPTION 'audit rows younger than 180 days cannot be deleted';
         END IF;
         RETURN OLD;
       END; $$ LANGUAGE plpgsql;""",
    """CREATE TRIGGER audit_auditlog_guard BEFORE UPDATE OR DELETE ON audit_auditlog
       FOR EACH ROW EXECUTE FUNCTION audit_auditlog_guard();""",
    """CREATE OR REPLACE FUNCTION audit_auditlog_no_truncate() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit rows are append-only'; END; $$ LANGUAGE plpgsql;""",
    """CREATE TRIGGER audit_auditlog_no_truncate BEFORE TRUNCATE ON audit_auditlog
       FOR EACH STATEMENT EXECUTE FUNCTION audit_auditlog_no_truncate();""",
]
POSTGRES_REVERSE = ["DROP TRIGGER IF EXISTS audit_auditlog_guard ON audit_auditlog;",
                    "DROP TRIGGER IF EXISTS audit_auditlog_no_truncate ON audit_auditlog;",
                    "DROP FUNCTION IF EXISTS audit_auditlog_guard();",
                    "DROP FUNCTION IF EXISTS audit_auditlog_no_truncate();"]


def install_guard(connection) -> None:
    statements = POSTGRES if connection.vendor == "postgresql" else SQLITE
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def forwards(apps, schema_editor):
    from django.conf import settings

    # The test settings leave the guard out so that transactional tests can flush the
    # database between tests; the append-only tests install it themselves.
    if getattr(settings, "PHIS_AUDIT_DB_GUARD", True):
        install_guard(schema_editor.connection)


def backwards(apps, schema_editor):
    statements = (POSTGRES_REVERSE if schema_editor.connection.vendor == "postgresql"
                  else SQLITE_REVERSE)
    with schema_editor.connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
