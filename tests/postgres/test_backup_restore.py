"""The documented backup (deploy/backup.sh) restores into a new database
with the same families, invoices and payments (PostgreSQL)."""

import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from factures.models import Invoice
from familles.models import Family
from paiements.models import Payment
from paiements.services import payment_record_desk
from tests.factories import FamilyFactory, GuardianFactory, InvoiceFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
BASH = shutil.which("bash") or "/bin/bash"


def url(name: str) -> str:
    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    host = s.get("HOST") or "127.0.0.1"
    return f"postgresql://{user}@{host}:{s.get('PORT') or 5432}/{name}"


def test_a_backup_restores_families_invoices_and_payments(tmp_path):
    for number in range(3):
        family = FamilyFactory()
        GuardianFactory(family=family)
        invoice = InvoiceFactory(family=family, total=Decimal("30.00"))
        payment_record_desk(
            family=family,
            method=Payment.Method.CASH,
            amount=Decimal("10.00") + number,
            allocations={invoice.pk: Decimal("10.00") + number},
            agent=None,
        )
    source = connection.settings_dict["NAME"]
    target = f"{source}_restore"
    env = {**os.environ, "DATABASE_URL": url(source), "PORTAIL_VAR_DIR": str(tmp_path)}
    dump = (
        subprocess.run(  # noqa: S603 - the project's own script
            [BASH, str(ROOT / "deploy/backup.sh"), str(tmp_path / "backups")],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    # Every family's data: readable by the backup's owner alone.
    assert os.stat(dump).st_mode & 0o777 == 0o600
    assert os.stat(tmp_path / "backups").st_mode & 0o777 == 0o700
    with psycopg.connect(url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{target}"')
        admin.execute(f'CREATE DATABASE "{target}"')
    try:
        subprocess.run(  # noqa: S603 - the project's own script
            [BASH, str(ROOT / "deploy/restore.sh"), dump, url(target)],
            capture_output=True,
            text=True,
            check=True,
        )
        with psycopg.connect(url(target)) as restored:
            families = restored.execute(
                "SELECT identifier FROM familles_family ORDER BY identifier"
            ).fetchall()
            invoices = restored.execute(
                "SELECT number, total FROM factures_invoice ORDER BY number"
            ).fetchall()
            payments = restored.execute(
                "SELECT number, amount FROM paiements_payment ORDER BY number"
            ).fetchall()
    finally:
        with psycopg.connect(url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{target}"')

    assert [row[0] for row in families] == sorted(
        f.identifier for f in Family.objects.all()
    )
    assert invoices == sorted(Invoice.objects.values_list("number", "total"))
    assert payments == sorted(Payment.objects.values_list("number", "amount"))
    assert len(payments) == 3
