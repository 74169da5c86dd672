"""The pure content core: model, loader, index. Imports nothing from Flask."""

from .errors import ContentError
from .index import CategoryInfo, Index, Query, TagInfo
from .live import LiveIndex
from .loader import Loader, SiteError, load_index, load_site, parse_post
from .model import Attachment, Author, Category, Event, Post, Problem, Site, Tag
from .paging import Page

__all__ = [
    "Attachment", "Author", "Category", "CategoryInfo", "ContentError", "Event", "Index", "LiveIndex",
    "Loader", "Page", "Post", "Problem", "Query", "Site", "SiteError", "Tag", "TagInfo",
    "load_index", "load_site", "parse_post",
]
