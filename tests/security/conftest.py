"""Attack suites: every test is one attack; the summary line counts those contained."""

from __future__ import annotations


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    reports = [r for key in ("passed", "failed", "error") for r in terminalreporter.stats.get(key, [])]
    attacks = [r for r in reports if r.when == "call" and "/security/" in r.nodeid.replace("\\", "/") and "::test_attack" in r.nodeid]
    if attacks:
        contained = sum(r.passed for r in attacks)
        for kind in ("python", "sql"):
            subset = [r for r in attacks if f"test_{kind}_" in r.nodeid]
            if subset:
                terminalreporter.write_line(f"{kind}: {len(subset)} attacks, {sum(r.passed for r in subset)} contained")
        terminalreporter.write_line(f"{len(attacks)} attacks, {contained} contained")
