"""The data profile: rows named from the data (one column, a first and last name, a foreign key),
any number of names looked up, units from names and comments, stored in the data home and
rebuilt when the data changes, overridden by the lexicon, printed by ``agentmesh profile``."""

from __future__ import annotations

import ast
import json
import sqlite3
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentmesh.answering import profile as profile_module
from agentmesh.answering.lexicon import load_lexicon
from agentmesh.answering.profile import build_profile, load_or_build, profile_path, unit_of
from agentmesh.apps.cli import app
from agentmesh.errors import ConfigError
from agentmesh.tools.sql import SQLDatabase
from agentmesh.tools.sql_lookup import make_sql_lookup_tool
from agentmesh.tools.sql_rank import conditions_of, make_sql_rank_tool

ROOT = Path(__file__).resolve().parents[1]
RAILWAY = ROOT / "examples" / "railway" / "railway.sqlite"


def sqlite_file(path: Path, script: str, rows: dict[str, list[tuple]] | None = None) -> Path:
    with sqlite3.connect(path) as conn:
        conn.executescript(script)
        for table, values in (rows or {}).items():
            conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(values[0]))})", values)
    return path


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """Customers named in two parts, orders named only through their customer, 2,500 products."""
    customers = [(1, "Ada", "Lovelace", "London"), (2, "Ada", "Byron", "London"), (3, "Alan", "Turing", "Wilmslow"),
                 (4, "Grace", "Hopper", "Arlington"), (5, "Alan", "Kay", "Boston"), (6, "Grace", "Turing", "Boston"),
                 (7, "Barbara", "Hopper", "Boston")]
    return sqlite_file(tmp_path / "shop.sqlite", """
        CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, family TEXT, given TEXT, city TEXT);
        CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(customer_id),
                             total_usd REAL, weight_kg REAL, shipped TEXT);
        CREATE TABLE products (product_id INTEGER PRIMARY KEY, title TEXT,
                               shelf_height REAL  -- shelf height in centimetres
                               );
    """, {"customers": [(i, last, first, city) for i, first, last, city in customers],
          "orders": [(i, 1 + i % 7, 10.0 * i, 1.5, "2024-01-%02d" % (1 + i % 28)) for i in range(1, 40)],
          "products": [(i, f"Widget {i:04d} Deluxe", 1.0 + i / 1000) for i in range(1, 2501)]})


def test_the_example_databases_keep_their_labels(example_db):
    landscape = build_profile(SQLDatabase(example_db))
    assert {t: (p.label.kind, p.label.table, p.label.columns) for t, p in landscape.tables.items()} == {
        "models": ("column", "models", ["name"]), "developers": ("column", "developers", ["name"]),
        "licenses": ("column", "licenses", ["name"]), "benchmarks": ("foreign_key", "models", ["name"]),
        "prices": ("foreign_key", "models", ["name"])}
    railway = build_profile(SQLDatabase(RAILWAY)).tables
    assert (railway["drivers"].label.kind, railway["drivers"].label.columns) == ("composite", ["FirstName", "LastName"])
    assert railway["stations"].label.columns == ["station_name"] and railway["lines"].label.columns == ["line_name"]
    assert railway["journeys"].label.kind == railway["line_stops"].label.kind == "foreign_key"


def test_a_name_in_two_parts_is_one_label_in_the_order_people_write_it(shop):
    """Neither column is unique alone (two Adas, two Hoppers); together they are. The given name
    goes first though the schema has it second: its column's name says so."""
    db = SQLDatabase(shop)
    label = build_profile(db).tables["customers"].label
    assert (label.kind, label.columns) == ("composite", ["given", "family"])
    lookup = make_sql_lookup_tool(db)
    assert lookup.invoke({"names": ["Alan Turing"], "columns": ["city"]}) == "given family | city\nAlan Turing | Wilmslow"
    narrowed = lookup.metadata["narrow"]("Which city does Grace Hopper live in?")
    assert narrowed is not None and narrowed.invoke({"names": ["Grace Hopper"], "columns": ["city"]}).endswith("Arlington")


def test_without_words_in_the_column_names_the_part_with_fewer_distinct_values_comes_first(tmp_path):
    path = sqlite_file(tmp_path / "p.sqlite", "CREATE TABLE people (pid INTEGER PRIMARY KEY, b TEXT, a TEXT);",
                       {"people": [(1, "Morrow", "Agnes"), (2, "Fielding", "Agnes"), (3, "Lindahl", "Agnes"),
                                   (4, "Morrow", "Bram"), (5, "Fielding", "Bram"), (6, "Okafor", "Cora"),
                                   (7, "Lindahl", "Cora"), (8, "Quist", "Eli")]})
    assert build_profile(SQLDatabase(path)).tables["people"].label.columns == ["a", "b"]


