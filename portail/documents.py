"""What the documents sent to a family (PDFs, e-mails) show besides their own
data. The apps above add to it by answering `document_context` (payments:
the payment dates), so that the apps below need not import them."""

from typing import Any

from django.dispatch import Signal

# Receivers return a dict of template variables.
document_context = Signal()


def document_extras() -> dict[str, Any]:
    extras: dict[str, Any] = {}
    for _receiver, values in document_context.send(sender=None):
        if isinstance(values, dict):
            extras.update(values)
    return extras
