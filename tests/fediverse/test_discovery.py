"""WebFinger, NodeInfo, the actor document, post objects, outbox and followers collections."""

from __future__ import annotations

import os
import stat

import lxml.html
import pytest

AP = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


def test_everything_is_off_unless_site_yaml_enables_it(site, make_app):
    site.post("one", title="One")
    client = make_app().test_client()
    for path in (
        "/.well-known/webfinger?resource=acct:news@news.example.org",
        "/.well-known/nodeinfo",
        "/ap/actors/news",
        "/ap/actors/news/outbox",
    ):
        assert client.get(path).status_code == 404, path
    page = client.get("/posts/one", headers={"Accept": AP})
    assert page.status_code == 200 and page.mimetype == "text/html"


def test_webfinger_resolves_the_handle_and_the_actor_url(site, fedi_app):
    client = fedi_app.test_client()
    jrd = client.get("/.well-known/webfinger?resource=acct:news@news.example.org")
    assert jrd.status_code == 200 and jrd.mimetype == "application/jrd+json"
    doc = jrd.get_json()
    assert doc["subject"] == "acct:news@news.example.org"
    [self_link] = [link for link in doc["links"] if link["rel"] == "self"]
    assert self_link == {"rel": "self", "type": AP, "href": "https://news.example.org/ap/actors/news"}
    by_url = client.get("/.well-known/webfinger", query_string={"resource": self_link["href"]}).get_json()
    assert by_url["subject"] == doc["subject"]
    assert client.get("/.well-known/webfinger?resource=acct:news@elsewhere.example").status_code == 404
    assert client.get("/.well-known/webfinger?resource=acct:nobody@news.example.org").status_code == 404
    missing = client.get("/.well-known/webfinger")
    assert missing.status_code == 400 and missing.mimetype == "application/json"
    assert missing.get_json()["error"]["code"] == "bad_request", "the API's JSON error"
    unknown = client.get("/ap/actors/nobody")
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "not_found"


def test_nodeinfo_points_to_2_1(site, fedi_app):
    site.post("one")
    client = fedi_app.test_client()
    links = client.get("/.well-known/nodeinfo").get_json()["links"]
    assert links[0]["rel"] == "http://nodeinfo.diaspora.software/ns/schema/2.1"
    doc = client.get(links[0]["href"].removeprefix("https://news.example.org")).get_json()
    assert doc["version"] == "2.1" and doc["protocols"] == ["activitypub"] and doc["usage"]["localPosts"] == 1


def test_actor_document_and_key_file(site, fedi_app, tmp_path):
    resp = fedi_app.test_client().get("/ap/actors/news")
    assert resp.status_code == 200 and resp.mimetype == AP
    doc = resp.get_json()
    me = "https://news.example.org/ap/actors/news"
    assert doc["id"] == me and doc["preferredUsername"] == "news" and doc["name"] == "Test Network"
    assert doc["summary"] == "Posts for tests" and doc["url"] == "https://news.example.org/"
    assert doc["icon"]["url"] == "https://news.example.org/icon.png"
    assert doc["image"]["url"] == "https://news.example.org/logo.png"
    assert doc["inbox"] == me + "/inbox" and doc["endpoints"]["sharedInbox"] == "https://news.example.org/ap/inbox"
    assert doc["outbox"] == me + "/outbox" and doc["followers"] == me + "/followers"
    assert doc["publicKey"]["owner"] == me and doc["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY")
    key = tmp_path / "keys" / "ap.pem"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert not str(key).startswith(str(site.root)), "the key is outside the content directory"
    again = fedi_app.test_client().get("/ap/actors/news").get_json()
    assert again["publicKey"] == doc["publicKey"], "the key is made once"


