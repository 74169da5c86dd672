"""The pure content core: parse a content directory into an SQLite index and query it. Imports nothing from Flask."""

from .errors import ContentError
from .index import CategoryInfo, Index, PostList, Query, TagInfo
from .live import LiveIndex
from .loader import Loader, load_index
from .model import Attachment, Author, Category, Event, Post, Problem, Site, Tag
from .paging import Page
from .parse import parse_post
from .site import SiteError, load_site

__all__ = [
    "Attachment", "Author", "Category", "CategoryInfo", "ContentError", "Event", "Index", "LiveIndex",
    "Loader", "Page", "Post", "PostList", "Problem", "Query", "Site", "SiteError", "Tag", "TagInfo",
    "load_index", "load_site", "parse_post",
]
