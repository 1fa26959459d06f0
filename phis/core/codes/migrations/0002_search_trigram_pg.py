"""PostgreSQL only: a trigram GIN index so `search_text LIKE '%…%'` (Chinese, English and
pinyin "contains" search) is an index scan. Skipped on SQLite, and skipped with a notice when
the pg_trgm extension cannot be created (no privilege); search still works, unindexed."""

from django.db import migrations, transaction


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # noqa: BLE001 - a missing privilege must not stop migrate
        print(f"\n  codes: pg_trgm not available ({exc}); search_text stays unindexed")
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS codes_concept_search_trgm ON codes_concept "
        "USING gin (search_text gin_trgm_ops)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS codes_concept_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("codes", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