def test_a_table_without_a_name_is_named_by_the_row_its_foreign_key_points_to(shop):
    db = SQLDatabase(shop)
    label = build_profile(db).tables["orders"].label
    assert (label.kind, label.via, label.columns) == ("foreign_key", ["customer_id", "customers", "customer_id"],
                                                      ["given", "family"])
    rank = make_sql_rank_tool(db)
    assert rank.invoke({"measure": "highest total_usd", "where": "all"}) == "given family | total_usd\nAlan Kay | 390.0"


def test_keys_the_schema_does_not_declare_are_found_from_the_data(tmp_path):
    """As in the defog databases: no key declared. A column whose values all sit in another table's
    same-named identifier points there; a link table unique on it too loses to the table the
    column's name abbreviates; a value outside the target, a column named plain ``id``, or two tables
    holding the same identifiers (one to one: no direction), is no key."""
    path = sqlite_file(tmp_path / "papers.sqlite", """
        CREATE TABLE journal (homepage TEXT, jid INTEGER, name TEXT);
        CREATE TABLE journal_tag (jid INTEGER, tag TEXT);
        CREATE TABLE paper (id INTEGER, title TEXT, jid INTEGER, region TEXT);
        CREATE TABLE region (region TEXT, id INTEGER);
        CREATE TABLE journal_copy (jid INTEGER, note TEXT);
    """, {"journal": [("a.org", 1, "Nature"), ("b.org", 2, "Science"), ("c.org", 3, "Cell"), ("d.org", 4, "Lancet")],
          "journal_tag": [(1, "open"), (2, "open"), (3, "open")],
          "paper": [(1, "On Salt", 1, "North"), (2, "On Ice", 1, "South"), (3, "On Fire", 3, "West")],
          "region": [("North", 1), ("South", 2)], "journal_copy": [(1, "a"), (2, "b"), (3, "c"), (4, "d")]})
    profile = build_profile(SQLDatabase(path))
    found = {(t, fk.columns[0], fk.table, fk.inferred) for t, p in profile.tables.items() for fk in p.foreign_keys}
    assert found == {("paper", "jid", "journal", True), ("journal_tag", "jid", "journal", True)}
    assert profile.tables["paper"].paths["journal"] == ["journal"]
    assert profile.tables["journal_tag"].label.kind == "foreign_key"


def test_more_than_2000_names_are_all_found(shop):
    """Before, a table with more than 2,000 names was not offered by name at all."""
    db = SQLDatabase(shop)
    assert len(db.labels["products"][1]) == 2500
    lookup = make_sql_lookup_tool(db)
    narrowed = lookup.metadata["narrow"]("What is the shelf height of Widget 2417 Deluxe?")
    assert narrowed is not None
    assert narrowed.invoke({"names": ["Widget 2417 Deluxe"], "columns": ["shelf_height"]}) == \
        "title | shelf_height\nWidget 2417 Deluxe | 3.417"
    # the tool made without a question takes any name (2,500 do not fit a schema) and looks it up
    assert lookup.invoke({"names": ["Widget 0007 Deluxe"], "columns": ["shelf_height"]}).endswith("| 1.007")
    with pytest.raises(Exception, match="no row is named 'Widget 9999 Deluxe'"):
        lookup.invoke({"names": ["Widget 9999 Deluxe"], "columns": ["shelf_height"]})
    plan = make_sql_rank_tool(db).metadata["rank_plan"]
    assert conditions_of("How many orders did Ada Lovelace place?", plan) == ["customers = Ada Lovelace"]


def test_units_are_read_from_column_names_and_comments(shop):
    tables = build_profile(SQLDatabase(shop)).tables
    assert {m.column: (m.unit, m.unit_from) for m in tables["orders"].measures} == {
        "total_usd": ("USD", "name"), "weight_kg": ("kg", "name")}
    assert [(m.unit, m.unit_from, m.comment) for m in tables["products"].measures] == [
        ("cm", "comment", "shelf height in centimetres")]
    assert tables["orders"].dates == ["shipped"]
    assert [unit_of(c)[0] for c in ("price_usd", "length_km", "duration_minutes", "elevation_m", "growth_pct",
                                    "input_per_1m_usd", "throughput_tok_s", "passengers")] == [
        "USD", "km", "minutes", "m", "%", "USD per 1m", "tok/s", ""]


def test_categories_hold_their_values_for_conditions():
    stations = build_profile(SQLDatabase(RAILWAY)).tables["stations"]
    assert {c.column: c.values for c in stations.categories}["region"] == ["Central", "Coast", "Highlands", "North", "South"]


