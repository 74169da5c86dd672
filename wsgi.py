"""The WSGI entry point: the only module-level app."""

from feedsvc import create_app
from feedsvc.extensions import state

app = create_app()
# Load the content now: under gunicorn --preload the master builds the index once and
# workers share it copy-on-write; a broken site.yaml stops start-up with a clear message.
state(app).live
