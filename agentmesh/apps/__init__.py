"""Faces of agentmesh: the CLI (and later the server, Slack and the REPL)."""