def test_in_a_small_table_values_that_repeat_at_all_are_a_category(tmp_path):
    path = tmp_path / "orgs.sqlite"
    with sqlite3.connect(path) as conn:  # five rows: too few for a value to repeat twice on average
        conn.execute("CREATE TABLE organization (oid INTEGER PRIMARY KEY, name TEXT, continent TEXT, homepage TEXT)")
        conn.executemany("INSERT INTO organization VALUES (?, ?, ?, ?)",
                         [(1, "Org One", "Asia", "one.org"), (2, "Org Two", "Europe", "two.org"),
                          (3, "Org Three", "Europe", "three.org"), (4, "Org Four", "Africa", "four.org"),
                          (5, "Org Five", "Asia", "five.org")])
    organization = build_profile(SQLDatabase(path)).tables["organization"]
    assert {c.column: c.values for c in organization.categories} == {"continent": ["Africa", "Asia", "Europe"]}


def test_units_from_a_postgresql_column_comment():
    import sqlalchemy as sa

    pytest.importorskip("psycopg", reason="psycopg is not installed: pip install 'agentmesh[postgres]'")
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        conn = admin.connect()
    except sa.exc.OperationalError as exc:
        pytest.skip(f"no PostgreSQL at {url}: {str(exc.orig).splitlines()[0]}")
    with conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS am_profile_trails")
        conn.exec_driver_sql("CREATE TABLE am_profile_trails (trail_id int PRIMARY KEY, trail_name text, ascent int)")
        conn.exec_driver_sql("COMMENT ON COLUMN am_profile_trails.ascent IS 'total climb in metres'")
        conn.exec_driver_sql("INSERT INTO am_profile_trails VALUES (1, 'Ridge Walk', 420), (2, 'Lake Loop', 80)")
    try:
        db = SQLDatabase(url, allow_privileged=True)  # the superuser of the test server: only reads here
        trails = build_profile(db).tables["am_profile_trails"]
        assert [(m.column, m.unit, m.unit_from, m.comment) for m in trails.measures] == [
            ("ascent", "m", "comment", "total climb in metres")]
        assert trails.label.columns == ["trail_name"]
        db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS am_profile_trails")
        admin.dispose()


def test_the_profile_is_stored_reused_and_rebuilt_when_the_data_changes(shop, tmp_path, monkeypatch):
    builds = []
    real = profile_module.build_profile
    monkeypatch.setattr(profile_module, "build_profile", lambda *a, **k: builds.append(1) or real(*a, **k))
    home = tmp_path / "home"
    first = load_or_build(SQLDatabase(shop), home=home)
    path = profile_path(home, SQLDatabase(shop))
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600 and len(builds) == 1
    assert json.loads(path.read_text())["tables"]["customers"]["label"]["columns"] == ["given", "family"]
    assert load_or_build(SQLDatabase(shop), home=home).to_dict() == first.to_dict() and len(builds) == 1  # reused
    with sqlite3.connect(shop) as conn:  # a new row: the counts change
        conn.execute("INSERT INTO customers VALUES (8, 'Liskov', 'Barbara', 'Boston')")
    load_or_build(SQLDatabase(shop), home=home)
    assert len(builds) == 2
    with sqlite3.connect(shop) as conn:  # a new column: the schema changes
        conn.execute("ALTER TABLE orders ADD COLUMN distance_km REAL")
    again = load_or_build(SQLDatabase(shop), home=home)
    assert len(builds) == 3 and "distance_km" in [m.column for m in again.tables["orders"].measures]
    assert not list(path.parent.glob(".profile-*"))  # written through a temporary file, none left behind


def test_the_lexicon_sets_a_label_and_a_unit(shop, tmp_path):
    lexicon = tmp_path / "lexicon.toml"
    lexicon.write_text('[labels]\ncustomers = ["family", "given"]\nproducts = "title"\n[units]\n"orders.total_usd" = ["euro"]\n')
    db = SQLDatabase(shop)
    found = build_profile(db, lexicon=load_lexicon(lexicon))
    assert (found.tables["customers"].label.kind, found.tables["customers"].label.columns) == ("lexicon", ["family", "given"])
    assert found.tables["orders"].label.columns == ["family", "given"]  # its foreign key's label follows
    assert {m.column: m.unit for m in found.tables["orders"].measures}["total_usd"] == "euro"
    db.use_profile(found)
    assert make_sql_lookup_tool(db).invoke({"names": ["Hopper Grace"], "columns": ["city"]}) == \
        "family given | city\nHopper Grace | Arlington"


