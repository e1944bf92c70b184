"""The Kibitz server: an ASGI application built by `kibitz.server.app.create_app(settings)`."""
