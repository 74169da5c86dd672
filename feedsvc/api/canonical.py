"""Canonical JSON bytes of the API: what ``json.dumps(doc, sort_keys=True, ensure_ascii=False,
separators=(",", ":")).encode()`` gives, byte for byte, but cheaper for long strings.

The stdlib's C string escaper (``ensure_ascii=False``) walks a non-ASCII string one code point
at a time: for a page of posts, whose ``content_html`` and ``content_text`` are most of the
bytes, that was most of the encoding time. Long strings are instead escaped on their UTF-8
bytes with ``bytes.replace`` (a handful of fast passes) and spliced into the document's bytes;
a long string holding a control character other than TAB, LF or CR (never in sanitised
content) takes the stdlib escaper, so the output is the same for every input.
"""

from __future__ import annotations

import json
import json.encoder
from typing import Any

_dumps_kw: dict[str, Any] = {"sort_keys": True, "ensure_ascii": False, "separators": (",", ":")}
#: The stdlib's escaper for ``ensure_ascii=False`` (``"`` + escaped + ``"``).
_escape = json.encoder.encode_basestring
#: The stdlib's C encoder (None on interpreters without ``_json``: then plain json.dumps).
_make_encoder = getattr(json.encoder, "c_make_encoder", None)
#: Strings at least this long are escaped as UTF-8 bytes (shorter ones: the C escaper is cheaper).
LONG = 512
#: Stands for a long string in the encoder's text. Never there otherwise: a JSON text escapes NUL.
_SPLICE = "\0"
#: Maps the control bytes that ``_escape`` writes as ``\\uXXXX``, ``\\b`` or ``\\f`` to 0, others to 1.
_OTHER_CONTROLS = bytes(0 if i < 0x20 and i not in (0x09, 0x0A, 0x0D) else 1 for i in range(256))


def _escape_utf8(s: str) -> bytes:
    """``_escape(s).encode()``, computed on the UTF-8 bytes (a lone surrogate raises the same error)."""
    b = s.encode()
    if b"\0" in b.translate(_OTHER_CONTROLS):
        return _escape(s).encode()
    # UTF-8 multi-byte sequences hold no byte below 0x80, so byte-wise replacing is exact.
    return b'"' + (b.replace(b"\\", b"\\\\").replace(b'"', b'\\"').replace(b"\n", b"\\n")
                   .replace(b"\r", b"\\r").replace(b"\t", b"\\t")) + b'"'


def _no_default(o: Any) -> Any:
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


def to_json(doc: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, UTF-8, compact (same content, same bytes)."""
    if _make_encoder is None:
        return json.dumps(doc, **_dumps_kw).encode()
    spliced: list[bytes] = []

    def encode_str(s: str) -> str:
        if len(s) < LONG:
            return _escape(s)
        spliced.append(_escape_utf8(s))
        return _SPLICE

    # The arguments json.dumps gives it for these options (markers: circular reference check).
    encoder = _make_encoder({}, _no_default, encode_str, None, ":", ",", True, False, True)
    data = "".join(encoder(doc, 0)).encode()
    if not spliced:
        return data
    parts = data.split(b"\0")
    out = [parts[0]]
    for chunk, part in zip(spliced, parts[1:]):
        out.append(chunk)
        out.append(part)
    return b"".join(out)
