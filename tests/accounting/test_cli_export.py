"""`omni export-journal`: the journal to a file or to standard output, in
CSV or QuickBooks IIF; bad arguments name the flag and write nothing."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest

from omniretail.cli import main
from omniretail.core.models import AuditLog
from tests.accounting.test_export import parse_iif

pytestmark = pytest.mark.django_db

FEB = ["--from", "2025-02-01", "--to", "2025-02-28"]


def test_csv_to_a_file(books, tmp_path, capsys):
    out = tmp_path / "feb.csv"
    assert main(["export-journal", "--format", "csv", *FEB, "--output", str(out)]) == 0
    assert "15 line(s) written to" in capsys.readouterr().err  # header + 14 journal lines
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 14
    assert sum(Decimal(r["debit"]) for r in rows) == sum(Decimal(r["credit"]) for r in rows)
    assert AuditLog.objects.get(action="books.export").data == {
        "format": "csv",
        "from": "2025-02-01",
        "to": "2025-02-28",
    }


def test_iif_of_one_store_to_standard_output(books, capsysbinary):
    assert main(["export-journal", "--format", "iif", *FEB, "--store", "paris"]) == 0
    (t,) = parse_iif(capsysbinary.readouterr().out.decode("cp1252"))
    assert t["trns"]["DOCNUM"] == str(books.entries["paris-sale"].pk)
    assert [(r["ACCNT"], r["AMOUNT"]) for r in [t["trns"], *t["spl"]]] == [
        ("Cash in drawers", "60.00"),
        ("Sales revenue", "-50.00"),
        ("Sales tax / VAT payable", "-10.00"),
    ]


def test_bad_arguments_name_the_flag(books, tmp_path, capsys):
    out = tmp_path / "never.csv"
    with pytest.raises(SystemExit) as exited:
        main(["export-journal", "--from", "2025-02-31", "--to", "2025-03-01", "--output", str(out)])
    assert exited.value.code == 2
    assert (
        "argument --from: '2025-02-31' is not a date; write it as YYYY-MM-DD"
        in capsys.readouterr().err
    )
    assert main(["export-journal", "--from", "2025-03-01", "--to", "2025-02-01"]) == 2
    assert "--to: The end date 2025-02-01 is before the start date" in capsys.readouterr().err
    assert main(["export-journal", *FEB, "--store", "atlantis"]) == 2
    assert "--store: no store with code 'atlantis'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export-journal", "--format", "xlsx", *FEB])
    assert not out.exists()
    assert not AuditLog.objects.filter(action="books.export").exists()


def test_help(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["export-journal", "--help"])
    assert exited.value.code == 0
    assert "--format {csv,iif}" in capsys.readouterr().out
