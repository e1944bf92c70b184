"""The operator layer: what `kibitz server ...` runs on the configured database and keystore directly.

Each entry point is synchronous: it opens what it needs (`kibitz.server.offline`), runs the async domain
functions, commits (an operator command is its own edge, as a request is for a route) and closes. Domain
modules keep only async functions that take a session; the CLI calls nothing else of the server's.
"""
