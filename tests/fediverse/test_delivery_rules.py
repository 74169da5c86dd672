"""Delivery rules against a bovine remote: Accept first and retried, re-signing after 11 h, per-language actors, 410."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

from feedsvc.extensions import state
from feedsvc.outbox import outbox
from feedsvc.outbox.fediverse.signatures import params

from .remote import Remote
from .support import ACTOR, drain, followers, post, started


def test_a_follow_while_the_inbox_is_down_ends_accepted_with_the_same_signature(site, fedi_app, remote):
    app = fedi_app
    remote.fail = True
    follow = remote.follow(ACTOR)
    assert post(app.test_client(), remote, "/ap/inbox", follow).status_code == 202
    sender = outbox(app).sender
    sender.run_once()  # the remote's inbox is briefly down: the Accept waits for its retry
    [refused] = remote.refused
    assert remote.received == [] and sender.queue.pending() == 1
    remote.fail = False
    sender.clock = lambda: time.time() + 600  # ten minutes later the retry is due
    drain(app)
    [accept] = remote.received
    assert accept["activity"]["type"] == "Accept" and accept["activity"]["object"]["id"] == follow["id"]
    assert accept["verified_by"] == ACTOR
    assert accept["body"] == refused["body"] and accept["headers"]["signature"] == refused["headers"]["signature"]


def test_a_follow_is_accepted_ahead_of_a_backlog_waiting_for_its_retry(site, fedi_app, remote):
    app = fedi_app
    client = app.test_client()
    assert post(client, remote, "/ap/inbox", remote.follow(ACTOR)).status_code == 202
    drain(app)
    remote.fail = True
    for i in range(3):
        site.post(f"p{i}", title=f"P{i}", date=f"2021-03-0{i + 1}")
    state(app).live.refresh()
    sender = outbox(app).sender
    sender.run_once()  # the first Create fails: all three wait for a retry a minute away
    assert sender.queue.pending() == 3
    remote.fail = False
    again = remote.follow(ACTOR)  # Mastodon sends the Follow again while it shows "pending"
    assert post(client, remote, "/ap/inbox", again).status_code == 202
    sender.run_once()  # now: only the Accept is due, and it goes first
    assert [g["activity"]["type"] for g in remote.received] == ["Accept", "Accept"]
    assert remote.received[1]["activity"]["object"]["id"] == again["id"]
    assert sender.queue.pending() == 3
    sender.clock = lambda: time.time() + 3600
    drain(app)
    assert [g["activity"]["object"]["name"] for g in remote.received[2:]] == ["P0", "P1", "P2"]
    assert all(g["verified_by"] == ACTOR for g in remote.received)


def test_a_delivery_pending_over_11_hours_is_signed_again(site, fedi_app, remote):
    app = fedi_app
    assert post(app.test_client(), remote, "/ap/inbox", remote.follow(ACTOR)).status_code == 202
    drain(app)
    remote.fail = True
    t0 = time.time() - 12 * 3600  # the post went live twelve hours ago, while the remote was down
    sender = outbox(app).sender
    sender.clock = lambda: t0
    site.post("late", title="Late")
    state(app).live.refresh()
    sender.run_once()
    sender.clock = lambda: t0 + 3600  # an hour later: retried with the very same signature
    sender.run_once()
    first, second = remote.refused
    assert second["headers"]["signature"] == first["headers"]["signature"]
    assert second["headers"]["date"] == first["headers"]["date"] and second["body"] == first["body"]
    remote.fail = False
    sender.clock = time.time  # now: the stored Date is 12 h old, past Mastodon's limit
    drain(app)
    [create] = remote.received[1:]
    assert create["body"] == first["body"], "the activity itself never changes"
    assert create["headers"]["date"] != first["headers"]["date"]
    assert abs(parsedate_to_datetime(create["headers"]["date"]).timestamp() - time.time()) < 600
    assert create["verified_by"] == ACTOR, "bovine checks the Date too: the old one would be refused"


def test_per_language_actors_deliver_only_their_language(site, make_app, tmp_path):
    site.write_site(fediverse={"username": "news", "per_language": True})
    site.post("en0", title="English zero")
    site.post("fr0", title="Français zéro", lang="fr")
    app = started(
        make_app(ACTIVITYPUB_KEY=str(tmp_path / "k.pem"), OUTBOX_PATH=str(tmp_path / "o.sqlite3"), FEDIVERSE_ALLOW_PRIVATE=True)
    )
    client = app.test_client()
    pem = client.get("/ap/actors/news").get_json()["publicKey"]["publicKeyPem"]
    fr_actor = ACTOR + "-fr"
    en, fr = Remote((pem, ACTOR)), Remote((pem, fr_actor))
    try:
        assert post(client, en, "/ap/inbox", en.follow(ACTOR)).status_code == 202
        assert post(client, fr, "/ap/actors/news-fr/inbox", fr.follow(fr_actor)).status_code == 202
        assert (followers(app), followers(app, "news-fr")) == (1, 1)
        drain(app)
        site.post("fr1", title="Français un", lang="fr")
        site.post("en1", title="English one")
        drain(app)
        for remote, who, name in ((en, ACTOR, "English one"), (fr, fr_actor, "Français un")):
            accept, create = [g for g in remote.received]
            assert accept["activity"]["type"] == "Accept" and accept["activity"]["actor"] == who
            assert create["activity"]["type"] == "Create" and create["activity"]["object"]["name"] == name
            assert create["activity"]["actor"] == who and create["activity"]["object"]["attributedTo"] == who
            assert params(create["headers"]["signature"])["keyId"] == who + "#main-key"
            assert create["verified_by"] == who
    finally:
        en.stop()
        fr.stop()


def test_an_inbox_answering_410_loses_its_followers(site, fedi_app, remote):
    app = fedi_app
    client = app.test_client()
    assert post(client, remote, "/ap/inbox", remote.follow(ACTOR)).status_code == 202
    drain(app)
    remote.fail, remote.fail_status = True, 410  # the account (or its server) is gone
    site.post("one", title="One")
    site.post("two", title="Two")
    drain(app)
    assert len(remote.refused) == 1, "one 410 is enough: what else was pending is dropped"
    assert followers(app) == 0 and outbox(app).sender.queue.pending() == 0
    status = app.test_cli_runner().invoke(args=["activitypub", "status"]).output
    assert "followers: 0" in status and "HTTP 410 Gone: 1 follower(s) removed" in status
    metrics = client.get("/metrics").data.decode()
    assert any('kind="activitypub"' in line and 'outcome="gone"' in line for line in metrics.splitlines())
    remote.fail = False
    site.post("three", title="Three")
    drain(app)
    assert remote.received[1:] == [], "nothing goes to a follower that is gone"
    # Back again (a new account at the same place): its Follow is accepted, the inbox is not disabled.
    assert post(client, remote, "/ap/inbox", remote.follow(ACTOR)).status_code == 202
    drain(app)
    assert [g["activity"]["type"] for g in remote.received] == ["Accept", "Accept"]


def test_a_delete_of_the_follower_removes_it_even_once_its_actor_answers_410(site, fedi_app, remote, make_app, tmp_path):
    app = fedi_app
    client = app.test_client()
    assert post(client, remote, "/ap/inbox", remote.follow(ACTOR)).status_code == 202
    delete = {"id": remote.id + "#delete", "type": "Delete", "actor": remote.id, "object": remote.id}
    assert post(client, remote, "/ap/inbox", delete).status_code == 202
    assert followers(app) == 0
    # Mastodon signs an account's Delete with its key, then the account answers 410: a process
    # that has not cached the key cannot verify it, but the 410 from the account's server is enough.
    assert post(client, remote, "/ap/inbox", remote.follow(ACTOR)).status_code == 202
    other = make_app(
        ACTIVITYPUB_KEY=str(tmp_path / "keys" / "ap.pem"),
        OUTBOX_PATH=str(tmp_path / "outbox.sqlite3"),
        FEDIVERSE_ALLOW_PRIVATE=True,
    )  # a second worker of the same service: its own key cache
    assert followers(other) == 1
    remote.gone = True
    delete2 = {**delete, "id": remote.id + "#delete2"}
    resp = post(other.test_client(), remote, "/ap/inbox", delete2)
    assert resp.status_code == 202 and resp.get_json() == {"outcome": "removed"}
    assert followers(other) == 0
    # A request naming a gone key that is no follower's removes nothing and is refused.
    stranger = Remote()
    try:
        stranger.gone = True
        resp = post(other.test_client(), stranger, "/ap/inbox", stranger.follow(ACTOR))
        assert resp.status_code == 401 and resp.mimetype == "application/json"
        assert resp.get_json()["error"]["code"] == "bad_signature"
    finally:
        stranger.stop()
