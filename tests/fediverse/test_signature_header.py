"""The draft-cavage ``Signature`` header parser: quoted-strings, tokens, bounds, duplicates (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedsvc.outbox.fediverse.signatures import MAX_HEADER, SignatureError, params, parse

from .support import ACTOR, post

TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
names = st.text(TOKEN_CHARS, min_size=1, max_size=12)
# Anything a quoted-string may carry: printable ASCII (commas, '=', quotes and backslashes included), tabs, spaces.
values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.just("\t"), max_size=40)
ows = st.sampled_from(["", " ", "  ", "\t"])


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@given(st.dictionaries(names, values, min_size=1, max_size=6), st.data())
def test_quoted_values_round_trip(found, data):
    parts = [
        f"{data.draw(ows)}{name}{data.draw(ows)}={data.draw(ows)}{quote(value)}{data.draw(ows)}" for name, value in found.items()
    ]
    header = ",".join(parts) + data.draw(st.sampled_from(["", ",", " , "]))
    assert params(header) == found


@given(st.dictionaries(names, st.text(TOKEN_CHARS, min_size=1, max_size=12), min_size=1, max_size=6))
def test_token_values_are_read_as_they_are(found):
    assert params(", ".join(f"{k}={v}" for k, v in found.items())) == found


@given(st.text(max_size=300))
def test_any_text_parses_or_is_refused_with_a_signature_error(text):
    try:
        params(text)
        parse(text)
    except SignatureError as exc:
        assert str(exc)


@given(names, values, values)
def test_a_parameter_named_twice_is_refused(name, a, b):
    with pytest.raises(SignatureError, match="twice"):
        params(f"{name}={quote(a)},{name}={quote(b)}")


def test_commas_and_escaped_quotes_inside_a_value_are_part_of_it():
    header = (
        r'keyId="https://x.example/a,b#k",algorithm="hs2019",headers="(request-target) host date digest",'
        r'signature="AAAA",created=1402170695, extra="say \"hi\", then go"'
    )
    got = params(header)
    assert got["keyId"] == "https://x.example/a,b#k" and got["created"] == "1402170695"
    assert got["extra"] == 'say "hi", then go'
    assert parse(header).key_id == "https://x.example/a,b#k"


@pytest.mark.parametrize(
    "header",
    [
        'keyId="a"signature="b"',  # no comma between parameters
        'keyId="a",signature="b',  # unterminated quoted-string
        'keyId="a\x00",signature="b"',  # a control character inside quotes
        'keyId=a b,signature="b"',  # a token value with a space
        '"keyId"="a"',  # a quoted name
        'keyId="a",,=,signature="b"',  # a parameter without a name
    ],
)
def test_malformed_headers_are_refused(header):
    with pytest.raises(SignatureError, match="malformed"):
        params(header)


def test_an_overlong_header_is_refused_before_it_is_read():
    with pytest.raises(SignatureError, match=f"longer than {MAX_HEADER}"):
        params('keyId="' + "a" * MAX_HEADER + '"')


def test_the_inbox_refuses_a_duplicated_keyid(site, fedi_app, remote):
    """A second keyId could be read by another parser as the signer: the inbox refuses the ambiguity (401)."""
    body, headers = remote.signed("/ap/inbox", remote.follow(ACTOR))
    headers["Signature"] = 'keyId="http://127.0.0.1:1/users/mallory#main-key",' + headers["Signature"]
    resp = fedi_app.test_client().post("/ap/inbox", data=body, headers=headers)
    assert resp.status_code == 401 and "twice" in resp.get_json()["error"]["message"]
    assert post(fedi_app.test_client(), remote, "/ap/inbox", remote.follow(ACTOR)).status_code == 202


@pytest.mark.parametrize("key_id", ["http://[::1/users/a#main-key", "https://[mallory.example]/users/a#main-key"])
def test_a_keyid_that_is_not_a_url_is_refused(site, fedi_app, key_id):
    """urlsplit cannot read these hosts: the inbox answers 401 naming the keyId, never a 500."""
    header = f'keyId="{key_id}",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="AAAA"'
    with pytest.raises(SignatureError, match="keyId"):
        parse(header)
    for inbox in ("/ap/inbox", "/ap/actors/news/inbox"):
        resp = fedi_app.test_client().post(inbox, data=b"{}", headers={"Signature": header})
        assert resp.status_code == 401, resp.get_data(as_text=True)
        assert "keyId" in resp.get_json()["error"]["message"]


@pytest.mark.parametrize("target", ["http://[::1/ap/actors/news", "https://[news.example.org]/ap/actors/news"])
def test_a_signed_follow_of_a_url_that_is_not_one_is_ignored(site, fedi_app, remote, target):
    """A verified signer's Follow whose object urlsplit cannot read: ignored (202), never a 500."""
    resp = post(fedi_app.test_client(), remote, "/ap/inbox", remote.follow(target))
    assert resp.status_code == 202, resp.get_data(as_text=True)
    assert post(fedi_app.test_client(), remote, "/ap/inbox", remote.follow(ACTOR)).status_code == 202
