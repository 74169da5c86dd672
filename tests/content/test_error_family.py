"""One exception family: every deliberate error is a FeedsvcError; only "no content yet" is waited out."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest

from feedsvc.budget import RenderBudgetExceeded
from feedsvc.config import ConfigError
from feedsvc.content import live as live_module
from feedsvc.content.errors import ContentError, ContentUnavailable, FeedsvcError, NoContentYet, NotFound
from feedsvc.content.loader import Loader
from feedsvc.content.site import SiteError
from feedsvc.errors import ApiError
from feedsvc.extensions import state
from feedsvc.feeds.document import FeedNotFound


@pytest.mark.parametrize(
    "cls",
    [
        NotFound,
        NoContentYet,
        ContentError,
        SiteError,
        ConfigError,
        ContentUnavailable,
        ApiError,
        FeedNotFound,
        RenderBudgetExceeded,
    ],
)
def test_every_deliberate_error_is_a_feedsvc_error(cls: type) -> None:
    assert issubclass(cls, FeedsvcError)


def test_feed_not_found_is_answered_404_by_the_one_handler(client: Any) -> None:
    resp = client.get("/feeds/categories/no-such/atom.xml")
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "not_found"


def test_another_lookup_error_of_the_first_load_is_not_waited_out(make_app: Any, monkeypatch: Any) -> None:
    """A KeyError from a bug in the load is raised at once, not retried as if another process were writing."""
    monkeypatch.setattr(live_module, "FIRST_LOAD_WAIT", 1.0)
    app = make_app()
    with mock.patch.object(Loader, "load_in_child", side_effect=KeyError("bug")) as load:
        with pytest.raises(KeyError):
            state(app).live
    assert load.call_count == 1
