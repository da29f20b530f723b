"""Faces of agentmesh: the CLI, the REPL, the HTTP server and web page, the Slack app.

Their public surface is the ``agentmesh`` command (README.md); the modules' ``__all__`` name what
other code may import (``create_app``, ``app``).
"""

__all__: list[str] = []
