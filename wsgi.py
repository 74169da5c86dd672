"""The WSGI entry point: the only module-level app."""

from feedsvc import create_app
from feedsvc.extensions import state

app = create_app()
# Load the content now: under gunicorn --preload the master brings the index database up
# to date before forking (workers then only read it); a broken site.yaml with no earlier
# good version stops start-up with a clear message.
state(app).live  # loads the content now
