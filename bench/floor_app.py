"""The floor: a bare Flask app answering with ready bytes from memory, with an ETag and 304.

What a perfect cache hit can cost in Flask on this machine. bench/run starts it under the
same gunicorn.conf.py as feedsvc and gives it the exact bodies and headers feedsvc sent,
through a JSON manifest named by BENCH_FLOOR_MANIFEST:
``{"/path": {"content_type": str, "variants": {"identity"|"gzip": {"file": str, "etag": str}}}}``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from flask import Flask, Response, request

app = Flask(__name__)
_DOCS: dict[str, tuple[str, dict[str, tuple[bytes, str]]]] = {}


def _load(manifest: str) -> None:
    for path, doc in json.loads(Path(manifest).read_text()).items():
        variants = {enc: (Path(v["file"]).read_bytes(), v["etag"]) for enc, v in doc["variants"].items()}
        _DOCS[path] = (doc["content_type"], variants)


if os.environ.get("BENCH_FLOOR_MANIFEST"):
    _load(os.environ["BENCH_FLOOR_MANIFEST"])


@app.route("/", defaults={"path": ""})
@app.route("/<path:path>")
def serve(path: str) -> Response:
    """The stored bytes of this path and query (gzip when accepted and stored), or 304, or 404."""
    qs = request.query_string.decode("latin-1")
    doc = _DOCS.get("/" + path + (f"?{qs}" if qs else ""))
    if doc is None:
        return Response(b"not found", 404)
    content_type, variants = doc
    enc = "gzip" if "gzip" in request.headers.get("Accept-Encoding", "") and "gzip" in variants else "identity"
    body, etag = variants[enc]
    headers = {"ETag": etag, "Vary": "Accept-Encoding"}
    if enc == "gzip":
        headers["Content-Encoding"] = "gzip"
    if request.headers.get("If-None-Match") == etag:
        return Response(status=304, headers=headers)
    return Response(body, 200, headers=headers, content_type=content_type)
