"""WSGI entry point for production servers: ``gunicorn 'web.wsgi:app'``.

The configuration comes from ``$CONVENE_CONFIG`` (and the environment
overrides), exactly as for the ``convene`` command.
"""

from web import create_app

app = create_app()
