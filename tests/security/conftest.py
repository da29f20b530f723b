"""Attack suites: every test is one attack; the summary lines count those contained.

A test named ``test_attack_<kind>_...`` is one attack of that kind (python, sql, workflow,
worker, sparql, facts, server, secrets, mcp, injection); a ``layer`` parameter (sql) says which protections were switched on."""

from __future__ import annotations

import re

KINDS = ("python", "sql", "workflow", "worker", "sparql", "facts", "server", "secrets", "mcp", "injection")
LAYER_NAMES = {"whole": "whole tool", "statement_check_alone": "statement check alone", "connection_alone": "connection alone",
               "seccomp_alone": "seccomp filter alone", "view_alone": "mount view alone"}


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    reports = [r for key in ("passed", "failed", "error") for r in terminalreporter.stats.get(key, [])]
    attacks = [r for r in reports if r.when == "call" and "/security/" in r.nodeid.replace("\\", "/") and "::test_attack_" in r.nodeid]
    if not attacks:
        return
    for kind in KINDS:
        subset = [r for r in attacks if f"::test_attack_{kind}_" in r.nodeid]
        if not subset:
            continue
        line = f"{kind}: {len(subset)} attacks, {sum(r.passed for r in subset)} contained"
        layers = []
        for layer, label in LAYER_NAMES.items():
            in_layer = [r for r in subset if re.search(rf"[\[-]{layer}[\]-]", r.nodeid)]
            if in_layer:
                layers.append(f"{label} {sum(r.passed for r in in_layer)}/{len(in_layer)}")
        terminalreporter.write_line(line + (f" ({', '.join(layers)})" if layers else ""))
    terminalreporter.write_line(f"{len(attacks)} attacks, {sum(r.passed for r in attacks)} contained")
