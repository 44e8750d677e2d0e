"""On PostgreSQL, the database itself refuses UPDATE and DELETE on ledger rows.

The ORM already refuses them; the trigger also stops raw SQL and other clients. TRUNCATE (used
by test-database flushes) is not affected. Other databases rely on the ORM guard.
"""

from django.db import migrations

TABLES = ("wa_consent_consentevent", "wa_consent_consentwording")

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION wa_consent_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the WhatsApp consent ledger is append-only (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION, params=None)  # None: the "%" in it are not placeholders
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION wa_consent_refuse_change()"
        )


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS wa_consent_refuse_change()")


class Migration(migrations.Migration):
    dependencies = [("wa_consent", "0001_initial")]

    operations = [migrations.RunPython(create_triggers, drop_triggers, elidable=False)]
