"""The portal answers GET, HEAD, POST and OPTIONS only; a 405 is explained in
French."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method", ["put", "patch", "delete", "trace"])
def test_other_methods_are_refused_on_every_page(client, parent, method):
    client.force_login(parent)

    for url in [reverse("home"), reverse("familles:dossier"), reverse("help")]:
        response = getattr(client, method)(url)

        assert response.status_code == 405, (method, url)
        assert "Action impossible" in response.text
        assert "PUT" not in response["Allow"]


def test_a_get_where_only_post_is_taken_is_explained(client):
    response = client.get(reverse("paiements:stripe_webhook"))

    assert response.status_code == 405
    assert "Action impossible" in response.text
