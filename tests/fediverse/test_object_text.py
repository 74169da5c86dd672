"""Text in ActivityStreams documents as a fediverse server reads it: ``summary`` is HTML (AS2 vocabulary
§4 "summary": "encoded as HTML"), image attachments carry the alt text, hashtags keep every letter."""

from __future__ import annotations

import unicodedata

import lxml.html
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

AP = "application/activity+json"
NASTY = ["<b>not bold</b>", "a < b & c > d", "&amp; is an entity", "<script>x</script>", 'Tom & Jerry\'s "show"']


def _html_text(fragment: str) -> str:
    """What an HTML reader shows for ``fragment`` (its text, markup taken as markup)."""
    return str(lxml.html.fragment_fromstring(fragment, create_parent="p").text_content())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(summary=st.sampled_from(NASTY) | st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1))
def test_plain_text_summaries_are_html_escaped(site, fedi_app, summary):
    site.write_site(fediverse={"username": "news"}, subtitle=summary)
    site.post("one", "Body.", title="One", summary=summary)
    from feedsvc.extensions import state

    index = state(fedi_app).live.refresh()
    post = index.get("one")
    client = fedi_app.test_client()
    actor = client.get("/ap/actors/news").get_json()
    if post is not None:  # a summary of only blanks is refused as a content problem
        obj = client.get("/posts/one", headers={"Accept": AP}).get_json()
        assert _html_text(obj["summary"]) == post.summary
    if index.site.subtitle:
        assert _html_text(actor["summary"]) == index.site.subtitle


def test_image_attachment_names_its_alt_text(site, fedi_app):
    """Mastodon shows an image attachment's ``name`` as the image description (alt text)."""
    site.post("one", title="One", image="/img/one.jpg", image_alt="Delegates voting in the plenary hall")
    site.post("two", title="Two", image="/img/two.jpg")
    client = fedi_app.test_client()
    one = client.get("/posts/one", headers={"Accept": AP}).get_json()
    alt = "Delegates voting in the plenary hall"
    assert one["attachment"][0] == {"type": "Image", "url": "https://news.example.org/img/one.jpg", "name": alt}
    two = client.get("/posts/two", headers={"Accept": AP}).get_json()
    assert two["attachment"][0]["name"] == "Two"  # no alt text: the title, as before


def test_hashtags_keep_combining_marks(site, fedi_app):
    """Mastodon's hashtags are word characters and marks: a vowel sign or an accent written as a
    combining mark is part of the word (Devanagari, Thai, decomposed Latin)."""
    nfd = unicodedata.normalize("NFD", "Café")
    site.post("one", title="One", tags=["हिंदी समाचार", nfd, "ภาษาไทย", "Droits humains"])
    obj = fedi_app.test_client().get("/posts/one", headers={"Accept": AP}).get_json()
    names = {t["name"] for t in obj["tag"]}
    assert names == {"#हिंदीसमाचार", "#Café", "#ภาษาไทย", "#Droitshumains"}
    assert all(unicodedata.is_normalized("NFC", n) for n in names)