@pytest.mark.parametrize("text,message", [
    ('[labels]\nclients = "name"\n', r"lexicon file '.*lexicon.toml': \[labels\] clients: the database has no table 'clients'"),
    ('[labels]\ncustomers = "surname"\n', r"\[labels\] customers: 'customers' has no column 'surname'"),
    ('[labels]\ncustomers = 3\n', r"lexicon file '.*lexicon.toml': \[labels\] customers must be a column name"),
])
def test_a_wrong_label_in_the_lexicon_names_the_file_and_the_key(shop, tmp_path, text, message):
    lexicon = tmp_path / "lexicon.toml"
    lexicon.write_text(text)
    with pytest.raises(ConfigError, match=message):
        build_profile(SQLDatabase(shop), lexicon=load_lexicon(lexicon))


def test_agentmesh_profile_prints_the_profile_and_json_for_tools(shop):
    runner = CliRunner()
    shown = runner.invoke(app, ["profile", "--db", str(shop)], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "given + family" in shown.output and "total_usd (USD)" in shown.output
    result = runner.invoke(app, ["profile", "--db", str(shop), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["tables"]["customers"]["label"]["columns"] == ["given", "family"]
    assert data["tables"]["orders"]["label"]["via"] == ["customer_id", "customers", "customer_id"]
    assert data["fingerprint"]


def test_agentmesh_profile_shows_the_graphs_labels(example_kg):
    result = CliRunner().invoke(app, ["profile", "--kg", str(example_kg), "--json"])
    assert result.exit_code == 0, result.output
    terms = {t["uri"].rsplit("/", 1)[-1].rsplit("#", 1)[-1]: t for t in json.loads(result.stdout)["graph"]}
    assert terms and all(t["kind"] in ("class", "predicate") for t in terms.values())
    assert any(t["labels"] for t in terms.values())


def test_agentmesh_profile_without_data_says_what_to_pass():
    result = CliRunner().invoke(app, ["profile"])
    assert result.exit_code == 2 and "pass --db" in result.output


# -- no list of label-column names comes back into agentmesh/tools --------------------------------
def column_name_lists(source: str) -> list[tuple[int, list[str]]]:
    """Constants of a module (or of a class in it) that are a tuple, list or set (or a frozenset of
    one) of two or more strings that all read as a column name in English: lower-case letters
    only, at least four of them ("name", "title", "label"). ``LABEL_COLUMNS = ("name", "title",
    "label")`` named the user's columns for them; the data profile finds them from the data. SQL
    keywords (upper case), units ("km", "usd") and short codes do not match, nor lists inside
    functions (arguments, literals of one call)."""
    def words(value: ast.expr) -> list[str] | None:
        if isinstance(value, ast.Call) and getattr(value.func, "id", "") in ("frozenset", "set", "tuple") and value.args:
            value = value.args[0]
        if not isinstance(value, (ast.Tuple, ast.List, ast.Set)) or len(value.elts) < 2:
            return None
        found = [i.value for i in value.elts if isinstance(i, ast.Constant) and isinstance(i.value, str)]
        if len(found) == len(value.elts) and all(w.isalpha() and w.islower() and len(w) >= 4 for w in found):
            return found
        return None

    tree = ast.parse(source)
    bodies = [tree.body] + [n.body for n in tree.body if isinstance(n, ast.ClassDef)]
    found = []
    for body in bodies:
        for node in body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                listed = words(node.value)
                if listed:
                    found.append((node.lineno, listed))
    return found


def test_the_check_finds_the_old_label_column_list():
    assert column_name_lists('LABEL_COLUMNS = ("name", "title", "label")\n') == [(1, ["name", "title", "label"])]
    assert column_name_lists('X = frozenset({"name", "title"})\nY = ("INT", "REAL")\nZ = ("km", "usd")\n') == \
        [(1, ["name", "title"])]


NOT_COLUMN_NAMES = {
    ("memory.py", "remember"): "English verbs that ask to keep a fact",
    ("memory.py", "forget"): "English verbs that ask to drop a fact",
    ("python_repl.py", "seccomp"): "the sandbox's own mechanisms",
    ("search.py", "script"): "HTML elements whose text is not page text",
}
"""The lists of such words in agentmesh/tools that are no column names, each with why (by its
file and first word). A new list fails the test until a person adds it here with a reason, or
moves it to the data profile, the lexicon or agentmesh/english.py."""


def test_no_list_of_column_names_in_the_tools():
    tools = ROOT / "agentmesh" / "tools"
    found = {f"{path.name}:{line}": words for path in sorted(tools.glob("*.py"))
             for line, words in column_name_lists(path.read_text(encoding="utf-8"))
             if (path.name, words[0]) not in NOT_COLUMN_NAMES}
    assert found == {}, f"word lists that name columns in agentmesh/tools (find them from the data profile): {found}"
