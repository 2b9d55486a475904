"""Every PDF is rendered without fetching anything: a `file:` URL in a
document (through text a family typed, say) is never read."""

import struct
import zlib
from pathlib import Path

from weasyprint import HTML

from portail.pdf import html_pdf


def png_1x1() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


def test_a_document_reads_no_file(tmp_path: Path):
    image = tmp_path / "secret.png"
    image.write_bytes(png_1x1())
    html = f'<p>Reçu</p><img src="file://{image}">'

    ours = html_pdf(html)
    weasyprints_default = HTML(string=html).write_pdf()

    assert b"/Subtype /Image" in weasyprints_default  # the default reads it
    assert b"/Subtype /Image" not in ours
