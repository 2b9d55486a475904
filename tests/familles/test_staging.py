"""Documents held between *Suivant* and *Valider* (issue 21): each family's
own folder, never more than two full sets of documents in it, a day at most."""

import datetime
import os
import time

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from familles.models import AddressChangeRequest
from familles.services import address_change_submit
from familles.staging import STAGING, purge_staging, staging_quota
from tests.familles.test_dossier import PDF, address_data, payload_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_uploads(settings):  # noqa: ANN001, ANN201
    """One document of at most 1,000 bytes per form: a quota of 2,000."""
    settings.PORTAIL_MAX_UPLOAD_BYTES = 1000
    settings.PORTAIL_MAX_UPLOAD_FILES = 1
    assert staging_quota() == 2000


def proof(size: int = 800) -> SimpleUploadedFile:
    return SimpleUploadedFile("facture.pdf", PDF + b"0" * (size - len(PDF)))


def staged_bytes(family) -> int:  # noqa: ANN001
    folder = f"{STAGING}/{family.pk}"
    if not default_storage.exists(folder):
        return 0
    names = default_storage.listdir(folder)[1]
    return sum(default_storage.size(f"{folder}/{name}") for name in names)


def test_a_family_never_holds_more_than_its_quota_unvalidated(
    client, parent, small_uploads
):
    client.force_login(parent)
    steps = []
    for _ in range(6):
        steps.append(
            client.post(reverse("familles:address_edit"), address_data(proof()))
        )
        time.sleep(0.01)  # distinct modification times

    assert all(step.status_code == 302 for step in steps)
    assert 0 < staged_bytes(parent.family) <= 2000
    # The oldest forms' documents were dropped: validating one says so and
    # records nothing; the last one goes through.
    old = client.post(reverse("familles:address_review"), {"p": payload_of(steps[0])})
    assert old.status_code == 302 and AddressChangeRequest.objects.count() == 0
    client.post(reverse("familles:address_review"), {"p": payload_of(steps[-1])})
    assert AddressChangeRequest.objects.get().proofs.count() == 1


def test_another_familys_staged_file_is_refused_by_the_service(
    client, parent, other_family
):
    client.force_login(parent)
    step = client.post(reverse("familles:address_edit"), address_data(proof()))
    assert step.status_code == 302
    folder = f"{STAGING}/{parent.family.pk}"
    name = default_storage.listdir(folder)[1][0]
    entry = {
        "path": f"{folder}/{name}",
        "name": "facture.pdf",
        "content_type": "application/pdf",
        "size": 800,
    }

    with pytest.raises(ValidationError, match="expiré"):
        address_change_submit(
            family=other_family,
            address={
                "address_line1": "1 rue des Goyaviers",
                "address_line2": "",
                "postal_code": "97170",
                "city": "Petit-Bourg",
            },
            staged=[entry],
            user=None,
            request_key="k" * 32,
        )
    assert AddressChangeRequest.objects.count() == 0
    assert default_storage.exists(entry["path"])


def test_the_daily_purge_reaches_the_families_folders(client, parent):
    client.force_login(parent)
    client.post(reverse("familles:address_edit"), address_data(proof()))
    folder = f"{STAGING}/{parent.family.pk}"
    path = default_storage.path(f"{folder}/{default_storage.listdir(folder)[1][0]}")
    fresh = default_storage.save(f"{STAGING}/{parent.family.pk}/fresh", proof())
    # The files' times from the tests' clock (which may be another day than
    # the file system's): one two days old, one just written.
    now = time.time()
    old = now - datetime.timedelta(days=2).total_seconds()
    os.utime(path, (old, old))
    os.utime(default_storage.path(fresh), (now, now))

    assert purge_staging() == 1
    assert not os.path.exists(path) and default_storage.exists(fresh)
