"""Open Graph/Twitter cards and the JSON-LD graph, read by extruct, pyld and an OG scraper."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import extruct
import lxml.html
import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opengraph_py3 import OpenGraph
from pyld import jsonld

from feedsvc.content import Author, Post, Site
from feedsvc.discover.cards import Card, metas
from feedsvc.discover.structured import Page, graph, script_text

DATA = Path(__file__).resolve().parent.parent / "data" / "discover"
BASE = "https://news.example.org"
SDO = "http://schema.org/"


def _extract(html: bytes, url: str) -> dict[str, Any]:
    return extruct.extract(html.decode(), base_url=url, syntaxes=["opengraph", "json-ld", "microdata"], uniform=False)


def _og(data: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for block in data["opengraph"]:
        for key, value in block["properties"]:
            out.setdefault(key, []).append(value)
    return out


def _nodes(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    [doc] = data["json-ld"]  # exactly one JSON-LD document per page
    return {n["@type"]: n for n in doc["@graph"]}


def _expand(data: dict[str, Any]) -> list[dict[str, Any]]:
    # schema.org's context is fetched by nothing here: expand against an inline vocabulary.
    doc = dict(data["json-ld"][0])
    doc["@context"] = {"@vocab": SDO}
    return jsonld.expand(doc)


@pytest.mark.filterwarnings("ignore:Call to deprecated method findAll:DeprecationWarning")  # the OG scraper's own
def test_post_card_and_graph(site, make_app) -> None:
    site.write_site(twitter="@inpud")
    site.post(
        "report",
        title='Report "launch" <&> </script>',
        summary="Sum <b>&</b> </script>",
        categories=["publications"],
        tags=["Drug policy", "Harm reduction"],
        image="/img/r.png",
        image_alt="Cover of the report",
        date="2021-04-12T10:00:00+02:00",
        updated="2021-04-13",
    )
    client = make_app().test_client()
    url = f"{BASE}/posts/report"
    resp = client.get("/posts/report")
    data = _extract(resp.data, url)
    og = _og(data)
    assert og["og:title"] == ['Report "launch" <&> </script>']
    assert og["og:description"] == ["Sum <b>&</b> </script>"]
    assert og["og:url"] == [url] and og["og:type"] == ["article"] and og["og:site_name"] == ["Test Network"]
    assert og["og:image"] == [f"{BASE}/img/r.png"] and og["og:image:alt"] == ["Cover of the report"]
    assert og["og:locale"] == ["en_US"]
    assert og["article:section"] == ["Publications"] and og["article:tag"] == ["Drug policy", "Harm reduction"]
    published = datetime.fromisoformat(og["article:published_time"][0])
    assert published.utcoffset() is not None and published.astimezone(UTC).hour == 8
    assert datetime.fromisoformat(og["article:modified_time"][0]).utcoffset() is not None
    doc = lxml.html.fromstring(resp.data)
    names = {m.get("name"): m.get("content") for m in doc.iter("meta") if m.get("name")}
    assert names["twitter:card"] == "summary_large_image" and names["twitter:site"] == "@inpud"
    assert names["twitter:image:alt"] == "Cover of the report"
    assert doc.xpath("//link[@rel='canonical']/@href") == [url]
    assert doc.xpath("//img[@class='lead-image']/@alt") == ["Cover of the report"]
    # Every URL in the head is absolute.
    for value in [*doc.xpath("//head/meta/@content"), *doc.xpath("//head/link[@rel!='stylesheet' and @rel!='icon']/@href")]:
        if value.startswith(("/", "http")):
            assert value.startswith(BASE), value
    nodes = _nodes(data)
    assert {"Organization", "WebSite", "WebPage", "BreadcrumbList", "NewsArticle"} <= set(nodes)
    art = nodes["NewsArticle"]
    assert art["headline"] == 'Report "launch" <&> </script>'
    assert art["articleSection"] == "Publications" and art["inLanguage"] == "en"
    assert datetime.fromisoformat(art["datePublished"]).utcoffset() is not None
    crumbs = [i["item"] for i in nodes["BreadcrumbList"]["itemListElement"]]
    assert crumbs == [f"{BASE}/", f"{BASE}/categories/publications", url]
    assert "Event" not in nodes
    # The script element holds the whole JSON: the hostile text closed nothing.
    scripts = doc.xpath("//script[@type='application/ld+json']")
    assert len(scripts) == 1 and "</script>" not in scripts[0].text
    expanded = _expand(data)
    types = {t for node in expanded for t in node.get("@type", [])}
    assert f"{SDO}NewsArticle" in types and f"{SDO}BreadcrumbList" in types
    scraped = OpenGraph(html=BeautifulSoup(resp.data, "html.parser"))
    assert scraped["title"] == 'Report "launch" <&> </script>' and scraped["url"] == url
    assert scraped["image"] == f"{BASE}/img/r.png"


def test_other_pages_are_websites_with_site_image(site, make_app) -> None:
    site.post("a", tags=["x"])
    client = make_app().test_client()
    for path in ("/", "/categories/statements", "/tags/x", "/languages/en"):
        data = _extract(client.get(path).data, BASE + path)
        og = _og(data)
        assert og["og:type"] == ["website"], path
        assert og["og:url"] == [BASE + path] and og["og:image"] == [f"{BASE}/logo.png"], path
        assert len(data["json-ld"]) == 1 and "NewsArticle" not in _nodes(data)
        assert lxml.html.fromstring(client.get(path).data).xpath("//link[@rel='icon']/@href")


def test_translations_link_both_ways(site, make_app) -> None:
    site.post("orig", title="Original", lang="en")
    site.post("trad", title="Traduction", lang="fr", translation_of="orig")
    client = make_app().test_client()
    en = _extract(client.get("/posts/orig").data, f"{BASE}/posts/orig")
    fr = _extract(client.get("/posts/trad").data, f"{BASE}/posts/trad")
    assert _og(en)["og:locale:alternate"] == ["fr_FR"] and _og(fr)["og:locale"] == ["fr_FR"]
    assert _nodes(en)["NewsArticle"]["workTranslation"][0]["@id"] == f"{BASE}/posts/trad#article"
    assert _nodes(fr)["NewsArticle"]["translationOfWork"]["@id"] == f"{BASE}/posts/orig#article"


def test_seed_side_event(site, make_app) -> None:
    """The seed's side event: online, 14:00 CEST (12:00 UTC), interpretation in fr, ru, es."""
    shutil.copy(DATA / "side-event.md", site.root / "posts" / "side-event.md")
    client = make_app().test_client()
    resp = client.get("/posts/side-event")
    ev = _nodes(_extract(resp.data, f"{BASE}/posts/side-event"))["Event"]
    assert ev["eventAttendanceMode"] == "https://schema.org/OnlineEventAttendanceMode"
    assert ev["location"]["@type"] == "VirtualLocation"
    start = datetime.fromisoformat(ev["startDate"])
    assert (start.hour, start.utcoffset().total_seconds()) == (14, 7200)  # type: ignore[union-attr]
    assert start.astimezone(UTC).hour == 12
    assert ev["inLanguage"] == ["en", "fr", "ru", "es"]
    assert ev["eventStatus"] == "https://schema.org/EventScheduled"
    # The page shows the new fields and links the single-event calendar.
    doc = lxml.html.fromstring(resp.data)
    # The interpretation languages are named in the page's language (interface words, not French or Russian text).
    assert doc.xpath("//section[@class='event']//dt[.='Interpretation']/following-sibling::dd[1]/text()") == [
        "French, Russian, Spanish"
    ]
    assert doc.xpath("//section[@class='event']//a[@type='text/calendar']/@href") == [f"{BASE}/posts/side-event/event.ics"]


