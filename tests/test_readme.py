"""README.md says what the code does: its settings table lists each setting once, and no other."""

from __future__ import annotations

import re
from pathlib import Path

from agentmesh import Settings

README = Path(__file__).resolve().parent.parent / "README.md"


def _settings_rows() -> list[str]:
    """The keys of the table under "## Configuration" (a row may name several: `a` / `b`)."""
    section = README.read_text().split("## Configuration", 1)[1]
    table = section[section.index("| key | default | meaning |"):]
    table = table[:table.index("\n\n")]
    return [name for row in table.splitlines()[2:] for name in re.findall(r"`([a-z_]+)`", row.split("|")[1])]


def test_the_settings_table_lists_every_setting_exactly_once():
    rows = _settings_rows()
    twice = sorted({name for name in rows if rows.count(name) > 1})
    fields = set(Settings.model_fields)
    assert twice == []
    assert sorted(fields - set(rows)) == []
    assert sorted(set(rows) - fields) == []
