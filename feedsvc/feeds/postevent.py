"""``/posts/<slug>/event.ics``: one event post as a calendar file ("add to calendar").

The same iCalendar writer as the calendar feeds: one VEVENT, with the VTIMEZONE of its
zone (RFC 5545 §3.6.5), its UID the post's id, so importing it twice updates one event.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app

from .. import caching, http, urls
from ..content.errors import NotFound
from ..extensions import current_index
from ..representation import Representation
from . import icalendar
from .document import MEDIA_TYPES, FeedDoc, FeedItem, translations_of

bp = Blueprint("event", __name__)


@bp.get("/posts/<slug>/event.ics")
def event_ics(slug: str) -> Any:
    """The event of a post as a single-VEVENT calendar; 404 when the post has none."""
    index = current_index()
    post = index.get(slug)
    if post is None or post.event is None:
        raise NotFound("there is no published event post with this slug")
    site = index.site
    ttl = int(current_app.config["MAX_AGE"])

    def produce() -> Representation:
        link = urls.permalink(site, post)
        doc = FeedDoc(fmt="ics", site=site, id=post.id, title=post.title, subtitle=post.summary,
                      updated=post.updated, language=post.lang, self_url=urls.event_calendar(site, post),
                      alternate_url=link, items=(FeedItem(post, link, (), translations_of(index, post)),),
                      ttl_seconds=ttl)
        return Representation(icalendar.write(doc), MEDIA_TYPES["ics"], index.last_modified((post,)))

    return http.send(caching.render("event.ics", {"slug": post.slug}, produce))