hostile = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=60).map(
    lambda s: s + "</script><!-- \"'&<>"
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=hostile, summary=hostile)
def test_hostile_text_survives_cards_and_graph(title: str, summary: str) -> None:
    site = Site(
        title=title, base_url=BASE, id_authority="example.org,2021", language="en", timezone="UTC", author=Author(summary)
    )
    when = datetime(2021, 4, 12, tzinfo=UTC)
    post = Post(
        id="x",
        slug="x",
        title=title,
        date=when,
        updated=when,
        categories=("c",),
        tags=(),
        summary=summary,
        author=site.author,
        lang="en",
        source="x.md",
    )
    page = Page(
        site=site,
        url=f"{BASE}/posts/x",
        title=title,
        description=summary,
        lang="en",
        crumbs=((title, f"{BASE}/"), (title, f"{BASE}/posts/x")),
        post=post,
    )
    card = Card(site_name=title, title=title, description=summary, url=page.url, lang="en", published=when)
    from jinja2 import Environment

    env = Environment(autoescape=True)
    head = env.from_string(
        '{% for a, k, v in metas %}<meta {{ a }}="{{ k }}" content="{{ v }}">{% endfor %}'
        '<script type="application/ld+json">{{ j|safe }}</script>'
    )
    html = f"<!doctype html><html><head>{head.render(metas=metas(card), j=script_text(graph(page)))}</head><body></body></html>"
    data = _extract(html.encode(), page.url)
    og = _og(data)
    assert og["og:title"] == [title] and og["og:description"] == [summary]
    assert _nodes(data)["NewsArticle"]["headline"] == title
    assert json.loads(lxml.html.fromstring(html).xpath("//script")[0].text)["@graph"][-1]["description"] == summary


