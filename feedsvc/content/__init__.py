"""The pure content core: parse a content directory into an SQLite index and query it. Imports nothing from Flask."""

from .errors import ContentError, ContentUnavailable
from .index import Index
from .lists import PostList
from .live import LiveIndex
from .loader import Loader, load_index
from .model import Attachment, Author, Category, CategoryInfo, Event, Fediverse, Post, Problem, Site, Tag, TagInfo
from .paging import Page
from .parse import parse_post
from .queries import Query
from .site import SiteError, load_site

__all__ = [
    "Attachment",
    "Author",
    "Category",
    "CategoryInfo",
    "ContentError",
    "ContentUnavailable",
    "Event",
    "Fediverse",
    "Index",
    "LiveIndex",
    "Loader",
    "Page",
    "Post",
    "PostList",
    "Problem",
    "Query",
    "Site",
    "SiteError",
    "Tag",
    "TagInfo",
    "load_index",
    "load_site",
    "parse_post",
]
