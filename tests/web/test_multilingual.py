"""Issue 14: slugs in any script, linked translations, pages in the reader's language, tags by name.

The content tree has file stems in Cyrillic, Arabic and Chinese and one text in four
languages (an English original translated into French, Russian and Arabic); everything is
read back through feedparser, the API, lxml and the HTML pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import feedparser
import pytest
from lxml import etree, html
from support.site import SiteTree

BASE = "https://news.example.org"
RU, AR, ZH = "заявление-о-политике", "بيان-السياسة", "政策声明"
#: The one text in four languages: lang -> (file stem = slug, title).
GROUP = {
    "en": ("harm-reduction-statement", "Statement on harm reduction"),
    "fr": ("declaration-reduction-des-risques", "Déclaration sur la réduction des risques"),
    "ru": ("заявление-о-снижении-вреда", "Заявление о снижении вреда"),
    "ar": ("بيان-الحد-من-الضرر", "بيان بشأن الحد من الضرر"),
}
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def url(path: str) -> str:
    """An absolute URL with every segment percent-encoded as UTF-8."""
    return BASE + "/".join(quote(s, safe="") for s in path.split("/"))


def fill(site: SiteTree) -> None:
    site.post(RU, "Текст.", title="Заявление о политике", lang="ru", date="2021-04-03", tags=["Права человека"])
    site.post(AR, "نص.", title="بيان السياسة", lang="ar", date="2021-04-04", tags=["حقوق الإنسان"])
    site.post(ZH, "正文。", title="政策声明", lang="zh", date="2021-04-05", tags=["AI"])
    en_slug = GROUP["en"][0]
    for i, (lang, (slug, title)) in enumerate(GROUP.items()):
        extra: dict[str, Any] = {"translation_of": en_slug} if lang != "en" else {}
        site.post(
            slug,
            f"Body in {lang}.",
            title=title,
            lang=lang,
            date=f"2021-03-0{i + 1}",
            tags=["Droits humains"] if lang == "fr" else ["AI"],
            **extra,
        )
    site.post("lone-english", "Alone.", title="Lone English post", date="2021-02-01", tags=["ai"], aliases=["старое-имя"])


@pytest.fixture
def client(site: SiteTree, make_app: Any) -> Iterator[Any]:
    fill(site)
    with make_app().test_client() as c:
        yield c


def page(client: Any, path: str, status: int = 200) -> Any:
    r = client.get(path)
    assert r.status_code == status, (path, r.status_code)
    return html.fromstring(r.data)


# -- slugs in any script -------------------------------------------------------------------


def test_slugs_in_any_script_are_published_percent_encoded(client: Any) -> None:
    items = client.get("/api/v1/posts?per_page=100").get_json()["items"]
    by_slug = {p["slug"]: p for p in items}
    assert {RU, AR, ZH, *(s for s, _ in GROUP.values())} <= set(by_slug)
    for slug in (RU, AR, ZH):
        post = by_slug[slug]
        assert post["url"] == url(f"/posts/{slug}") and post["url"].isascii()
        assert post["links"]["self"] == url(f"/api/v1/posts/{slug}")
        # Raw and percent-encoded spellings are the same document, in the page and the API.
        for path in (f"/posts/{slug}", f"/api/v1/posts/{slug}"):
            raw, encoded = client.get(path), client.get(quote(path))
            assert raw.status_code == encoded.status_code == 200
            assert raw.data == encoded.data and raw.headers["ETag"] == encoded.headers["ETag"]


def test_feeds_and_opml_carry_percent_encoded_urls(client: Any) -> None:
    feed = feedparser.parse(client.get("/feeds/atom.xml").data)
    links = {e.title: e.link for e in feed.entries}
    assert links["Заявление о политике"] == url(f"/posts/{RU}")
    assert links["政策声明"] == url(f"/posts/{ZH}")
    assert all(link.isascii() for link in links.values())
    opml = etree.fromstring(client.get("/feeds/opml.xml").data)
    xml_urls = opml.xpath("//outline/@xmlUrl")
    assert url("/feeds/tags/права-человека/atom.xml") in xml_urls
    assert all(u.isascii() for u in xml_urls)
    # The tag's feed answers at that address, in either spelling.
    for path in ("/feeds/tags/права-человека/atom.xml", quote("/feeds/tags/права-человека/atom.xml")):
        assert client.get(path).status_code == 200


def test_retired_slug_in_another_script_redirects(client: Any) -> None:
    for path in ("/posts/старое-имя", quote("/posts/старое-имя")):
        r = client.get(path)
        assert r.status_code == 308 and r.headers["Location"] == url("/posts/lone-english")


# -- linked translations -------------------------------------------------------------------


def expected_versions(except_lang: str) -> list[dict[str, str]]:
    return [
        {"lang": lang, "slug": slug, "url": url(f"/posts/{slug}"), "title": title}
        for lang, (slug, title) in sorted(GROUP.items())
        if lang != except_lang
    ]


def test_api_post_lists_its_translations(client: Any) -> None:
    for lang, (slug, _) in GROUP.items():
        post = client.get(quote(f"/api/v1/posts/{slug}")).get_json()
        assert post["lang"] == lang
        assert post["translations"] == expected_versions(lang)
    assert client.get("/api/v1/posts/lone-english").get_json()["translations"] == []
    listed = {p["slug"]: p for p in client.get("/api/v1/posts?per_page=100").get_json()["items"]}
    assert listed[GROUP["fr"][0]]["translations"] == expected_versions("fr")
    # Each version keeps its own id, URL and place in the feeds.
    assert len({listed[s]["id"] for s, _ in GROUP.values()}) == 4


def test_atom_links_every_version_by_language(client: Any) -> None:
    from support.feeds_checks import check_atom

    body = client.get("/feeds/atom.xml").data
    check_atom(body)  # RFC 4287 schema and musts: alternates differ by hreflang
    for lang in ("ar", "fr", "ru", "zh"):
        check_atom(client.get(f"/feeds/atom.xml?lang={lang}").data)
    feed = feedparser.parse(body)
    by_title = {e.title: e for e in feed.entries}
    for lang, (slug, title) in GROUP.items():
        entry = by_title[title]
        alternates = [(lk.get("hreflang"), lk.href, lk.get("title")) for lk in entry.links if lk.rel == "alternate"]
        own = url(f"/posts/{slug}")
        # The entry's page first (no language: unchanged for every reader), then each version
        # by language, this one last (feedparser takes the last html alternate, most readers the first).
        assert alternates == [
            (None, own, None),
            *((v["lang"], v["url"], v["title"]) for v in expected_versions(lang)),
            (lang, own, None),
        ]
        assert entry.link == own
    lone = by_title["Lone English post"]
    assert [lk.get("hreflang") for lk in lone.links if lk.rel == "alternate"] == [None]


def test_json_feed_lists_translations_under_feedsvc(client: Any) -> None:
    items = {i["title"]: i for i in client.get("/feeds/feed.json").get_json()["items"]}
    for lang, (_, title) in GROUP.items():
        assert items[title]["_feedsvc"]["translations"] == expected_versions(lang)
    assert "translations" not in items["Lone English post"]["_feedsvc"]


def test_post_page_links_and_switches_between_versions(client: Any) -> None:
    for lang, (slug, _) in GROUP.items():
        doc = page(client, quote(f"/posts/{slug}"))
        hreflang = {el.get("hreflang"): el.get("href") for el in doc.xpath("//head/link[@hreflang]")}
        # Every version by language, and the original for readers of any other language.
        versions = {v: url(f"/posts/{s}") for v, (s, _) in GROUP.items()}
        assert hreflang == {**versions, "x-default": versions["en"]}
        switcher = doc.xpath("//nav[@class='versions']")[0]
        links = switcher.xpath(".//a")
        assert [(a.get("hreflang"), a.get("href")) for a in links] == [(v["lang"], v["url"]) for v in expected_versions(lang)]
        current = switcher.xpath(".//*[@aria-current='page']")[0]
        assert current.get("lang") == lang
    fr = page(client, quote(f"/posts/{GROUP['fr'][0]}")).xpath("//nav[@class='versions']//a")
    assert [a.text_content() for a in fr] == ["العربية", "English", "Русский"]  # each in its own language
    assert not page(client, "/posts/lone-english").xpath("//nav[@class='versions'] | //link[@hreflang]")


# -- pages in the reader's language --------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "direction", "home_word", "date"),
    [
        ("en", "ltr", "Home", "March 1, 2021"),
        ("fr", "ltr", "Accueil", "2 mars 2021"),
        ("ru", "ltr", "Главная", "3 марта 2021\u202fг."),
        ("ar", "rtl", "الرئيسية", "4 مارس 2021"),
    ],
)
def test_a_post_page_speaks_the_posts_language(client: Any, lang: str, direction: str, home_word: str, date: str) -> None:
    doc = page(client, quote(f"/posts/{GROUP[lang][0]}"))
    root = doc.getroottree().getroot()
    assert (root.get("lang"), root.get("dir")) == (lang, direction)
    assert doc.xpath("//nav[@class='crumbs']/a")[0].text == home_word
    assert doc.xpath("//p[@class='post-meta']/time")[0].text == date  # Babel's long date for the locale


def test_list_pages_use_the_site_language_and_mark_other_languages(client: Any) -> None:
    doc = page(client, "/")
    root = doc.getroottree().getroot()
    assert (root.get("lang"), root.get("dir")) == ("en", "ltr")
    assert doc.xpath("//h2[@id='latest-h']")[0].text == "Latest posts"
    titles = {h.text_content(): h for h in doc.xpath("//h3[contains(@class, 'post-card-title')]")}
    assert (titles["بيان السياسة"].get("lang"), titles["بيان السياسة"].get("dir")) == ("ar", "rtl")
    assert (titles["Заявление о политике"].get("lang"), titles["Заявление о политике"].get("dir")) == ("ru", "ltr")
    assert titles["Lone English post"].get("lang") is None  # same language as the page
    langs = {a.get("hreflang"): a.get("href") for a in doc.xpath("//section[@id='languages']//a")}
    assert langs["ar"] == url("/languages/ar") and set(langs) == {"ar", "en", "fr", "ru", "zh"}
    tag = page(client, quote("/tags/права-человека"))
    assert tag.getroottree().getroot().get("lang") == "en"


def test_language_page_lists_that_languages_posts_and_feeds_in_it(client: Any) -> None:
    doc = page(client, "/languages/ar")
    root = doc.getroottree().getroot()
    assert (root.get("lang"), root.get("dir")) == ("ar", "rtl")
    assert [h.text_content() for h in doc.xpath("//h3[contains(@class, 'post-card-title')]")] == ["بيان السياسة", GROUP["ar"][1]]
    assert doc.xpath("//h2[@id='posts-h']")[0].text == "منشوران"  # Arabic dual, from the catalog
    assert doc.xpath("//nav[@class='crumbs']/a")[0].text == "الرئيسية"
    feeds = doc.xpath("//input[@class='feed-url']/@value")
    assert feeds == [f"{BASE}/feeds/languages/ar/{f}" for f in ("atom.xml", "rss.xml", "feed.json", "calendar.ics")]
    alternates = doc.xpath("//head/link[@type='application/atom+xml']/@href")
    assert alternates == [f"{BASE}/feeds/languages/ar/atom.xml"]
    ru = page(client, "/languages/ru")
    assert ru.xpath("//h2[@id='posts-h']")[0].text == "2 публикации"
    r = client.get("/languages/AR")
    assert r.status_code == 308 and r.headers["Location"] == url("/languages/ar")
    assert client.get("/languages/de").status_code == 404


def test_feed_browser_view_speaks_the_feeds_language(client: Any) -> None:
    r = client.get("/feeds/atom.xml?lang=ar", headers={"Accept": BROWSER})
    assert r.mimetype == "text/html"
    doc = html.fromstring(r.data)
    root = doc.getroottree().getroot()
    assert (root.get("lang"), root.get("dir")) == ("ar", "rtl")
    assert doc.xpath("//label[@for='feed-url']")[0].text == "عنوان الخلاصة"
    mixed = html.fromstring(client.get("/feeds/atom.xml", headers={"Accept": BROWSER}).data)
    articles = {a.xpath(".//h3")[0].text_content(): a for a in mixed.xpath("//article")}
    assert (articles["بيان السياسة"].get("lang"), articles["بيان السياسة"].get("dir")) == ("ar", "rtl")
    assert articles["Lone English post"].get("lang") is None


@pytest.mark.parametrize("lang", ["fr", "ru", "ar", "zh"])
def test_language_feeds_have_path_style_urls_and_the_pages_names(client: Any, lang: str) -> None:
    name = {"fr": "Français", "ru": "Русский", "ar": "العربية", "zh": "中文"}[lang]
    by_query = feedparser.parse(client.get(f"/feeds/atom.xml?lang={lang}").data)  # ?lang= keeps working
    for file in ("atom.xml", "rss.xml"):
        r = client.get(f"/feeds/languages/{lang}/{file}")
        assert r.status_code == 200
        parsed = feedparser.parse(r.data)
        assert parsed.bozo == 0 and parsed.feed.title == f"Test Network: {name}"
        assert [e.id for e in parsed.entries] == [e.id for e in by_query.entries] and parsed.entries
        assert parsed.feed.language == lang if file == "rss.xml" else True
    atom = etree.fromstring(client.get(f"/feeds/languages/{lang}/atom.xml").data)
    a = "{http://www.w3.org/2005/Atom}"
    assert atom.get("{http://www.w3.org/XML/1998/namespace}lang") == lang
    assert [lk.get("href") for lk in atom.findall(f"{a}link[@rel='self']")] == [url(f"/feeds/languages/{lang}/atom.xml")]
    assert atom.find(f"{a}link[@rel='alternate']").get("href") == url(f"/languages/{lang}")
    archive = atom.find(f"{a}link[@rel='prev-archive']").get("href")
    assert archive == url(f"/feeds/languages/{lang}/archive/2021/atom.xml")
    assert client.get(archive.removeprefix(BASE)).status_code == 200
    feed = client.get(f"/feeds/languages/{lang}/feed.json").get_json()
    assert feed["title"] == f"Test Network: {name}" and feed["language"] == lang
    assert client.get(f"/feeds/languages/{lang}/calendar.ics").mimetype == "text/calendar"
    r = client.get(f"/feeds/languages/{lang.upper()}/rss.xml?page=1")
    assert r.status_code == 308 and r.headers["Location"] == url(f"/feeds/languages/{lang}/rss.xml") + "?page=1"


def test_language_feed_errors_are_json(client: Any) -> None:
    r = client.get("/feeds/languages/de/atom.xml")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    r = client.get("/feeds/languages/fr/atom.xml?lang=ru")
    assert r.status_code == 400 and r.get_json()["error"]["details"][0]["name"] == "lang"


@pytest.mark.parametrize(
    "lang,file,date",
    [
        ("ru", "rss.xml", "3 апреля 2021\u202fг."),
        ("ar", "rss.xml", "4 أبريل 2021"),
        ("ru", "atom.xml", "3 апреля 2021\u202fг."),
        ("fr", "rss.xml", "2 mars 2021"),
        ("zh", "atom.xml", "2021年4月5日"),
    ],
)
def test_feed_browser_view_prints_dates_in_the_pages_language(client: Any, lang: str, file: str, date: str) -> None:
    r = client.get(f"/feeds/languages/{lang}/{file}", headers={"Accept": BROWSER})
    doc = html.fromstring(r.data)
    assert doc.getroottree().getroot().get("lang") == lang
    dates = [p.text_content().strip() for p in doc.xpath("//article/p[@class='date']")]
    assert date in dates and not any("GMT" in d or "+0" in d for d in dates)


def test_feed_browser_view_marks_english_words_on_a_page_without_a_catalog(client: Any) -> None:
    doc = html.fromstring(client.get("/feeds/languages/zh/atom.xml", headers={"Accept": BROWSER}).data)
    assert doc.getroottree().getroot().get("lang") == "zh"
    label = doc.xpath("//label[@for='feed-url']")[0]
    assert (label.text, label.get("lang")) == ("Feed address", "en")
    for el in doc.xpath("//p[@class='notice'] | //h2 | //nav[@class='paging']"):
        assert el.get("lang") == "en", etree.tostring(el)
    assert doc.xpath("//article")[0].get("lang") is None  # the post speaks the page's language, zh
    ru = html.fromstring(client.get("/feeds/languages/ru/atom.xml", headers={"Accept": BROWSER}).data)
    assert not ru.xpath("//main//*[@lang]")  # Russian words on a Russian page: nothing to mark


def test_english_words_in_a_post_without_a_catalog_are_marked_english(site: SiteTree, make_app: Any) -> None:
    event = {"start": "2021-04-12T14:00:00+02:00", "location": "维也纳", "languages": ["fr", "ru"]}
    site.post(
        "zh-event", "正文。", title="会外活动", lang="zh", date="2021-04-05", updated="2021-04-07", tags=["AI"], event=event
    )
    site.post(
        "fr-event",
        "Texte.",
        title="Événement",
        lang="fr",
        date="2021-04-05",
        tags=["AI"],
        event={**event, "location": "Vienne", "languages": ["en", "ru"]},
    )
    client = make_app().test_client()
    doc = page(client, "/posts/zh-event")
    article = doc.xpath("//article")[0]
    assert article.get("lang") == "zh"

    def lang_of(el: Any) -> str:
        return next(a.get("lang") for a in el.iterancestors(None) if a.get("lang")) if el.get("lang") is None else el.get("lang")

    english = {
        "Categories",
        "Home",
        "updated",
        "Event details",
        "When",
        "Where",
        "Attendance",
        "In person",
        "Interpretation",
        "French, Russian",
        "Add this event to your calendar",
        "Tags",
    }
    seen = set()
    for el in article.iter():
        text = (el.text or "").strip()
        if text in english:  # every interface word inside the zh article is marked lang="en"
            assert lang_of(el) == "en", text
            seen.add(text)
    assert seen == english - {"Categories"}
    assert lang_of(doc.xpath("//nav[@class='crumbs']")[0]) == "en"  # its aria-label too
    assert lang_of(doc.xpath("//h1")[0]) == lang_of(doc.xpath("//div[@class='content']")[0]) == "zh"
    assert lang_of(doc.xpath("//dd[time]")[0]) == "zh"  # the date is written in the post's language
    fr = page(client, "/posts/fr-event")
    assert fr.getroottree().getroot().get("lang") == "fr" and not fr.xpath("//main//*[@lang='fr']")
    interpretation = fr.xpath("//dt[.='Interprétation']/following-sibling::dd[1]")[0]
    assert (interpretation.text, interpretation.get("lang")) == ("Anglais, Russe", None)


def test_embed_builder_and_widget_script_carry_the_catalogs(client: Any) -> None:
    doc = page(client, "/embed")
    options = {o.get("value"): o.text for o in doc.xpath("//select[@id='embed-lang']/option")}
    assert options["ar"] == "Arabic (ar)" and options["ru"] == "Russian (ru)"
    js = client.get("/embed.js").get_data(as_text=True)
    assert "/*@i18n@*/" not in js
    for word in ("Derniers articles", "Последние публикации", "أحدث المنشورات", "Últimas publicaciones"):
        assert word in js


# -- tags by name or slug ------------------------------------------------------------------


def test_api_tag_filter_takes_a_slug_or_a_label_in_any_case(client: Any) -> None:
    def slugs(query: str) -> list[str]:
        return [p["slug"] for p in client.get(f"/api/v1/posts?{query}").get_json()["items"]]

    ai = slugs("tag=ai")
    assert len(ai) == 5
    assert slugs("tag=AI") == slugs("tag=Ai") == ai
    assert slugs("tag=Droits%20humains") == slugs("tag=DROITS%20HUMAINS") == slugs("tag=droits-humains") == [GROUP["fr"][0]]
    assert slugs("tag=" + quote("ПРАВА ЧЕЛОВЕКА")) == [RU]
    assert slugs("tag=nothing-like-it") == []


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("Droits humains", "droits-humains"),
        ("AI", "ai"),
        ("ПРАВА ЧЕЛОВЕКА", "права-человека"),
        ("حقوق الإنسان", "حقوق-الانسان"),  # tag slugs fold marks: إ -> ا
    ],
)
def test_feed_path_by_label_redirects_permanently_to_the_slug(client: Any, given: str, canonical: str) -> None:
    for fmt in ("atom.xml", "rss.xml", "feed.json", "calendar.ics"):
        r = client.get(quote(f"/feeds/tags/{given}/{fmt}") + "?lang=fr&page=1")
        assert r.status_code == 308, (given, fmt)
        assert r.headers["Location"] == url(f"/feeds/tags/{canonical}/{fmt}") + "?lang=fr&page=1"
    r = client.get(quote(f"/feeds/tags/{given}/archive/2021/atom.xml"))
    assert r.status_code == 308 and r.headers["Location"] == url(f"/feeds/tags/{canonical}/archive/2021/atom.xml")
    target = unquote(url(f"/feeds/tags/{canonical}/atom.xml").removeprefix(BASE))
    assert client.get(target).status_code == 200
    assert client.get("/feeds/tags/No%20such%20tag/atom.xml").status_code == 404


# -- catalogs ------------------------------------------------------------------------------

CATALOGS = Path(__file__).resolve().parents[2] / "feedsvc" / "translations"


def extracted_ids() -> set[Any]:
    """Every message id in the code and templates, extracted as `make catalogs` does."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    root = CATALOGS.parent.parent
    with open(root / "babel.cfg", encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    return {m[2] if isinstance(m[2], str) else tuple(m[2]) for m in extract_from_dir(str(root), method_map, options_map) if m[2]}


def catalog_problems(path: Path, lang: str, wanted: set[Any]) -> list[str]:
    """What is wrong with one .po file: missing, untranslated or fuzzy strings, bad plurals or formats."""
    from babel.messages.pofile import read_po

    with open(path, "rb") as f:
        catalog = read_po(f, locale=lang)
    problems = [f"missing {i!r} (run make catalogs)" for i in sorted(wanted - {m.id for m in catalog if m.id}, key=str)]
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(s and s.strip() for s in strings):
            problems.append(f"untranslated {message.id!r}")
        if message.fuzzy:
            problems.append(f"fuzzy {message.id!r}")
        if isinstance(message.id, tuple) and len(strings) != catalog.num_plurals:
            problems.append(f"{len(strings)} plural forms of {message.id!r}, not {catalog.num_plurals}")
    problems += [f"{message.id!r}: {err}" for message, errs in catalog.check() for err in errs]
    return problems


def test_every_shipped_catalog_translates_every_string() -> None:
    from feedsvc.i18n import UI_LANGUAGES

    shipped = sorted(p.parent.parent.name for p in CATALOGS.glob("*/LC_MESSAGES/messages.po"))
    assert shipped == sorted(UI_LANGUAGES)
    wanted = extracted_ids()
    assert len(wanted) > 80
    for lang in shipped:
        assert catalog_problems(CATALOGS / lang / "LC_MESSAGES" / "messages.po", lang, wanted) == [], lang


def test_the_catalog_check_catches_an_untranslated_string(tmp_path: Path) -> None:
    source = (CATALOGS / "fr" / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    broken = tmp_path / "messages.po"
    broken.write_text(source.replace('msgstr "Accueil"', 'msgstr ""'), encoding="utf-8")
    assert catalog_problems(broken, "fr", extracted_ids()) == ["untranslated 'Home'"]
    extra = extracted_ids() | {"A string nobody translated"}
    assert catalog_problems(CATALOGS / "fr" / "LC_MESSAGES" / "messages.po", "fr", extra) == [
        "missing 'A string nobody translated' (run make catalogs)"
    ]


# -- static export ----------------------------------------------------------------------------


def _raw_get(port: int, target: bytes) -> tuple[int, dict[str, str], bytes]:
    """A GET whose request target is sent byte for byte (raw UTF-8 is not ASCII: http.client refuses it)."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


@pytest.mark.nginx
def test_export_serves_slugs_of_any_script_in_both_spellings(site: SiteTree, make_app: Any, tmp_path: Path) -> None:
    import json

    from support.nginx import nginx_binary, nginx_serving

    nginx = nginx_binary()
    fill(site)
    app = make_app()
    out = tmp_path / "export"
    result = app.test_cli_runner().invoke(args=["export", str(out), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    docs = json.loads((out / "export-manifest.json").read_text())["documents"]
    # Manifest URLs are the links' spelling (percent-encoded); files carry the decoded name nginx's $uri has.
    assert all(u.isascii() for u in docs)
    assert docs[quote(f"/posts/{RU}")]["file"] == f"posts/{RU}.html"
    assert (out / f"posts/{ZH}.html").read_bytes() == app.test_client().get(quote(f"/posts/{ZH}")).data
    for lang in ("ar", "en", "fr", "ru", "zh"):
        assert f"/languages/{lang}" in docs
    conf = (out / "nginx.conf").read_text(encoding="utf-8")
    assert f'"{quote("/posts/старое-имя")}"' in conf and '"/posts/старое-имя"' in conf  # the alias, both spellings
    with nginx_serving(out, tmp_path / "nginx", nginx) as number:
        client = app.test_client()
        for path in (
            f"/posts/{RU}",
            f"/posts/{AR}",
            f"/posts/{ZH}",
            "/tags/права-человека",
            f"/api/v1/posts/{RU}",
            "/feeds/tags/права-человека/atom.xml",
        ):
            want = client.get(quote(path)).data
            for target in (quote(path).encode(), path.encode("utf-8")):
                status, _, body = _raw_get(number, target)
                assert (status, body) == (200, want), target
        for target in (quote("/posts/старое-имя").encode(), "/posts/старое-имя".encode()):
            status, headers, _ = _raw_get(number, target)
            assert status == 308 and headers["location"] == f"{BASE}/posts/lone-english", target
        # oEmbed for a slug in another script: its URL percent-encoded or raw, in a query encoded or not.
        for slug, name in ((RU, RU), (ZH, ZH), ("старое-имя", "lone-english")):
            want = client.get("/oembed?url=" + quote(f"{BASE}/posts/{quote(name)}", safe="")).data
            assert b'"type":"rich"' in want
            for target in (
                ("/oembed?url=" + quote(f"{BASE}/posts/{quote(slug)}", safe="")).encode(),
                ("/oembed?url=" + quote(f"{BASE}/posts/{slug}", safe="")).encode(),
                f"/oembed?url={BASE}/posts/{quote(slug).lower()}".encode(),
                f"/oembed?url={BASE}/posts/{slug}".encode(),
            ):
                assert client.get(target.decode("utf-8")).data == want, target
                status, _, body = _raw_get(number, target)
                assert (status, body) == (200, want), target


# -- properties ------------------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyzабвгдежзиклмнопрстуфхцчшщыэюяابتثجحخدذرسشصضطظعغفقكلمنهوي政策声明中文日本語한국어"


def test_built_urls_percent_encode_any_slug_and_route_back() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from feedsvc import urls
    from feedsvc.content import Author, Site

    site_ = Site(title="T", base_url=BASE, id_authority="example.org,2021", language="en", timezone="UTC", author=Author("T"))
    word = st.text(alphabet=_LETTERS, min_size=1, max_size=12)

    @settings(max_examples=200, deadline=None)
    @given(st.lists(word, min_size=1, max_size=4).map("-".join))
    def check(slug: str) -> None:
        for built, prefix in (
            (urls.tag_page(site_, slug), "/tags/"),
            (urls.language_page(site_, slug), "/languages/"),
            (urls.feed(site_, "atom", "tag", slug), "/feeds/tags/"),
            (urls.category_page(site_, slug), "/categories/"),
        ):
            assert built.isascii() and built.startswith(BASE + prefix)
            assert unquote(built.removeprefix(BASE)).startswith(prefix + slug)

    check()


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/embed",
        "/categories/statements",
        "/categories/empty",
        "/tags/ai",
        quote("/tags/حقوق-الانسان"),
        "/languages/zh",
        "/languages/ru",
        "/api/docs",
        "/posts/no-such-post",
        "/no/such/page",
        quote(f"/posts/{ZH}"),
    ],
)
def test_every_page_sets_lang_and_dir(client: Any, path: str) -> None:
    r = client.get(path)
    assert r.mimetype == "text/html"
    root = html.fromstring(r.data).getroottree().getroot()
    assert root.get("lang") and root.get("dir") in ("ltr", "rtl"), path
    if path == quote(f"/posts/{ZH}"):  # no Chinese catalog: English words, the post itself marked zh
        assert (root.get("lang"), root.get("dir")) == ("en", "ltr")
        article = html.fromstring(r.data).xpath("//article")[0]
        assert (article.get("lang"), article.get("dir")) == ("zh", "ltr")
        assert article.xpath(".//time")[0].text == "2021年4月5日"  # its date in its own language
    if path == "/languages/zh":
        titles = html.fromstring(r.data).xpath("//h3[contains(@class, 'post-card-title')]")
        assert [(h.get("lang"), h.text_content()) for h in titles] == [("zh", "政策声明")]
        name = html.fromstring(r.data).xpath("//h1/span[@lang]")[0]
        assert (name.get("lang"), name.text) == ("zh", "中文")


def test_tag_page_by_label_redirects_to_the_slug(client: Any) -> None:
    for given, slug in (("AI", "ai"), ("Droits humains", "droits-humains"), ("ПРАВА ЧЕЛОВЕКА", "права-человека")):
        r = client.get(quote(f"/tags/{given}"))
        assert r.status_code == 308 and r.headers["Location"] == url(f"/tags/{slug}")
    assert client.get("/tags/no-such-tag").status_code == 404


def test_a_translations_edit_moves_the_last_modified_of_the_pages_listing_it(site: SiteTree, make_app: Any) -> None:
    import os

    fill(site)
    site.age(7 * 86400)  # every file a week old
    fr = site.root / "posts" / f"{GROUP['fr'][0]}.md"
    fr.write_text(fr.read_text(encoding="utf-8").replace(GROUP["fr"][1], "Déclaration révisée"), encoding="utf-8")
    edited = int(os.stat(fr).st_mtime)
    en = quote(GROUP["en"][0])
    with make_app().test_client() as c:
        for path in (f"/posts/{en}", f"/api/v1/posts/{en}", "/api/v1/posts?lang=en&per_page=100"):
            r = c.get(path)
            assert "Déclaration révisée" in r.get_data(as_text=True), path
            from email.utils import parsedate_to_datetime

            assert int(parsedate_to_datetime(r.headers["Last-Modified"]).timestamp()) >= edited, path


def test_catalogs_digest_moves_with_any_catalog(tmp_path: Path) -> None:
    import shutil

    from feedsvc.i18n import catalogs_digest

    root = tmp_path / "translations"
    shutil.copytree(CATALOGS, root, ignore=shutil.ignore_patterns("*.mo", "*.pot"))
    before = catalogs_digest(root)
    assert before == catalogs_digest(CATALOGS)  # compiled .mo files and the template do not count
    po = root / "ru" / "LC_MESSAGES" / "messages.po"
    po.write_text(po.read_text(encoding="utf-8").replace('msgstr "Главная"', 'msgstr "Домой"'), encoding="utf-8")
    assert catalogs_digest(root) != before
