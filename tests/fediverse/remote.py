"""A remote fediverse actor on loopback for the tests, built on bovine (an independent implementation).

It serves its actor document (an RSA key made by bovine) over HTTP in a thread, signs the
requests it sends to feedsvc's inbox with bovine's draft-cavage signer, and records every
delivery to its inbox with the verdict of bovine's signature checker. While ``fail`` is set
its inbox answers ``fail_status`` (503, or 410 for an account that is gone) and records the
refused attempts; ``gone`` makes its actor document answer 410 too.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bovine.crypto import build_validate_http_signature_raw, generate_rsa_public_private_key
from bovine.crypto.helper import content_digest_sha256
from bovine.crypto.http_signature import HttpSignature
from bovine.crypto.types import CryptographicIdentifier, CryptographicSecret


class Remote:
    """One remote actor (``http://127.0.0.1:<port>/users/alice``) with an inbox that records deliveries."""

    def __init__(self, our_key: tuple[str, str] | None = None, fail: bool = False) -> None:
        self.public, self.private = generate_rsa_public_private_key()
        self.received: list[dict[str, Any]] = []
        self.refused: list[dict[str, Any]] = []
        self.fail = fail
        self.fail_status = 503
        self.gone = False
        self.our_key = our_key  # (feedsvc's public key PEM, its actor id), for bovine's checker
        remote = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if remote.gone:
                    self.send_response(410)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps(remote.document()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/activity+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if remote.fail:
                    remote.refused.append({"path": self.path, "headers": headers, "body": body})
                    self.send_response(remote.fail_status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                remote.received.append(
                    {
                        "path": self.path,
                        "headers": headers,
                        "body": body,
                        "activity": json.loads(body),
                        "verified_by": remote.check(self.path, headers, body),
                    }
                )
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.id = f"{self.base}/users/alice"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def document(self) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.id,
            "type": "Person",
            "preferredUsername": "alice",
            "inbox": self.id + "/inbox",
            "endpoints": {"sharedInbox": self.base + "/inbox"},
            "publicKey": {"id": self.id + "#main-key", "owner": self.id, "publicKeyPem": self.public},
        }

    def check(self, path: str, headers: dict[str, str], body: bytes) -> str | None:
        """bovine's verdict on a delivery's signature: the signer's actor id, or None."""
        assert self.our_key is not None

        async def key(key_id: str) -> CryptographicIdentifier:
            return CryptographicIdentifier.from_pem(*self.our_key)

        async def get_body() -> bytes:
            return body

        validate = build_validate_http_signature_raw(key)
        return asyncio.run(validate("post", self.base + path, headers, get_body))

    def signed(
        self,
        path: str,
        activity: dict[str, Any] | bytes,
        key_id: str | None = None,
        host: str = "news.example.org",
        date: str | None = None,
        private: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """(body, headers) of a POST to feedsvc's ``path`` signed by bovine with this actor's key."""
        body = activity if isinstance(activity, bytes) else json.dumps(activity).encode()
        date = date or formatdate(usegmt=True)
        digest = content_digest_sha256(body, prefix="SHA-256")
        sig = (
            HttpSignature()
            .with_field("(request-target)", f"post {path}")
            .with_field("host", host)
            .with_field("date", date)
            .with_field("digest", digest)
            .with_field("content-type", "application/activity+json")
            .sign_for_http_draft(CryptographicSecret.from_pem(key_id or self.id + "#main-key", private or self.private))
        )
        return body, {"Host": host, "Date": date, "Digest": digest, "Content-Type": "application/activity+json", "Signature": sig}

    def follow(self, target: str) -> dict[str, Any]:
        return {"id": f"{self.id}/follows/{uuid.uuid4().hex}", "type": "Follow", "actor": self.id, "object": target}

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
