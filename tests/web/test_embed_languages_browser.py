"""Issue 14 in Debian's headless Chromium: the widget in French, Russian and Arabic, and an rtl page.

The reader's browser is en-GB (the shared ``browser`` fixture); the widget speaks data-lang,
else the host page's lang, and marks right-to-left items. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from support.browser import Server, make_service, open_page, screenshot, static_pages
from support.site import SiteTree

pytestmark = pytest.mark.browser

AR_SLUG = "بيان-الحد-من-الضرر"


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One text in four languages, a Chinese post, a Russian event."""
    site = SiteTree(tmp_path_factory.mktemp("embed-i18n") / "content")
    site.post(
        "harm-reduction-statement", "Body.", title="Statement on harm reduction", date="2021-03-01", summary="English summary"
    )
    site.post(
        "declaration-reduction-des-risques",
        "Corps.",
        title="Déclaration sur la réduction des risques",
        lang="fr",
        date="2021-03-02",
        summary="Résumé",
        translation_of="harm-reduction-statement",
    )
    site.post(
        "заявление-о-снижении-вреда",
        "Текст.",
        title="Заявление о снижении вреда",
        lang="ru",
        date="2021-03-03",
        summary="Краткое содержание",
        translation_of="harm-reduction-statement",
    )
    site.post(
        AR_SLUG,
        "نص.",
        title="بيان بشأن الحد من الضرر",
        lang="ar",
        date="2021-03-04",
        summary="ملخص",
        translation_of="harm-reduction-statement",
    )
    site.post("政策声明", "正文。", title="政策声明", lang="zh", date="2021-03-05")
    site.post(
        "встреча",
        "Приходите.",
        title="Встреча",
        lang="ru",
        date="2021-02-01",
        categories=["events"],
        event={"start": "2021-05-03T14:00:00+02:00", "location": "Вена"},
    )
    return site.root


@pytest.fixture(scope="module")
def service(content: Path) -> Iterator[Server]:
    with make_service(content) as server:
        yield server


def host_page(lang: str, body: str, script: str, direction: str = "ltr") -> str:
    return (
        f'<!doctype html><html lang="{lang}" dir="{direction}"><head><meta charset="utf-8"><title>Partner</title>'
        f'</head><body><h1>Partner</h1>{body}<script src="{script}" async></script></body></html>'
    )


@pytest.fixture(scope="module")
def partner(service: Server) -> Iterator[Server]:
    js = f"{service.url}/embed.js"
    pages = {
        # An English page embedding a French list: data-lang wins.
        "/fr.html": (host_page("en", '<div id="w" data-feedsvc data-lang="fr" data-summary></div>', js), {}),
        # A Russian page, no data-lang: the page's language; every post, an Arabic one among them.
        "/ru.html": (
            host_page(
                "ru", '<div id="w" data-feedsvc data-limit="20"></div><div id="ev" data-feedsvc data-category="events"></div>', js
            ),
            {},
        ),
        # An Arabic right-to-left page.
        "/ar.html": (
            host_page(
                "ar",
                '<div id="w" data-feedsvc data-lang="ar" data-summary></div><div id="all" data-feedsvc data-limit="20"></div>',
                js,
                "rtl",
            ),
            {},
        ),
    }
    with Server(static_pages(pages)) as server:
        yield server


READ = """
var host = document.getElementById(arguments[0]), root = host.shadowRoot, ul = root.querySelector('ul');
return {
  state: host.dataset.feedsvcState,
  label: ul && ul.getAttribute('aria-label'), lang: ul && ul.getAttribute('lang'), dir: ul && ul.getAttribute('dir'),
  direction: ul && getComputedStyle(ul).direction,
  items: Array.prototype.map.call(root.querySelectorAll('li'), function (li) {
    var t = li.querySelector('.title'), d = li.querySelector('time.date'), ev = li.querySelector('.event');
    return {title: t.textContent, lang: t.getAttribute('lang'), dir: li.getAttribute('dir'),
            direction: getComputedStyle(li).direction, date: d && d.textContent,
            event: ev && ev.textContent, summary: li.querySelector('.summary') && li.querySelector('.summary').textContent};
  })
};
"""


def read(driver: Any, element_id: str) -> dict[str, Any]:
    return driver.execute_script(READ, element_id)


def test_widget_in_french_by_data_lang(browser: Any, partner: Server) -> None:
    open_page(browser, f"{partner.url}/fr.html", widgets=1)
    w = read(browser, "w")
    assert w["state"] == "ready"
    assert (w["label"], w["lang"], w["dir"]) == ("Derniers articles", "fr", "ltr")
    assert [i["title"] for i in w["items"]] == ["Déclaration sur la réduction des risques"]
    assert w["items"][0]["date"] == "2 mars 2021"  # French, though the reader's browser is en-GB
    assert w["items"][0]["summary"] == "Résumé" and w["items"][0]["dir"] is None
    screenshot(browser, "embed-fr.png")


def test_widget_in_russian_from_the_host_page_lang(browser: Any, partner: Server) -> None:
    open_page(browser, f"{partner.url}/ru.html", widgets=2)
    w = read(browser, "w")
    assert (w["label"], w["lang"], w["dir"]) == ("Последние публикации", "ru", "ltr")
    items = {i["title"]: i for i in w["items"]}
    assert items["Заявление о снижении вреда"]["date"].startswith("3 марта 2021")
    arabic = items["بيان بشأن الحد من الضرر"]
    assert (arabic["lang"], arabic["dir"], arabic["direction"]) == ("ar", "rtl", "rtl")
    assert items["政策声明"]["dir"] is None and items["政策声明"]["direction"] == "ltr"
    ev = read(browser, "ev")["items"][0]
    assert ev["event"].startswith("Мероприятие: ") and "Вена" in ev["event"]
    screenshot(browser, "embed-ru.png")


def test_widget_in_arabic_right_to_left(browser: Any, partner: Server) -> None:
    open_page(browser, f"{partner.url}/ar.html", widgets=2)
    w = read(browser, "w")
    assert (w["label"], w["lang"], w["dir"], w["direction"]) == ("أحدث المنشورات", "ar", "rtl", "rtl")
    assert [i["title"] for i in w["items"]] == ["بيان بشأن الحد من الضرر"]
    item = w["items"][0]
    assert (item["dir"], item["direction"], item["summary"]) == ("rtl", "rtl", "ملخص")
    assert "مارس" in item["date"]  # Arabic month name
    everything = {i["title"]: i for i in read(browser, "all")["items"]}
    # Left-to-right items in a right-to-left list say so.
    assert everything["Déclaration sur la réduction des risques"]["dir"] == "ltr"
    assert everything["Déclaration sur la réduction des risques"]["direction"] == "ltr"
    screenshot(browser, "embed-ar.png")


def test_arabic_post_page_lays_out_right_to_left(browser: Any, service: Server) -> None:
    browser.get(f"{service.url}/posts/{quote(AR_SLUG)}")
    got = browser.execute_script("""
        return {lang: document.documentElement.lang, dir: document.documentElement.dir,
                direction: getComputedStyle(document.querySelector('main')).direction,
                home: document.querySelector('nav.crumbs a').textContent,
                versions: Array.prototype.map.call(document.querySelectorAll('nav.versions a'),
                                                   function (a) { return [a.hreflang, a.textContent]; })};""")
    assert (got["lang"], got["dir"], got["direction"], got["home"]) == ("ar", "rtl", "rtl", "الرئيسية")
    assert got["versions"] == [["en", "English"], ["fr", "Français"], ["ru", "Русский"]]
    screenshot(browser, "post-ar.png")