_json_text = st.text(
    st.one_of(st.sampled_from(list('<>&\u2028\u2029"\\\n\x00\x1f\x7fé😀/')), st.characters(exclude_categories=("Cs",))),
    max_size=30,
)
_json_docs = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), _json_text),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_json_text, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_json_text, _json_docs, max_size=5))
def test_script_text_is_canonical_json_with_markup_characters_escaped(doc: dict[str, Any]) -> None:
    # The bytes pages have carried since the graph was added: the stdlib's sorted, compact JSON
    # with <, >, &, U+2028 and U+2029 as \u escapes, so no text can close the <script>.
    reference = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).translate(
        str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})
    )
    text = script_text(doc)
    assert text == reference
    assert not {"<", ">", "&"} & set(text) and json.loads(text) == doc


@pytest.mark.parametrize(
    ("lang", "locale"),
    [("zh-Hans", "zh_CN"), ("zh-Hant", "zh_TW"), ("sr-Latn", "sr_RS"), ("pt-BR", "pt_BR"), ("he", "he_IL"), ("ar", "ar_EG")],
)
def test_og_locale_is_language_and_territory(site, make_app, lang: str, locale: str) -> None:
    """og:locale is ``ll_TT`` (Facebook's list; a bare ``zh`` is not on it): a language tag with a
    script subtag gets the territory the script is most used in."""
    site.post("orig", title="Original", lang="en")
    site.post("p", title="Title", lang=lang, translation_of="orig")
    client = make_app().test_client()
    assert _og(_extract(client.get("/posts/p").data, f"{BASE}/posts/p"))["og:locale"] == [locale]
    assert _og(_extract(client.get("/posts/orig").data, f"{BASE}/posts/orig"))["og:locale:alternate"] == [locale]


def test_all_day_event_has_dates_in_the_graph_and_on_the_page(site, make_app) -> None:
    """An event given by dates alone is whole days: schema.org Dates (no midnight in the site's zone), and the
    page shows the days without a time."""
    site.post(
        "ev", "Join.", title="Ev", categories=["events"], event={"start": "2021-06-01", "end": "2021-06-03", "location": "Vienna"}
    )
    html = make_app().test_client().get("/posts/ev").data
    event = _nodes(_extract(html, f"{BASE}/posts/ev"))["Event"]
    assert (event["startDate"], event["endDate"]) == ("2021-06-01", "2021-06-03")
    times = lxml.html.fromstring(html).xpath("//section[@class='event']//time")
    assert [t.get("datetime") for t in times] == ["2021-06-01", "2021-06-03"]
    assert [t.text_content() for t in times] == ["June 1, 2021", "June 3, 2021"]
