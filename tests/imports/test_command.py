"""The wa_import_opt_ins management command: dry run, real run, masked output, exit codes."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from wagtail_wa_consent.consent.models import ConsentEvent

from . import DE, RU, SA, csv_bytes, row, table_counts

pytestmark = pytest.mark.django_db


def command(path, *args: str) -> str:
    out = StringIO()
    call_command("wa_import_opt_ins", str(path), *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def good_file(tmp_path):
    path = tmp_path / "opt-ins.csv"
    path.write_bytes(csv_bytes([row(DE), row("050 123 4567", "transactional")], delimiter=";", bom=True))
    return path


def test_dry_run_prints_the_plan_and_writes_nothing(good_file):
    before = table_counts()
    output = command(good_file, "--dry-run", "--region", "SA")
    assert table_counts() == before
    assert "row 2: +49 151 ••••• 89: would import marketing (level unknown, opted in 2023-04-01)" in output
    assert "row 3: +966 501 ••••• 67: would import transactional" in output
    assert "Dry run, nothing written" in output and "2 to import, 0 unchanged, 0 refused" in output
    assert "1 row(s) include marketing" in output
    assert DE not in output and SA not in output  # masked


def test_real_run_imports_and_a_second_run_changes_nothing(good_file):
    output = command(good_file, "--region", "SA")
    assert "2 imported, 0 unchanged, 0 refused" in output
    assert set(ConsentEvent.objects.values_list("source", "actor")) == {("import", "import")}
    output = command(good_file, "--region", "SA")
    assert "0 imported, 2 unchanged, 0 refused" in output


def test_refused_rows_exit_with_code_2_after_importing_the_rest(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes(csv_bytes([row(DE), row(RU, opted_in_at="2099-01-01"), row("nonsense")]))
    out = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("wa_import_opt_ins", str(path), stdout=out)
    assert caught.value.returncode == 2
    assert "2 row(s) refused" in str(caught.value)
    printed = out.getvalue()
    assert "row 3: +7 912 ••••• 89: refused (future_date)" in printed
    assert "row 4: •••••: refused (invalid_phone)" in printed
    assert "(future_date 1, invalid_phone 1)" in printed
    assert ConsentEvent.objects.filter(contact__phone_e164=DE).exists()


def test_refused_file_exits_with_code_1(tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_bytes(b"name,email\r\nAnna,anna@example.com\r\n")
    with pytest.raises(CommandError) as caught:
        command(path)
    assert caught.value.returncode == 1
    assert "nothing imported" in str(caught.value) and "lacks the columns" in str(caught.value)


def test_missing_file_and_unknown_region(tmp_path, good_file):
    with pytest.raises(CommandError, match="Cannot read"):
        command(tmp_path / "nope.csv")
    with pytest.raises(CommandError, match="two-letter country code"):
        command(good_file, "--region", "XYZ")
