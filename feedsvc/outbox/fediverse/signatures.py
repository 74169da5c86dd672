"""The actor's key pair and HTTP Signatures (draft-cavage-http-signatures-12, as Mastodon signs and checks).

Spec: https://datatracker.ietf.org/doc/html/draft-cavage-http-signatures-12 and
https://docs.joinmastodon.org/spec/security/. A POST is signed over ``(request-target)``,
``host``, ``date``, ``digest`` (RFC 3230 ``SHA-256=``) and ``content-type`` with
``rsa-sha256``. The key pair is made at first start and kept at FEEDSVC_ACTIVITYPUB_KEY
(created mode 0600, written once: a second process reads the first one's key). This
module is the only importer of ``cryptography``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

#: Headers every signed POST covers (Mastodon requires (request-target), host, date and digest).
POST_HEADERS = ("(request-target)", "host", "date", "digest", "content-type")
#: Headers an inbox request must have signed.
REQUIRED = frozenset({"(request-target)", "host", "date", "digest"})
#: Longest ``Signature`` header read (a 4096-bit RSA signature and a long keyId fit in a fraction of it).
MAX_HEADER = 8192
# RFC 9110 §5.6: auth-param = token BWS "=" BWS ( token / quoted-string ), in a comma-separated list;
# quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE (commas and escaped quotes allowed inside).
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"((?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x20-\x7e\x80-\xff])*)"'
_PARAM = re.compile(rf"[ \t]*({_TOKEN})[ \t]*=[ \t]*(?:({_TOKEN})|{_QUOTED})[ \t]*(?:,|\Z)")
_EMPTY = re.compile(r"[ \t]*,")
_END = re.compile(r"[ \t]*\Z")
_PAIR = re.compile(r"\\(.)")


class SignatureError(ValueError):
    """A request's signature is missing, malformed or does not verify (the message says which)."""


@dataclass(frozen=True)
class KeyPair:
    """The actor's RSA key: the private key object and its public half as PEM."""

    private: rsa.RSAPrivateKey
    public_pem: str


def load_or_create(path: str) -> KeyPair:
    """The key pair at ``path``, made there (mode 0600) if there is none (":memory:": a fresh one)."""
    if path != ":memory:":
        p = Path(path)
        if not p.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
            pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            # Written whole beside it, then linked into place: another process never reads half a key,
            # and the first one linked wins (a second maker uses that one).
            tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(pem)
                    fh.flush()
                    os.fsync(fh.fileno())
                try:
                    os.link(tmp, p)
                except FileExistsError:
                    pass
            finally:
                tmp.unlink(missing_ok=True)
        key = serialization.load_pem_private_key(p.read_bytes(), password=None)
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path}: not an RSA private key")
    public = (
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    )
    return KeyPair(key, public)


def digest(body: bytes) -> str:
    """The RFC 3230 ``Digest`` header of a body."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def digest_matches(header: str, body: bytes) -> bool:
    """Whether a ``Digest`` header (RFC 3230: algorithm names are case-insensitive) has the body's SHA-256."""
    want = digest(body).split("=", 1)[1]
    for item in header.split(","):
        alg, _, value = item.strip().partition("=")
        if alg.lower() == "sha-256" and value == want:
            return True
    return False


def http_date(ts: float) -> str:
    """An IMF-fixdate (RFC 9110 §5.6.7) for the ``Date`` header."""
    return format_datetime(datetime.fromtimestamp(ts, UTC), usegmt=True)


