"""Checks of the documents families send (proofs of address, report
attachments): by content, not by name."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from portail.typography import file_size

# The first bytes of each accepted format.
SIGNATURES = {
    b"%PDF-": ("application/pdf", "pdf"),
    b"\x89PNG\r\n\x1a\n": ("image/png", "png"),
    b"\xff\xd8\xff": ("image/jpeg", "jpg"),
}


@dataclass(frozen=True)
class CheckedFile:
    upload: UploadedFile
    content_type: str
    extension: str
    size: int


def check_document(upload: UploadedFile) -> CheckedFile:
    """A PDF, JPEG or PNG of at most PORTAIL_MAX_UPLOAD_BYTES, or a French
    ValidationError naming the file."""
    limit = settings.PORTAIL_MAX_UPLOAD_BYTES
    name = upload.name or "?"
    if upload.size is None or upload.size > limit:
        raise ValidationError(
            _("« %(name)s » is larger than %(limit)s.")
            % {"name": name, "limit": file_size(limit)}
        )
    if upload.size == 0:
        raise ValidationError(_("« %(name)s » is empty.") % {"name": name})
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for signature, (content_type, extension) in SIGNATURES.items():
        if head.startswith(signature):
            return CheckedFile(upload, content_type, extension, upload.size)
    raise ValidationError(
        _(
            "« %(name)s » is not a PDF, JPEG or PNG document. Scan or photograph "
            "the document and send it in one of these formats."
        )
        % {"name": name}
    )