@pytest.mark.parametrize("accept", [AP, LD, "application/activity+json, application/ld+json"])
def test_post_url_answers_its_article(site, fedi_app, accept):
    site.post(
        "one",
        "Body with **bold**.",
        title="One",
        summary="Short summary.",
        tags=["Climate Action"],
        image="/img/one.jpg",
        lang="fr",
    )
    client = fedi_app.test_client()
    resp = client.get("/posts/one", headers={"Accept": accept})
    assert resp.status_code == 200 and resp.mimetype == AP and "Accept" in resp.headers["Vary"]
    obj = resp.get_json()
    assert obj["type"] == "Article" and obj["id"] == "https://news.example.org/posts/one"
    assert obj["name"] == "One" and obj["summary"] == "Short summary." and obj["url"] == obj["id"]
    assert "<strong>bold</strong>" in obj["contentMap"]["fr"]
    assert obj["attributedTo"] == "https://news.example.org/ap/actors/news"
    assert {"type": "Hashtag", "href": "https://news.example.org/tags/climate-action", "name": "#ClimateAction"} in obj["tag"]
    assert obj["attachment"][0] == {"type": "Image", "url": "https://news.example.org/img/one.jpg", "name": "One"}
    html = client.get("/posts/one", headers={"Accept": "text/html"})
    assert html.mimetype == "text/html" and "Accept" in html.headers["Vary"]
    links = lxml.html.fromstring(html.data).xpath('//link[@rel="alternate"][@type="application/activity+json"]/@href')
    assert links == ["https://news.example.org/posts/one"]
    # The same request again (the WSGI fast path replays by request shape) keeps both variants apart.
    assert client.get("/posts/one", headers={"Accept": accept}).mimetype == AP
    assert client.get("/posts/one").mimetype == "text/html"
    assert client.get("/posts/one", headers={"Accept": accept}).mimetype == AP


def test_outbox_pages_creates_newest_first_and_followers_count(site, fedi_app):
    for i in range(25):
        site.post(f"p{i:02d}", title=f"P{i}", date=f"2021-01-{i + 1:02d}")
    client = fedi_app.test_client()
    box = client.get("/ap/actors/news/outbox").get_json()
    assert box["type"] == "OrderedCollection" and box["totalItems"] == 25
    page1 = client.get(box["first"].removeprefix("https://news.example.org")).get_json()
    items = page1["orderedItems"]
    assert len(items) == 20 and {i["type"] for i in items} == {"Create"}
    assert items[0]["object"]["name"] == "P24" and items[-1]["object"]["name"] == "P5"
    page2 = client.get(page1["next"].removeprefix("https://news.example.org")).get_json()
    assert [i["object"]["name"] for i in page2["orderedItems"]] == ["P4", "P3", "P2", "P1", "P0"]
    assert "next" not in page2
    assert client.get("/ap/actors/news/outbox?page=x").status_code == 400
    fol = client.get("/ap/actors/news/followers").get_json()
    assert fol["type"] == "OrderedCollection" and fol["totalItems"] == 0


def test_per_language_actors_publish_their_language(site, make_app, tmp_path):
    site.write_site(fediverse={"username": "news", "per_language": True})
    site.post("en1", title="English")
    site.post("fr1", title="Français", lang="fr")
    client = make_app(ACTIVITYPUB_KEY=str(tmp_path / "k.pem"), OUTBOX_PATH=str(tmp_path / "o.sqlite3")).test_client()
    assert client.get("/.well-known/webfinger?resource=acct:news-fr@news.example.org").status_code == 200
    fr = client.get("/ap/actors/news-fr/outbox?page=1").get_json()["orderedItems"]
    en = client.get("/ap/actors/news/outbox?page=1").get_json()["orderedItems"]
    assert [i["object"]["name"] for i in fr] == ["Français"] and [i["object"]["name"] for i in en] == ["English"]
    # Each actor's profile page is its language's page, in the actor document and in WebFinger alike.
    for name, page in (("news", "https://news.example.org/"), ("news-fr", "https://news.example.org/languages/fr")):
        assert client.get(f"/ap/actors/{name}").get_json()["url"] == page
        jrd = client.get(f"/.well-known/webfinger?resource=acct:{name}@news.example.org").get_json()
        assert [lk["href"] for lk in jrd["links"] if lk["rel"] == "http://webfinger.net/rel/profile-page"] == [page]


def test_bad_fediverse_setting_names_the_field(site, make_app):
    from feedsvc.content import SiteError, load_site

    path = site.write_site(fediverse={"username": "Bad Name!"})
    with pytest.raises(SiteError, match="fediverse.username"):
        load_site(path)