def _signing_string(names: list[str], method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = []
    for name in names:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {path}")
        elif name in headers:
            lines.append(f"{name}: {headers[name]}")
        else:
            raise SignatureError(f"signed header {name!r} is missing from the request")
    return "\n".join(lines).encode("utf-8")


def sign_post(
    keys: KeyPair, key_id: str, host: str, path: str, body: bytes, now: float, content_type: str = "application/activity+json"
) -> dict[str, str]:
    """The headers of a signed POST of ``body`` to ``path`` on ``host`` (Date fixed at ``now``)."""
    headers = {"host": host, "date": http_date(now), "digest": digest(body), "content-type": content_type}
    string = _signing_string(list(POST_HEADERS), "post", path, headers)
    sig = base64.b64encode(keys.private.sign(string, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")
    return {
        "Host": host,
        "Date": headers["date"],
        "Digest": headers["digest"],
        "Content-Type": content_type,
        "Signature": f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(POST_HEADERS)}",signature="{sig}"',
    }


def date_of(headers: dict[str, str]) -> float:
    """The signed request's ``Date`` as a timestamp; SignatureError when absent or unreadable."""
    try:
        return parsedate_to_datetime(headers["date"]).timestamp()
    except (KeyError, TypeError, ValueError, IndexError):
        raise SignatureError("the Date header is missing or not an HTTP date") from None


@dataclass(frozen=True)
class Parsed:
    """A ``Signature`` header's parameters."""

    key_id: str
    headers: list[str]
    signature: bytes
    #: The keyId's host (lower case; "?" when it names none): whose requests these are.
    server: str = "?"


def params(value: str) -> dict[str, str]:
    """The ``name=value`` parameters of a ``Signature`` header (quoted values unescaped).

    SignatureError when the header is longer than MAX_HEADER, is not a comma-separated
    list of auth-params (RFC 9110 §5.6; empty list elements are skipped), or names a
    parameter twice (an ambiguous header is refused rather than guessed).
    """
    if len(value) > MAX_HEADER:
        raise SignatureError(f"the Signature header is longer than {MAX_HEADER} characters")
    found: dict[str, str] = {}
    pos = 0
    while pos < len(value):
        if (empty := _EMPTY.match(value, pos)) is not None:
            pos = empty.end()
            continue
        if _END.match(value, pos) is not None:
            break
        m = _PARAM.match(value, pos)
        if m is None:
            raise SignatureError(f"the Signature header is malformed at character {pos}")
        name = m.group(1)
        if name in found:
            raise SignatureError(f"the Signature header names {name[:40]!r} twice")
        found[name] = m.group(2) if m.group(2) is not None else _PAIR.sub(r"\1", m.group(3))
        pos = m.end()
    return found


def parse(value: str | None) -> Parsed:
    """The parameters of a draft-cavage ``Signature`` header; SignatureError when it is not one."""
    if not value:
        raise SignatureError("no Signature header")
    params_ = params(value)
    if "keyId" not in params_ or "signature" not in params_:
        raise SignatureError("the Signature header lacks keyId or signature")
    if params_.get("algorithm", "rsa-sha256") not in ("rsa-sha256", "hs2019"):
        raise SignatureError(f"unsupported algorithm {params_['algorithm'][:40]!r}")
    names = params_.get("headers", "date").lower().split()
    missing = REQUIRED - set(names)
    if missing:
        raise SignatureError(f"the signature does not cover {', '.join(sorted(missing))}")
    try:
        sig = base64.b64decode(params_["signature"], validate=True)
    except ValueError:
        raise SignatureError("the signature is not base64") from None
    try:  # a host urlsplit cannot read (http://[::1/) is the client's fault, not a 500
        server = urlsplit(params_["keyId"]).netloc.lower() or "?"
    except ValueError:
        raise SignatureError("the keyId is not a URL") from None
    return Parsed(params_["keyId"], names, sig, server)


def verify(parsed: Parsed, public_pem: str, method: str, path: str, headers: dict[str, str]) -> None:
    """Check the signature with the signer's public key; SignatureError when it does not verify."""
    try:
        key = serialization.load_pem_public_key(public_pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise SignatureError("the signer's public key is not a PEM public key") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("the signer's key is not an RSA key")
    string = _signing_string(parsed.headers, method, path, headers)
    try:
        key.verify(parsed.signature, string, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise SignatureError("the signature does not verify") from None
