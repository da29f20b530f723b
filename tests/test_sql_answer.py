"""sql_answer: the rows a question asks for, composed from one complete reading, or no tool at all.

A small library network of our own: branches (a region each), members (first and last name,
a home branch), books (a genre, pages, a year) and loans.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver

from agentmesh import Agent, Settings
from agentmesh.answering.reading import read
from agentmesh.memory.wordnet import default_wordnet
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings
from agentmesh.tools.sql import SQLDatabase
from agentmesh.tools.sql_answer import make_sql_answer_tool


@pytest.fixture()
def db(tmp_path):
    path = tmp_path / "library.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE branches (branch_id INTEGER PRIMARY KEY, branch_name TEXT, region TEXT, floor_area_m2 REAL);
        CREATE TABLE members (member_id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT,
                              home_branch_id INTEGER REFERENCES branches(branch_id), joined_on TEXT);
        CREATE TABLE books (book_id INTEGER PRIMARY KEY, title TEXT, genre TEXT, pages INTEGER, published_year INTEGER,
                            shelf_height_cm REAL, spine_width_cm REAL);
    """)
    regions = ["North", "South", "East"]
    branches = ["Ashford Library", "Brookvale Library", "Cedar Hill Library", "Dunmore Library", "Elmstead Library",
                "Fernbrook Library"]
    conn.executemany("INSERT INTO branches VALUES (?, ?, ?, ?)",
                     [(i + 1, n, regions[i % 3], 200.0 + 50 * i) for i, n in enumerate(branches)])
    firsts = ["Ada", "Bruno", "Clara", "Dmitri", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Lars",
              "Mona", "Nils", "Olga", "Piet", "Quinn", "Rosa", "Sven", "Tove", "Ulla", "Vik", "Wim", "Xena"]
    lasts = ["Abbot", "Brandt", "Crane", "Dorn", "Eckert", "Fisk", "Gale", "Hart", "Ivers", "Jung", "Kell", "Lund",
             "Moss", "Nagel", "Ortiz", "Pratt", "Quist", "Reyes", "Stark", "Toft", "Uhl", "Voss", "Wren", "Yates"]
    conn.executemany("INSERT INTO members VALUES (?, ?, ?, ?, ?)",
                     [(i + 1, f, l, i % 6 + 1, f"{2015 + i % 8}-03-0{i % 9 + 1}") for i, (f, l) in enumerate(zip(firsts, lasts))])
    genres = ["poetry", "history", "science", "fiction"]
    titles = ["Salt and Ember", "The Long Meadow", "River of Glass", "Quiet Engines", "A Map of Winters",
              "The Tin Orchard", "Northern Tides", "Paper Lanterns", "The Ninth Bell", "Stone Gardens",
              "Copper Skies", "The Hollow Road", "Lamps at Dusk", "Wild Thyme", "Iron Harbour", "The Last Ferry"]
    conn.executemany("INSERT INTO books VALUES (?, ?, ?, ?, ?, ?, ?)",
                     [(i + 1, t, genres[i % 4], 120 + 37 * i, 1990 + 2 * i, 20.0 + i % 3, 2.0 + i % 4)
                      for i, t in enumerate(titles)])
    conn.commit()
    conn.close()
    return SQLDatabase(path)


def sqlite_file(tmp_path, schema: str, **rows: list[tuple]) -> SQLDatabase:
    """``tmp_path``/data.sqlite made of ``schema`` and each table's ``rows``, opened."""
    path = tmp_path / "data.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript(schema)
        for table, values in rows.items():
            conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(values[0]))})", values)
    return SQLDatabase(path)


SHOPS = """
    CREATE TABLE business (bid INTEGER, business_id TEXT, name TEXT);
    CREATE TABLE neighbourhood (id INTEGER, business_id TEXT, neighbourhood_name TEXT);
"""
"""Seven businesses, each in one neighbourhood (a table that points to business, no unique name)."""


def shop_rows() -> dict[str, list[tuple]]:
    names = ["Joe's Pizza", "Corner Cafe", "Slice House", "Bean Bar", "Dough Co", "Mill Diner", "Rye Bakery"]
    areas = ["Old Town", "Harbour", "Old Town", "Harbour", "Hillside", "Hillside", "Old Town"]
    return {"business": [(i, f"b{i}", n) for i, n in enumerate(names)],
            "neighbourhood": [(i, f"b{i}", a) for i, a in enumerate(areas)]}


def courses_file(tmp_path):
    """Eleven courses, each with two scores: a clarity and a helpfulness score."""
    path = tmp_path / "courses.sqlite"
    with sqlite3.connect(path) as conn:
        conn.executescript("CREATE TABLE course (course_id INTEGER PRIMARY KEY, title TEXT, clarity_score REAL, "
                           "helpfulness_score REAL);")
        conn.executemany("INSERT INTO course VALUES (?, ?, ?, ?)",
                         [(i, f"Course {chr(65 + i)}{chr(70 + i)}", i % 5, (i * 3) % 5) for i in range(1, 12)])
    return path


def answer(db, question):
    """The narrowed tool's rows for ``question``, or None when the tool is not offered."""
    tool = make_sql_answer_tool(db).metadata["narrow"](question)
    if tool is None:
        return None
    return tool.invoke({"reading": tool.metadata["reading"].summary()})


def test_grouped_count_is_one_row_per_group(db):
    text = answer(db, "How many branches are there in each region?")
    assert text is not None
    assert text.splitlines()[1:] == ["East | 2", "North | 2", "South | 2"]


def test_rows_whose_key_is_empty_are_a_group_of_their_own(db, tmp_path):
    """Grouping by the row a key points to keeps the rows that point nowhere, as SQL's GROUP BY
    on the key does: a count per branch that drops them would not add up to the whole."""
    with sqlite3.connect(tmp_path / "library.sqlite") as conn:
        conn.execute("INSERT INTO members VALUES (99, 'Zoe', 'Zell', NULL, '2020-01-01')")
    text = answer(SQLDatabase(tmp_path / "library.sqlite"), "How many members are there in each branch?")
    assert text is not None and "Ashford Library | 4" in text
    assert "| 1" in text.split("Ashford")[0]  # the member of no branch, before the named groups


def test_count_with_an_equality_filter_on_a_value_in_the_data(db):
    text = answer(db, "How many books are poetry?")
    assert text is not None and text.splitlines()[-1] == "4"


def test_numeric_comparison_lists_the_rows_that_meet_it(db):
    text = answer(db, "Which books have more than 600 pages?")
    assert text is not None
    listed = set(text.splitlines()[1:])
    assert listed == {"Iron Harbour", "The Last Ferry", "Wild Thyme"}


def test_lookup_through_a_foreign_key_gives_the_label_of_the_row_it_points_to(db):
    text = answer(db, "What is Clara Crane's home branch?")
    assert text is not None and "Cedar Hill Library" in text


def test_a_group_the_data_cannot_hold_is_refused(db):
    # "each author": no column or table says author, so the word stays unread; one total would answer another question
    reading = read("How many books are there for each author?", db.profile, None, db.label_index, db.columns)
    assert "author" in reading.unread
    assert answer(db, "How many books are there for each author?") is None
    assert answer(db, "How many books are there for each genre?") is not None


def test_an_unread_word_is_refused(db):
    # 'borrowed' restricts the rows in a way nothing in the data says: the count of all poetry books is not the answer
    assert answer(db, "How many poetry books were borrowed?") is None
    assert answer(db, "How many poetry books are there?") is not None  # the same question without it is answered


def test_two_columns_that_fit_a_bound_equally_are_refused(db):
    # "more than 3 cm" fits shelf_height_cm and spine_width_cm alike
    assert answer(db, "Which books are more than 3 cm?") is None
    assert answer(db, "Which books are wider than 3 cm?") is not None  # "wider" says which one


def test_the_guard_refuses_another_questions_call(db):
    tool = make_sql_answer_tool(db).metadata["narrow"]("How many branches are there in each region?")
    guard = tool.metadata["guard"]
    summary = tool.metadata["reading"].summary()
    assert guard("How many branches are there in each region?", {"reading": summary}) == ""
    assert guard("How many branches are there?", {"reading": summary})


def _agent(path, responses=()):
    model = FakeToolChatModel(responses=list(responses))
    agent = Agent(Settings.load(db=path, kg=[], tools=["sql_answer"], answer_style="pick"),
                  model=model, embeddings=HashingEmbeddings(), checkpointer=InMemorySaver())
    return agent, model


def test_the_agent_runs_the_call_through_its_own_tool_and_shows_the_rows(db, tmp_path):
    """The agent runs a call through the tool it was given, not the narrowed copy the model saw:
    that tool composes the reading it offered for the question (it refused every call before)."""
    agent, model = _agent(tmp_path / "library.sqlite", [AIMessage("There are many.")])
    result = agent.run("How many members are there in each branch?")
    assert model.calls == []  # the reading fixed the one argument: called without the model
    assert result.stop_reason == "answered" and "Ashford Library | 4" in result.answer
    assert result.reading["complete"] and result.reading["summary"].startswith("count of members")
    assert any(c.kind == "sql" and "GROUP BY" in c.detail for c in result.citations)


def test_a_word_it_could_not_apply_is_said_and_the_rest_shown_as_evidence_only(db, tmp_path):
    agent, _ = _agent(tmp_path / "library.sqlite", [AIMessage("I could not find that.")])
    result = agent.run("How many members were recruited in each branch?")
    assert result.reading["unread"] == ["recruited"] and not result.reading["complete"]
    assert result.stop_reason == "evidence_only"
    assert "'recruited'" in result.answer and "does not answer the question as asked" in result.answer
    assert "Ashford Library | 4" in result.answer  # the rows, shown as evidence beside what it could not apply
    assert not [c for c in result.claims if c.status == "supported" and c.kind == "answer"]
    # what to do if the word restricts nothing here, and doing it answers
    assert "add it to known_words in your lexicon file" in result.answer
    lexicon = tmp_path / "lexicon.toml"
    lexicon.write_text('known_words = ["recruited"]\n')
    agent = Agent(Settings.load(db=tmp_path / "library.sqlite", kg=[], tools=["sql_answer"], answer_style="pick",
                                lexicon=str(lexicon)), model=FakeToolChatModel(responses=[AIMessage("x")]),
                  embeddings=HashingEmbeddings(), checkpointer=InMemorySaver())
    again = agent.run("How many members were recruited in each branch?")
    assert again.stop_reason == "answered" and "Ashford Library | 4" in again.answer, again.answer


def test_the_reading_is_in_the_trace(db, tmp_path):
    from agentmesh.runs.provenance import load_trace

    agent, _ = _agent(tmp_path / "library.sqlite", [AIMessage("I could not find that.")])
    result = agent.run("How many members were recruited in each branch?")
    trace = load_trace(agent.traces_dir, result.run_id).serialize(format="nt")
    assert "unreadWord" in trace and '"recruited"' in trace


def test_words_of_a_used_columns_own_comment_are_read_and_its_empty_cases_are_not():
    """railway's stations.elevation_m is described 'metres above sea level': 'sea level' says the
    column the bound uses. A comment's 'NULL when cancelled' is a case, not the column's meaning:
    'cancelled' stays a condition (a value of journeys.status), never a description."""
    from pathlib import Path

    railway = SQLDatabase(Path(__file__).resolve().parents[1] / "examples" / "railway" / "railway.sqlite")
    reading = make_sql_answer_tool(railway).metadata["read"]("Which stations are more than 400 metres above sea level?")
    assert reading.complete and reading.summary() == "stations rows where stations.elevation_m > 400"
    flooded = make_sql_answer_tool(railway).metadata["read"]("Which stations are more than 400 metres above flooded sea level?")
    assert flooded.unread == ["flooded"]
    busy = make_sql_answer_tool(railway).metadata["read"]("Which stations have more than 5,000 passengers a day?")
    assert busy.complete and busy.summary() == "stations rows where stations.daily_footfall > 5000"
    delays = make_sql_answer_tool(railway).metadata["read"]("What is the average delay in minutes of cancelled journeys?")
    assert delays.complete and "journeys.status = cancelled" in delays.summary()


def test_the_superlative_of_a_dimension_before_a_table_lists_its_top_rows_ties_kept(db):
    """"Which is the tallest book?": the books of the highest shelf height (five tie), never one
    of them; a superlative whose dimension no measure holds ("fastest") is no reading."""
    text = answer(db, "Which is the tallest book?")
    assert text is not None
    for title in ("River of Glass", "The Tin Orchard", "The Ninth Bell", "The Hollow Road", "Iron Harbour"):
        assert title in text
    assert "Salt and Ember" not in text
    assert answer(db, "Which is the fastest book?") is None
    assert "Salt and Ember" in (answer(db, "Which is the lowest book?") or "")  # the lowest: ascending


def test_a_named_row_reached_through_a_link_table_is_a_condition_on_the_link():
    """railway's line_stops ties stations and lines: "the stations on the Valley Line" are those
    some line_stops row ties to it. Where two tables tie them (journeys also reach stations through
    drivers), the one whose name the question says is taken ("stop"); none said: no reading."""
    from pathlib import Path

    railway = SQLDatabase(Path(__file__).resolve().parents[1] / "examples" / "railway" / "railway.sqlite")
    tool = make_sql_answer_tool(railway)

    def rows(question):
        narrowed = tool.metadata["narrow"](question)
        return None if narrowed is None else narrowed.invoke({"reading": narrowed.metadata["reading"].summary()})

    stations = rows("List the stations on the Valley Line.")
    assert stations is not None and all(s in stations for s in ("Castelmoor Central", "Esterby", "Kelmsford"))
    assert "Glenarrow" not in stations
    lines = rows("Which lines stop at Castelmoor Central?")
    assert lines is not None and "Valley Line" in lines and "Heather Line" not in lines
    assert tool.metadata["read"]("Which lines stop at Castelmoor Central?").conditions[0].via == "line_stops"
    assert rows("Which lines are at Castelmoor Central?") is None
    assert "tied to lines by" in " ".join(tool.metadata["read"]("Which lines are at Castelmoor Central?").problems)


@pytest.mark.parametrize("question, expected", [
    ("How long is the Valley Line?", "Valley Line | 47.9"),
    ("How many kilometres long is the Valley Line?", "Valley Line | 47.9"),
    ("How many kilometres has unit 52301 run?", "52301 | 1171200"),  # a quantity in a unit, not a count
    ("What is the altitude of Eagle Pass station?", "Eagle Pass | 489"),  # a noun of a height: elevation_m
    ("What are the top 2 stations with the highest elevation? Give the station names and the elevation.", "Eagle Pass | 489"),
])
def test_how_long_and_how_many_units_ask_a_value_and_a_second_sentence_repeats_the_first(question, expected):
    from pathlib import Path

    railway = SQLDatabase(Path(__file__).resolve().parents[1] / "examples" / "railway" / "railway.sqlite")
    narrowed = make_sql_answer_tool(railway).metadata["narrow"](question)
    assert narrowed is not None, make_sql_answer_tool(railway).metadata["read"](question)
    assert expected in narrowed.invoke({"reading": narrowed.metadata["reading"].summary()})


def test_a_ratio_is_two_counts_each_read_whole(db):
    """16 books, pages 120 + 37 i: 11 have more than 300 pages. A ratio per group divides each
    group's count by the whole; a word either count leaves unread refuses the ratio."""
    text = answer(db, "What is the ratio of books with more than 300 pages to all books?")
    assert text is not None and "0.6875" in text
    per_genre = answer(db, "What is the ratio of the number of books in each genre to the total number of books?")
    assert per_genre is not None and "fiction | 0.25" in per_genre
    assert answer(db, "What is the ratio of signed books with more than 300 pages to all books?") is None
    # what a count left unread is what the ratio could not apply (said, and no model's rows shown as fact)
    assert "signed" in make_sql_answer_tool(db).metadata["read"](
        "What is the ratio of signed books with more than 300 pages to all books?").unapplied()[0]
    assert answer(db, "What is the ratio of books with pages > 300 to all books?") == text  # the sign reads as the words


@pytest.mark.parametrize("question, shown, not_shown", [
    ("Which book has the highest spine width?", ["Quiet Engines", "The Hollow Road", "The Last Ferry"], ["Salt and Ember"]),
    ("What are the 2 tallest books?", ["River of Glass"], ["Salt and Ember"]),  # ties kept: five at 22 cm
    ("Which branches have an area above 400?", ["Fernbrook Library"], ["Ashford Library"]),  # floor_area_m2 by its head noun
    ("Which is the largest branch?", ["Fernbrook Library"], ["Elmstead Library"]),  # a size: its floor area
])
def test_rankings_and_columns_said_by_their_head_noun(db, question, shown, not_shown):
    text = answer(db, question)
    assert text is not None, make_sql_answer_tool(db).metadata["read"](question)
    assert all(s in text for s in shown) and not any(s in text for s in not_shown), text


def test_word_forms_are_one_word_and_a_head_shared_by_two_columns_is_no_reading(tmp_path):
    from agentmesh.answering.matching import same_word as _same

    assert _same("rated", "rating") and _same("written", "writes") and not _same("rated", "rotated")
    path = courses_file(tmp_path)
    courses = SQLDatabase(path)
    assert answer(courses, "Which course has the highest clarity score?") is not None
    assert answer(courses, "Which courses have a score above 3?") is None  # clarity or helpfulness: neither
    assert "the question names" in " ".join(
        make_sql_answer_tool(courses).metadata["read"]("Which courses have a score above 3?").problems) or \
        "fits" in " ".join(make_sql_answer_tool(courses).metadata["read"]("Which courses have a score above 3?").problems)


def test_rows_of_a_query_the_model_wrote_are_no_answer_to_a_question_read_in_part(db):
    """Constrained (picked answers): a 135M model's own SQL holds its own rows ("SELECT 1 AS
    num_projects"), so a picked row of it is no answer to a question whose reading left words
    unread: shown as evidence, saying why. A row of sql_answer, or an unpicked answer, stands."""
    from agentmesh.graphs.middleware import Answer, AnswerRequest, UnappliedWordsStep
    from agentmesh.records import Claim, Evidence

    step = UnappliedWordsStep(make_sql_answer_tool(db), answering=frozenset({"sql_answer"}))
    question = "How many members were recruited by each branch?"

    def shown(source, picked=True):
        row = Evidence(id="r1", kind="row", text="recruited: 24", source=source)
        answer = Answer("recruited: 24", "answered", claims=[Claim(text="24", kind="number", status="supported",
                                                                   evidence=row)])
        request = AnswerRequest("recruited: 24", "answered", [row], {"question": question}, picked=picked)
        return step.wrap_answer(request, lambda _request: answer)

    demoted = shown("sql: SELECT count(*) AS recruited FROM members")
    assert demoted.stop_reason == "evidence_only" and "'recruited'" in demoted.text and "recruited: 24" in demoted.text
    assert shown("sql_answer: count of members").stop_reason == "answered"
    assert shown("sql: SELECT count(*) AS recruited FROM members", picked=False).stop_reason == "answered"


def test_two_columns_that_fit_alike_are_each_shown_as_evidence_not_chosen(tmp_path):
    path = courses_file(tmp_path)
    agent, _ = _agent(path, [AIMessage("I could not find that.")])
    result = agent.run("What is the average score?")
    assert result.stop_reason == "evidence_only" and "cannot tell which you mean" in result.answer
    assert "avg of clarity_score" in result.answer and "avg of helpfulness_score" in result.answer
    assert "1.909090909" in result.answer and "2.090909091" in result.answer
    assert not [c for c in result.claims if c.kind == "answer" and c.status == "supported"]
    # the choices travel with the result, for a person to answer "which one?"
    assert result.reading["choices"] == [{"place": "the measure", "chosen": None,
                                          "options": ["course.clarity_score", "course.helpfulness_score"]}]
    from agentmesh.events import Done

    asks = Done(result).to_dict()["choices"][0]["asks"]  # what the REPL and the web page ask next
    assert asks == ["What is the average score? (meaning: course.clarity_score)",
                    "What is the average score? (meaning: course.helpfulness_score)"]
    again = agent.run(asks[1])
    assert again.stop_reason == "answered" and "2.090909091" in again.answer and "clarity" not in again.answer
    assert again.reading["choices"][0]["chosen"] == "course.helpfulness_score"
    assert Done(again).to_dict()["choices"] == []


def test_the_persons_answer_to_which_one_reads_the_question_whole(tmp_path):
    from agentmesh.answering.reading import clarified

    db = SQLDatabase(courses_file(tmp_path))
    meant = clarified("What is the average score?", "course.helpfulness_score")
    assert meant == "What is the average score? (meaning: course.helpfulness_score)"
    text = answer(db, meant)
    assert text is not None and "avg of helpfulness_score" in text and "2.090909091" in text, text
    read = make_sql_answer_tool(db).metadata["read"]
    # a meaning that fits no place where columns fit alike is not applied, and so no answer
    assert not read("What is the average score? (meaning: course.title)").complete
    assert not read("How many courses are there? (meaning: course.clarity_score)").complete
    assert read("How many courses are there?").complete


def test_a_complete_reading_is_asked_of_the_data_though_graph_lines_share_its_words(db, tmp_path):
    """The graph holds a line that shares the question's words ("near branch: Ashford Library" of
    another thing); the question read whole against the database is answered from it, every
    group shown, and no graph line is added to the rows."""
    from agentmesh.graphs.agent import build_agent_graph
    from agentmesh.claims import ClaimChecker
    from langchain_core.messages import HumanMessage

    node = {"uri": "http://example.org/garden", "label": "Ashford Library Garden", "description": "A garden.", "score": 0.9,
            "facts": ["near branch: Ashford Library"]}
    model = FakeToolChatModel(responses=[AIMessage("", tool_calls=[
        {"name": "answer_from_evidence", "args": {"evidence": []}, "id": "p"}])])
    graph = build_agent_graph(model, [make_sql_answer_tool(SQLDatabase(tmp_path / "library.sqlite"))],
                              retrieve=lambda q: [dict(node)], check_answer=ClaimChecker(), answer_policy="strict",
                              answer_style="pick", checkpointer=InMemorySaver())
    state = graph.invoke({"messages": [HumanMessage("Which region is ashford library branch in?")]},
                         {"configurable": {"thread_id": "t"}})
    assert state["stop_reason"] == "answered" and "North" in state["answer"] and "Garden" not in state["answer"]
    state = graph.invoke({"messages": [HumanMessage("How many members are there in each branch?")]},
                         {"configurable": {"thread_id": "u"}})
    assert all(b in state["answer"] for b in ("Ashford", "Brookvale", "Cedar Hill", "Dunmore", "Elmstead", "Fernbrook"))


def test_the_group_with_the_most_rows_keeps_ties_and_rows_with_no_group_are_none(db, tmp_path):
    with sqlite3.connect(tmp_path / "library.sqlite") as conn:  # two more members of Brookvale, six of no branch
        conn.executemany("INSERT INTO members VALUES (?, ?, ?, ?, ?)",
                         [(100 + i, "Zed", f"Zeta{i}", 2 if i < 2 else None, "2020-01-01") for i in range(8)])
    library = SQLDatabase(tmp_path / "library.sqlite")
    for question in ("Which branch has the most members?", "Which branch has the largest number of members?"):
        text = answer(library, question)
        assert text is not None and "Brookvale Library | 6" in text, text
        assert "Ashford" not in text and "NULL" not in text, text
    with sqlite3.connect(tmp_path / "library.sqlite") as conn:  # a tie: both shown
        conn.executemany("INSERT INTO members VALUES (?, ?, ?, ?, ?)", [(200 + i, "Yan", f"Y{i}", 3, "2020") for i in range(2)])
    text = answer(SQLDatabase(tmp_path / "library.sqlite"), "Which branch has the most members?")
    assert "Brookvale Library | 6" in text and "Cedar Hill Library | 6" in text, text
    # the fewest: a branch with no members is no row of members, so the count cannot find it
    assert answer(library, "Which branch has the fewest members?") is None


def test_the_group_with_the_most_rows_may_be_a_column_of_the_rows_counted(db, tmp_path):
    # branches.region: North holds branches 1 and 4, South 2 and 5, East 3 and 6; one more in North
    with sqlite3.connect(db.path) as conn:
        conn.execute("INSERT INTO branches VALUES (7, 'Greyford Library', 'North', 400.0)")
    db = SQLDatabase(db.path)  # its profile holds the new row
    text = answer(db, "Which region has the most branches?")
    assert text is not None and text.split("\n")[1:] == ["North | 3"], text
    # the rows' own name is no group: one branch per name
    assert answer(db, "Which branch has the most branches?") is None


def test_a_bound_on_a_count_of_rows_keeps_the_groups_that_meet_it(db, tmp_path):
    with sqlite3.connect(db.path) as conn:  # each branch has 4 members; Brookvale gets 2 more, 3 have no branch
        conn.executemany("INSERT INTO members VALUES (?, ?, ?, ?, ?)",
                         [(100 + i, "Zed", f"Zeta{i}", 2 if i < 2 else None, "2020-01-01") for i in range(5)])
    library = SQLDatabase(db.path)
    for question in ("Which branches have more than 4 members?", "Which branches have at least 5 members?"):
        text = answer(library, question)
        assert text is not None and text.split("\n")[1:] == ["Brookvale Library | 6"], (question, text)
        assert "having count" in make_sql_answer_tool(library).metadata["read"](question).summary()
    # every branch has at least 4: all six, and no row for the members of no branch
    text = answer(library, "Which branches have at least 4 members?")
    assert len(text.split("\n")) == 7 and "None" not in text and "NULL" not in text, text
    # a column of the rows counted is a group too
    assert answer(library, "Which regions have more than 1 branch?").split("\n")[1:] == ["East | 2", "North | 2", "South | 2"]
    # fewer than n: a branch with no members is no row of members, so it is refused, not left out
    assert answer(library, "Which branches have fewer than 5 members?") is None
    # how many groups meet it
    assert answer(library, "How many branches have more than 4 members?") == "count of branches with count of members > 4\n1"
    assert answer(library, "How many branches have at least 4 members?").endswith("\n6")


def test_rows_tied_to_no_row_of_a_table_named_after_a_negation(db, tmp_path):
    with sqlite3.connect(db.path) as conn:  # two members of no branch; Fernbrook loses its four members
        conn.executemany("INSERT INTO members VALUES (?, ?, ?, ?, ?)",
                         [(100, "Zed", "Zeta", None, "2020"), (101, "Yan", "Yu", 42, "2021")])
        conn.execute("UPDATE members SET home_branch_id = 1 WHERE home_branch_id = 6")
    library = SQLDatabase(db.path)
    # the rows' own key: empty, or pointing to no row
    for question in ("Which members have no branch?", "Which members don't have any branch?",
                     "Which members are without a branch?"):
        text = answer(library, question)
        assert text is not None and sorted(text.split("\n")[1:]) == ["Yan Yu", "Zed Zeta"], (question, text)
    assert answer(library, "How many members have no branch?").endswith("\n2")
    # rows that point back
    assert answer(library, "Which branches have no members?").split("\n")[1:] == ["Fernbrook Library"]
    assert answer(library, "Which branches do not have any members?").split("\n")[1:] == ["Fernbrook Library"]
    # a link table's rows
    shelves = sqlite_file(tmp_path, """
        CREATE TABLE book (book_id INTEGER PRIMARY KEY, title TEXT UNIQUE);
        CREATE TABLE author (author_id INTEGER PRIMARY KEY, author_name TEXT UNIQUE);
        CREATE TABLE wrote (author_id INTEGER REFERENCES author(author_id), book_id INTEGER REFERENCES book(book_id));
    """, book=[(1, "Salt Roads"), (2, "Tin Skies"), (3, "Ember Lane")], author=[(1, "Ola Berg"), (2, "Ivo Dahl")],
                         wrote=[(1, 1), (1, 2)])
    assert answer(shelves, "Which authors have no books?").split("\n")[1:] == ["Ivo Dahl"]
    assert answer(shelves, "Which books have no authors?").split("\n")[1:] == ["Ember Lane"]
    # "not" with no "any" after it restricts nothing read: refused, never dropped
    assert answer(library, "Which branches are not in the North region?") is None
    assert answer(library, "Which members have not joined a branch?") is None


def test_how_many_of_a_columns_values_counts_each_value_once(db, tmp_path):
    with sqlite3.connect(db.path) as conn:  # a book of no genre is no genre
        conn.execute("INSERT INTO books VALUES (99, 'Blank Pages', NULL, 100, 2000, 20.0, 2.0)")
    library = SQLDatabase(db.path)
    for question in ("How many genres are there?", "How many different genres are there?",
                     "What is the number of distinct genres?"):
        text = answer(library, question)
        assert text is not None and text.endswith("\n4") and "distinct genre" in text, (question, text)
    assert answer(library, "How many regions have branches?").endswith("\n3")
    # "different" before the rows counted: each row is one already
    assert answer(library, "How many different branches are there?") == "count of branches\n6"
    assert answer(library, "How many different genres are there in the North region?") is None  # books have no region
    # a table's word after "how many" counts its rows, per group when one is said
    assert answer(library, "How many branches are there in each region?").split("\n")[1:] == ["East | 2", "North | 2", "South | 2"]
    flights = sqlite_file(tmp_path, "CREATE TABLE flight (flight_id INTEGER PRIMARY KEY, flight_number TEXT, day TEXT);",
                          flight=[(1, "HA12", "Mon"), (2, "HA12", "Tue"), (3, "VX9", "Mon")])
    assert answer(flights, "How many flights are there?").endswith("\n3")  # the rows, not their numbers


def test_a_list_of_a_columns_values_shows_each_value_once(db):
    for question in ("What are the different genres?", "List all genres.", "Which genres are there?"):
        assert answer(db, question) == "genre\nfiction\nhistory\npoetry\nscience", question
    assert answer(db, "What are the regions of the branches?") == "region\nEast\nNorth\nSouth"
    # a bound on the rows of each value, or on their average: the words cannot say which
    assert answer(db, "Which genres have more than 300 pages?") is None
    # the rows' own names are a list of the rows, which needs a condition
    assert answer(db, "What are the titles?") is None
    # a column's words before the table's say which rows ("Which poetry books ..."), not its values
    assert make_sql_answer_tool(db).metadata["read"]("Which genre books are longest?").aggregate != "values"


def test_each_names_the_group_before_by_which_may_name_who_did_it(db):
    reading = read("What is the average number of pages written by members in each genre?", db.profile, None,
                   db.label_index, db.columns)
    assert reading.group is not None and (reading.group.table, reading.group.column) == ("books", "genre"), reading
    assert "written" in reading.unread and not reading.complete  # the verb still stops the fact


def test_the_group_with_the_highest_average_or_total(db):
    # floor areas 200 + 50i: North (1, 4) 200 + 350, South (2, 5) 250 + 400, East (3, 6) 300 + 450
    assert answer(db, "Which region has the largest total floor area?").split("\n")[1:] == ["East | 750.0"]
    assert answer(db, "Which region has the lowest average floor area?").split("\n")[1:] == ["North | 275.0"]
    # per branch, one row each: the average of one value is no ranking of groups
    assert answer(db, "Which branch has the highest average floor area?") is None


def test_values_of_one_column_joined_by_or_are_one_condition(db):
    assert answer(db, "How many books are poetry or history?").endswith("\n8")  # four of each genre
    assert answer(db, "How many books are either poetry, history or science?").endswith("\n12")
    assert "in poetry or history" in make_sql_answer_tool(db).metadata["read"]("How many books are poetry or history?").summary()
    # one row holds one genre: "and" finds none, and is refused rather than read as "or"
    assert answer(db, "How many books are poetry and history?") is None
    assert answer(db, "How many books are poetry, history and science?") is None


def test_the_group_with_the_most_rows_through_a_link_table(tmp_path):
    shelves = sqlite_file(tmp_path, """
        CREATE TABLE book (book_id INTEGER PRIMARY KEY, title TEXT UNIQUE);
        CREATE TABLE author (author_id INTEGER PRIMARY KEY, author_name TEXT UNIQUE);
        CREATE TABLE wrote (author_id INTEGER REFERENCES author(author_id), book_id INTEGER REFERENCES book(book_id));
    """, book=[(1, "Salt Roads"), (2, "Tin Skies"), (3, "Ember Lane"), (4, "Glass Wells")],
        author=[(1, "Ola Berg"), (2, "Ivo Dahl"), (3, "Mina Roth")],
        wrote=[(1, 1), (1, 2), (1, 3), (2, 3), (2, 4), (2, 4)])  # Ivo's second row for Glass Wells is one book
    for question in ("Which author wrote the most books?", "Which author has the most books?"):
        assert answer(shelves, question).split("\n")[1:] == ["Ola Berg | 3"], question
    assert answer(shelves, "Which authors have written more than 1 book?").split("\n")[1:] == ["Ivo Dahl | 2", "Ola Berg | 3"]
    # an author with no rows of the link is in no group counted
    assert answer(shelves, "Which author wrote the fewest books?") is None


def test_a_share_of_rows_is_a_ratio_of_two_counts(db):
    assert answer(db, "What percentage of books are poetry?").endswith("\n25.0")  # 4 of 16
    assert answer(db, "What fraction of the books are poetry or history?").endswith("\n0.5")
    assert answer(db, "What percentage of books have more than 600 pages?").endswith("\n18.75")  # 3 of 16
    # of all the rows: a share with no condition, or of one table's rows over another's, is none
    assert answer(db, "What percentage of books are there?") is None
    assert answer(db, "What percentage of books are in the North region?") is None


def test_a_lookup_asks_the_named_rows_own_column_before_one_of_a_row_it_points_to(tmp_path):
    people = sqlite_file(tmp_path, """
        CREATE TABLE org (org_id INTEGER PRIMARY KEY, org_name TEXT UNIQUE, homepage TEXT);
        CREATE TABLE person (person_id INTEGER PRIMARY KEY, full_name TEXT UNIQUE, homepage TEXT,
                             org_id INTEGER REFERENCES org(org_id));
    """, org=[(1, "Harbour Institute", "harbour.example")],
        person=[(1, "Ada Brandt", "ada.example", 1), (2, "Ivo Dahl", "ivo.example", 1)])
    assert answer(people, "What is the homepage of Ada Brandt?") == "full_name | homepage\nAda Brandt | ada.example"


def test_a_table_keyed_by_its_key_to_another_holds_that_rows_own_values(tmp_path):
    kilns = sqlite_file(tmp_path, """
        CREATE TABLE kiln (kiln_id INTEGER PRIMARY KEY, kiln_name TEXT UNIQUE);
        CREATE TABLE firing (kiln_id INTEGER PRIMARY KEY REFERENCES kiln(kiln_id), peak_temperature REAL);
        CREATE TABLE inspection (inspection_id INTEGER PRIMARY KEY, kiln_id INTEGER REFERENCES kiln(kiln_id),
                                 crack_count INTEGER);
    """, kiln=[(1, "Old Bottle"), (2, "Round Dome"), (3, "Long Tunnel")], firing=[(1, 1180.0), (2, 1260.0), (3, 1225.0)],
        inspection=[(1, 1, 2), (2, 1, 5), (3, 2, 0)])
    # one firing row per kiln (its primary key is its key to kiln): the kiln's own value
    assert answer(kilns, "What is the peak temperature of Round Dome?") == "kiln_name | firing peak_temperature\nRound Dome | 1260.0"
    assert answer(kilns, "Which kiln has the highest peak temperature?").split("\n")[1:] == ["Round Dome | 1260.0"]
    # many inspections per kiln: no one value of the kiln's
    assert answer(kilns, "What is the crack count of Old Bottle?") is None


def test_a_scaled_number_bounds_a_column_counted_in_its_scale(tmp_path):
    engines = sqlite_file(tmp_path, """
        CREATE TABLE engine (engine_id INTEGER PRIMARY KEY, engine_name TEXT UNIQUE, weights_b REAL,
                             active_weights_b REAL, buffer_size INTEGER);
    """, engine=[(1, "Kestrel", 7.0, 7.0, 32768), (2, "Heron", 70.0, 12.0, 8192), (3, "Osprey", 180.0, 40.0, 131072)])
    # "70b" on weights_b is 70; the column said by every word (weights_b) over one said by its head
    assert answer(engines, "Which engines have more than 50b weights?").split("\n")[1:] == ["Heron", "Osprey"]
    assert answer(engines, "Which engines have fewer than 10b weights?").split("\n")[1:] == ["Kestrel"]
    # "32k" is 32,000 or 32,768: at least the one, more than the other
    assert answer(engines, "Which engines have a buffer size of at least 32k?").split("\n")[1:] == ["Kestrel", "Osprey"]
    assert answer(engines, "Which engines have a buffer size of more than 32k?").split("\n")[1:] == ["Osprey"]


def test_a_number_the_words_before_it_compare_is_a_bound_not_a_name(tmp_path):
    air = sqlite_file(tmp_path, """
        CREATE TABLE airline (airline_code TEXT PRIMARY KEY, airline_name TEXT UNIQUE);
        CREATE TABLE flight (flight_id INTEGER PRIMARY KEY, flight_label TEXT UNIQUE,
                             airline_code TEXT REFERENCES airline(airline_code));
    """, airline=[("AA", "Alder Air"), ("BB", "Birch Lines")],
        flight=[(1, "2", "AA"), (2, "5", "AA"), (3, "9", "AA"), (4, "12", "BB")])
    assert answer(air, "Which airlines have more than 2 flights?").split("\n")[1:] == ["Alder Air | 3"]


def test_a_measure_said_by_name_ranks_before_one_the_superlative_names(tmp_path):
    regions = sqlite_file(tmp_path, "CREATE TABLE region (region_name TEXT UNIQUE, population INTEGER, area REAL);",
                          region=[("Ardmore", 900, 10.0), ("Brill", 300, 80.0), ("Corran", 500, 40.0)])
    assert answer(regions, "Which region has the largest population?").split("\n")[1:] == ["Ardmore | 900"]
    # the superlative last, the table named before it: its dimension's column
    assert answer(regions, "Which region is the largest?").split("\n")[1:] == ["Brill | 80.0"]


def test_the_gap_between_two_named_rows_is_both_values_and_how_far_apart(db):
    # floor areas 200 + 50i: Ashford 200, Dunmore 350
    for question in ("What is the floor area difference between Ashford Library and Dunmore Library?",
                     "What is the gap in floor area between Dunmore Library and Ashford Library?"):
        header, row = answer(db, question).split("\n")
        assert header.endswith("| difference") and row.endswith("| 150.0"), (question, header, row)
    assert answer(db, "What is the floor area difference between Dunmore Library and Ashford Library?").split("\n")[1] \
        == "350.0 | 200.0 | 150.0"  # in the order named
    # no measure said, or one that is no number: no difference
    assert answer(db, "What is the difference between Ashford Library and Dunmore Library?") is None
    assert answer(db, "What is the region difference between Ashford Library and Dunmore Library?") is None


def test_best_and_worst_rank_by_the_better_values_the_lexicon_names(tmp_path):
    from agentmesh.answering.lexicon import Lexicon, load_lexicon
    from agentmesh.errors import ConfigError

    runners = sqlite_file(tmp_path, "CREATE TABLE runner (runner_name TEXT UNIQUE, race_time REAL, points INTEGER);",
                          runner=[("Ada", 41.5, 12), ("Bo", 39.0, 30), ("Cy", 44.2, 7)])

    def best(question, lexicon=None):
        tool = make_sql_answer_tool(runners, lexicon=lexicon).metadata["narrow"](question)
        return None if tool is None else tool.invoke({"reading": tool.metadata["reading"].summary()}).split("\n")[1:]

    said = Lexicon(better={"race_time": "lower", "points": "higher"})
    assert best("Which runner has the best race time?", said) == ["Bo | 39.0"]
    assert best("Which runner has the worst race time?", said) == ["Cy | 44.2"]
    assert best("Which runner has the best points?", said) == ["Bo | 30"]
    # English cannot say whether a lower time or a higher one is best: no lexicon, no answer
    assert best("Which runner has the best race time?") is None
    (tmp_path / "lex.toml").write_text('[better]\nrace_time = "faster"\n')
    with pytest.raises(ConfigError, match="better"):
        load_lexicon(tmp_path / "lex.toml")


def test_a_count_word_after_a_measures_own_words_names_the_measure(tmp_path):
    papers = sqlite_file(tmp_path, "CREATE TABLE paper (paper_id INTEGER PRIMARY KEY, title TEXT, citation_num INTEGER, year INTEGER);",
                         paper=[(1, "Tidal Models", 4, 2019), (2, "Soil Carbon", 1, 2020), (3, "Glacier Flow", 7, 2021)])
    assert "Soil Carbon | 1" in answer(papers, "What is the citation count of Soil Carbon?")
    assert answer(papers, "How many papers have a citation count above 3?").endswith("\n2")
    # a preposition before the question word
    assert "Glacier Flow | 2021" in answer(papers, "In which year is the paper Glacier Flow?")


def test_a_value_that_is_an_article_is_said_only_as_written(tmp_path):
    grades = sqlite_file(tmp_path, "CREATE TABLE student (student_id INTEGER PRIMARY KEY, name TEXT, gpa REAL, grade TEXT);",
                         # grades A, B, C, D, A, ...; GPAs 2.0 to 4.75
                         student=[(i, f"Student {chr(65 + i)}", 2.0 + i * 0.25, "ABCD"[i % 4]) for i in range(12)])
    assert answer(grades, "How many students have a GPA higher than 3.4?").endswith("\n6")  # "a" is no grade
    assert answer(grades, "How many students have an A?").endswith("\n3")  # "A" is


def test_a_table_name_written_as_two_words_and_rows_that_hold_their_own_count(tmp_path):
    days = ["Monday", "Tuesday", "Monday", "Friday", "Monday", "Tuesday", "Friday", "Friday"]
    visits = sqlite_file(tmp_path, "CREATE TABLE checkin (cid INTEGER PRIMARY KEY, day TEXT, count INTEGER);"
                                   "CREATE TABLE signup (sid INTEGER PRIMARY KEY, day TEXT, plan TEXT);",
                         checkin=[(i, d, 10 + i) for i, d in enumerate(days)],
                         signup=[(i, d, "basic") for i, d in enumerate(days)])
    read = make_sql_answer_tool(visits).metadata["read"]
    assert answer(visits, "How many sign-ups were there on Monday?").endswith("\n3")  # "sign-ups": signup
    assert answer(visits, "How many sign ups were there on Friday overall?").endswith("\n3")
    # each check-in row counts several check-ins: the number of rows or their total, not told apart
    reading = read("How many check-ins were there on Monday?")
    assert not reading.complete and "checkin.count" in " ".join(reading.problems)


@pytest.mark.parametrize("question, count", [
    ("How many books are there in the year 1992?", 1),
    ("How many books are there from 1994?", 1),
    ("How many books are there from 1990 to 1995?", 3),  # 1990, 1992, 1994: a range, not the year 1990
    ("How many books were there between 1990 and 1995?", 3),
])
def test_a_year_said_without_its_column_is_the_column_named_a_year(db, question, count):
    text = answer(db, question)
    assert text is not None and "published_year" in text and text.endswith(f"\n{count}"), text


def test_a_list_shows_a_code_column_said_by_every_word_of_its_name(tmp_path):
    fleet = sqlite_file(tmp_path, "CREATE TABLE aircraft (aircraft_code TEXT, aircraft_description TEXT, cruising_speed INTEGER);",
                        aircraft=[("B737", "Boeing 737", 485), ("A320", "Airbus A320", 470), ("D228", "Dornier 228", 190)])
    text = answer(fleet, "Which aircraft codes have a cruising speed over 200? Sort the aircraft codes in ascending order.")
    assert text is not None and text.index("A320") < text.index("B737") and "D228" not in text, text
    assert answer(fleet, "Which aircraft have a cruising speed over 200?") is not None  # no code asked: none shown


def test_rows_of_the_questions_own_reading_are_the_answer_though_they_share_no_word_with_it(tmp_path):
    """'Which lines are longer than 60 km?' lists line names: no word of the question is in them,
    yet they answer it by how they were made (every word read, one reading)."""
    from pathlib import Path

    railway = Path(__file__).resolve().parents[1] / "examples" / "railway" / "railway.sqlite"
    agent, model = _agent(railway, [AIMessage("There are some.")])
    result = agent.run("Which lines are longer than 60 km?")
    assert result.stop_reason == "answered", result.answer
    assert all(name in result.answer for name in ("Coastal Line", "Highland Line", "Northern Loop"))
    assert "Valley Line" not in result.answer and model.calls == []


def test_a_light_verb_restricts_nothing_its_object_does_not_but_beside_a_date_it_may(db):
    assert answer(db, "How many members use Ashford Library?").endswith("\n4")
    # "used in 2019": which event 2019 dates (joining? a visit?) the verb may say: not read
    read = make_sql_answer_tool(db).metadata["read"]("How many members used Ashford Library in 2019?")
    assert "used" in read.unread and not read.complete


@pytest.mark.parametrize("question", ["What is the highest spine width?", "What is the genre of Salt and Ember?"])
def test_a_question_read_whole_is_answered_by_its_reading_not_also_by_another_tools_parse(db, tmp_path, question):
    model = FakeToolChatModel(responses=[AIMessage("x")])
    agent = Agent(Settings.load(db=tmp_path / "library.sqlite", kg=[], tools=["sql_answer", "sql_rank", "sql_lookup"],
                                answer_style="pick"), model=model, embeddings=HashingEmbeddings(), checkpointer=InMemorySaver())
    result = agent.run(question)
    assert [t.name for t in result.tool_calls] == ["sql_answer"] and result.stop_reason == "answered", result.answer


def test_a_superlative_of_a_measure_word_and_a_name_written_as_one_word(tmp_path):
    dining = sqlite_file(tmp_path, """
        CREATE TABLE city (city_id INTEGER PRIMARY KEY, city_name TEXT);
        CREATE TABLE restaurant (restaurant_id INTEGER PRIMARY KEY, name TEXT, rating REAL, table_span INTEGER,
                                 city_id INTEGER REFERENCES city(city_id));
    """, city=[(1, "Porto"), (2, "Lyon")],
        restaurant=[(1, "Casa Azul", 3.1, 12, 2), (2, "Le Four", 4.6, 30, 2), (3, "Tasca Velha", 3.9, 8, 1),
                    (4, "Mar Alto", 4.2, 20, 1)])
    lowest = answer(dining, "What is the lowest-rated restaurant in Porto?")  # the bound's rows: Porto's, joined
    assert lowest is not None and "Tasca Velha" in lowest and "Casa Azul" not in lowest, lowest
    assert "Le Four" in answer(dining, "Which is the highest rated restaurant?")
    widest = answer(dining, "Which restaurant has the largest tablespan?")  # table_span, its words as one
    assert widest is not None and "Le Four | 30" in widest, widest


def test_a_row_is_also_named_by_a_unique_code_of_its_own_not_by_a_reference_to_anothers(tmp_path):
    fleet = sqlite_file(tmp_path, """
        CREATE TABLE aircraft (aircraft_code TEXT, aircraft_description TEXT, cruising_speed INTEGER);
        CREATE TABLE equipment (sequence_name TEXT, type_code TEXT);  -- no key said, none by name
    """, aircraft=[("B737", "The Boeing 737, a narrow-body jet", 485), ("A380", "The Airbus A380, a wide-body jet", 560),
                   ("D228", "The Dornier 228, a turboprop", 190)],
        equipment=[("first set", "B737"), ("second set", "A380")])
    assert fleet.profile.tables["aircraft"].names == ["aircraft_code"]
    assert fleet.profile.tables["equipment"].names == []  # its codes name aircraft rows: a reference
    text = answer(fleet, "What is the cruising speed of the A380?")
    assert text is not None and text.endswith("| 560"), text


def test_a_code_that_is_also_a_function_word_is_said_only_as_written(tmp_path):
    states = sqlite_file(tmp_path, "CREATE TABLE state (state_code TEXT, state_name TEXT, population INTEGER);",
                         state=[("IN", "Indiana", 6800000), ("OR", "Oregon", 4200000), ("TX", "Texas", 30000000)])
    assert "states" not in " ".join(make_sql_answer_tool(states).metadata["read"](
        "What is the population in Texas?").problems)
    assert answer(states, "What is the population in Texas?").endswith("| 30000000")  # "in" is no state
    assert answer(states, "What is the population of IN?").endswith("| 6800000")  # "IN" is


def test_a_value_of_rows_that_point_to_the_subject_is_a_condition_through_them(tmp_path):
    kinds = ["Pizza", "Cafe", "Pizza", "Cafe", "Bakery", "Diner", "Bakery"]
    shops = sqlite_file(tmp_path, SHOPS + "CREATE TABLE category (id INTEGER, business_id TEXT, category_name TEXT);",
                        **shop_rows(), category=[(i, f"b{i}", k) for i, k in enumerate(kinds)])  # one row per business
    # the key's name names business, not category: the direction a one-to-one sample cannot show
    assert [fk.table for fk in shops.profile.tables["category"].foreign_keys] == ["business"]
    assert answer(shops, "How many businesses are in the Pizza category?").endswith("\n2")
    listed = answer(shops, "Show me the businesses in the Cafe category.")
    assert "Corner Cafe" in listed and "Bean Bar" in listed and "Slice House" not in listed, listed
    # a table with no unique name of its own lists the column named after it
    assert answer(shops, "Which neighbourhood is Rye Bakery in?").endswith("\nOld Town")


def test_the_link_table_a_verb_names_ties_a_named_row_to_the_rows_counted(tmp_path):
    scholar = sqlite_file(tmp_path, """
        CREATE TABLE paper (paperid INTEGER PRIMARY KEY, title TEXT);
        CREATE TABLE author (authorid INTEGER PRIMARY KEY, authorname TEXT);
        CREATE TABLE writes (paperid INTEGER REFERENCES paper(paperid), authorid INTEGER REFERENCES author(authorid));
        CREATE TABLE paperdataset (paperid INTEGER REFERENCES paper(paperid), datasetid INTEGER);
    """, paper=[(i, f"Study number {i}") for i in range(1, 6)], author=[(1, "Ines Kalb"), (2, "Tomas Vey")],
        writes=[(1, 1), (2, 1), (3, 1), (3, 2), (4, 2)], paperdataset=[(1, 7), (2, 7)])
    assert answer(scholar, "How many papers has Ines Kalb written?").endswith("\n3")
    assert answer(scholar, "How many papers are there?").endswith("\n5")
    # the list too; "papers" names paper, not the compound paperdataset
    listed = answer(scholar, "Which papers has Tomas Vey written?")
    assert listed is not None and "Study number 3" in listed and "Study number 4" in listed, listed
    assert "Study number 1" not in listed


def test_a_question_asking_a_value_per_group_is_not_answered_by_one_total_of_another_tools_parse(tmp_path):
    """The issue's 'How many rivers flow through each country?' -> 'count of river: 10': when the
    turn's reading finds a group and cannot read the rest, sql_rank (which never groups) is
    neither offered nor called; its one count would answer another question."""
    sqlite_file(tmp_path, SHOPS, **shop_rows())
    agent = Agent(Settings.load(db=tmp_path / "data.sqlite", kg=[], tools=["sql_answer", "sql_rank", "sql_lookup"], answer_style="pick"),
                  model=FakeToolChatModel(responses=[AIMessage("x")] * 3), embeddings=HashingEmbeddings(),
                  checkpointer=InMemorySaver())
    result = agent.run("Which neighbourhoods have the most businesses, and how many businesses are found in each neighbourhood?")
    assert result.reading["group"] is not None and not result.reading["complete"]
    assert "sql_rank" not in [t.name for t in result.tool_calls] and result.stop_reason != "answered", result.answer
    assert "count of neighbourhood" not in result.answer


def test_per_and_a_number_is_a_rate_not_a_group():
    from pathlib import Path

    from agentmesh.answering.lexicon import load_lexicon

    example = Path(__file__).resolve().parents[1] / "examples" / "llm-landscape"
    tool = make_sql_answer_tool(SQLDatabase(example / "landscape.sqlite"), lexicon=load_lexicon(example / "lexicon.toml"))
    reading = tool.metadata["read"]("Which model with a context window of at least 100K tokens is cheapest per 1M output tokens?")
    assert reading.group is None, reading.summary()


def test_a_lookup_of_the_very_value_that_named_the_row_is_no_answer(tmp_path):
    fleet = sqlite_file(tmp_path, "CREATE TABLE aircraft (aircraft_code TEXT, aircraft_description TEXT, cruising_speed INTEGER);",
                        aircraft=[("B737", "The Boeing 737, a narrow-body jet", 485), ("A380", "The Airbus A380, a jet", 560),
                                  ("D228", "The Dornier 228, a turboprop", 190)])
    read = make_sql_answer_tool(fleet).metadata["read"]("What is the aircraft code of the A380?")
    assert not read.complete and "names 'A380'" in " ".join(read.problems)
    assert answer(fleet, "What is the cruising speed of the A380?").endswith("| 560")


def test_a_placing_verb_places_at_what_is_asked_or_grouped_but_beside_a_value_stays_unread(tmp_path):
    db = sqlite_file(tmp_path, """
        CREATE TABLE units (unit_id INTEGER PRIMARY KEY, fleet_number TEXT UNIQUE, depot_name TEXT);
        CREATE TABLE actors (actor_id INTEGER PRIMARY KEY, actor_name TEXT UNIQUE, birth_city TEXT);""",
        units=[(i, f"3110{i}", ["Castelmoor Depot", "Glenarrow Depot"][i % 2]) for i in range(1, 8)],
        actors=[(i, f"Actor {chr(64 + i)}", ["Paris", "Lyon"][i % 2]) for i in range(1, 7)])
    assert answer(db, "At which depot is unit 31105 kept?").endswith("Glenarrow Depot")
    grouped = answer(db, "How many units are kept at each depot?")
    assert "Castelmoor Depot | 3" in grouped and "Glenarrow Depot | 4" in grouped
    # Paris is a value of birth_city: "lived in" may be another place than "born in"; the verb is not read
    read = make_sql_answer_tool(db).metadata["read"]("How many actors lived in Paris?")
    assert "lived" in read.unread and not read.complete
    # "Get ..." asks for a list as "List ..." does
    assert answer(db, "Get the units at Glenarrow Depot").split("\n") == ["fleet_number", "31101", "31103", "31105", "31107"]


def _drivers(tmp_path):
    return sqlite_file(tmp_path, """
        CREATE TABLE drivers (driver_id INTEGER PRIMARY KEY, driver_name TEXT UNIQUE);
        CREATE TABLE journeys (journey_id INTEGER PRIMARY KEY, driver_id INTEGER REFERENCES drivers(driver_id));""",
        drivers=[(1, "Tilde Fairbairn"), (2, "Owen Marsh"), (3, "Rhea Calloway")],
        journeys=[(i, [1, 1, 2, 1, 3, 2, 1][i % 7]) for i in range(1, 15)])


@pytest.mark.skipif(default_wordnet() is None, reason="WordNet's files are not installed (apt-get install wordnet-base)")
def test_a_verb_whose_noun_names_a_table_the_reading_uses_is_read_and_another_verb_is_not(tmp_path):
    db = _drivers(tmp_path)
    assert answer(db, "Which driver drove the most journeys?").endswith("Tilde Fairbairn | 8")
    read = make_sql_answer_tool(db).metadata["read"]
    # "inspect" makes an inspector, an inspection: nothing this reading uses
    assert "inspected" in read("Which driver inspected the most journeys?").unread
    assert default_wordnet().derived_nouns("teach") >= {"teacher", "instructor"}  # a person's other name
    assert "review" not in default_wordnet().derived_nouns("inspect")  # an act's synset is wider than its word


def test_without_wordnet_no_verb_is_read_by_its_noun(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTMESH_WORDNET", "none")
    default_wordnet.cache_clear()
    try:
        read = make_sql_answer_tool(_drivers(tmp_path)).metadata["read"]("Which driver drove the most journeys?")
        assert read.unread == ["drove"] and not read.complete
    finally:
        default_wordnet.cache_clear()


def test_a_lookup_through_a_key_the_schema_does_not_declare_names_the_row_as_the_question_did(tmp_path):
    db = sqlite_file(tmp_path, """
        CREATE TABLE airline (airline_code TEXT, airline_name TEXT);
        CREATE TABLE flight (flight_id INTEGER, route TEXT, airline_flight TEXT, airline_code TEXT, flight_number TEXT);
        CREATE TABLE journal (journalid INTEGER, journalname TEXT);
        CREATE TABLE paper (paperid INTEGER, title TEXT, journalid INTEGER);""",
        airline=[("AA", "American Airlines"), ("HA", "Hawaiian Airlines"), ("UA", "United Airlines")],
        flight=[(i, f"Route {chr(80 + i)}", f"{c}{100 + i}", c, f"F{i % 3}")
                for i, c in enumerate(["AA", "HA", "UA", "AA", "HA", "UA"])],
        journal=[(1, "Nature"), (2, "Science"), (3, "Cell")],
        paper=[(i, f"Paper on topic {chr(65 + i)}", i % 3 + 1) for i in range(6)])
    # airline_code is a key to airline (found from the data): "the airline" is its row's name, and
    # the flight is shown by the name the question called it, not by another column
    assert answer(db, "What is the airline of flight HA104?").split("\n") == ["airline_flight | airline_code",
                                                                              "HA104 | Hawaiian Airlines"]
    # journalid and journal's own name are one value asked, not two columns that fit alike
    assert answer(db, "What is the journal of 'Paper on topic B'?").endswith("Paper on topic B | Science")


ATIS = Path(__file__).resolve().parents[2] / "shared" / "data" / "sql" / "atis.sqlite"


@pytest.mark.skipif(not ATIS.is_file(), reason=f"defog's atis not found at {ATIS} (it lives in ../shared beside the checkout)")
def test_the_word_that_names_a_rows_table_names_no_column_of_it():
    # "flight HA567": "flight" says which table HA567 is a row of; flight_number is not asked
    assert answer(SQLDatabase(ATIS), "What is the airline of flight HA567?").endswith("HA567 | Hawaiian Airlines")


def test_each_x_id_groups_by_the_key_the_rows_point_by_not_by_the_name(tmp_path):
    rows = shop_rows()
    db = sqlite_file(tmp_path, SHOPS + "CREATE TABLE tip (tip_id INTEGER, business_id TEXT, likes INTEGER);",
                     **rows, tip=[(i, f"b{i % 3}", i) for i in range(7)])
    assert answer(db, "How many tips are there for each business?").split("\n")[0] == "name | count of tip"
    by_id = answer(db, "How many tips are there for each business id?").split("\n")
    assert by_id == ["business_id | count of tip", "b0 | 3", "b1 | 2", "b2 | 2"]


def test_a_group_reached_through_rows_that_point_back_counts_each_row_once(tmp_path):
    # location.restaurant_id points to restaurant.id (the schema declares nothing: the name and the data say it)
    db = sqlite_file(tmp_path, """
        CREATE TABLE restaurant (id INTEGER, name TEXT, rating REAL);
        CREATE TABLE location (restaurant_id INTEGER, house_number INTEGER, street_name TEXT);""",
        restaurant=[(1, "The Pasta House", 4.5), (2, "The Burger Joint", 3.9), (3, "The Sushi Bar", 4.2),
                    (4, "The Taco Stand", 4.0)],
        # The Sushi Bar has two doors on Pine Ave: it is one restaurant there, not two
        location=[(1, 12, "Pine Ave"), (2, 40, "Oak St"), (3, 7, "Pine Ave"), (3, 9, "Pine Ave"), (4, 3, "Elm St")])
    fks = db.profile.tables["location"].foreign_keys
    assert [(fk.columns, fk.table, fk.their_columns) for fk in fks] == [(["restaurant_id"], "restaurant", ["id"])]
    assert answer(db, "Which street has the most restaurants?").split("\n") == ["street_name | count of restaurant",
                                                                                "Pine Ave | 2"]
    assert "Oak St | 1" in answer(db, "How many restaurants are there on each street?")
    # an average over rows joined back would count The Sushi Bar's rating twice: not read
    read = make_sql_answer_tool(db).metadata["read"]("What is the average rating of restaurants on each street?")
    assert not read.complete and "restaurant rows do not point to location" in read.problems


def test_a_column_of_the_row_a_key_points_to_is_asked_through_the_key_and_named_with_its_table(tmp_path):
    db = sqlite_file(tmp_path, """
        CREATE TABLE state (state_name TEXT, capital TEXT, population INTEGER);
        CREATE TABLE lake (lake_name TEXT, area REAL, state_name TEXT);""",
        state=[("Ohio", "Columbus", 90000), ("Michigan", "Lansing", 80000), ("Utah", "Salt Lake City", 30000)],
        lake=[("Lake Erie", 200.0, "Ohio"), ("Lake Huron", 300.0, "Michigan"), ("Bear Lake", 50.0, "Utah")])
    # "state" says whose capital: the key lake.state_name is the way there, not a second column asked
    assert answer(db, "What is the capital of the state where Lake Erie is located?").split("\n") == [
        "lake_name | state capital", "Lake Erie | Columbus"]
    assert answer(db, "What is the population of the state where Lake Huron is?").endswith("Lake Huron | 80000")
    assert answer(db, "What is the state of Bear Lake?").endswith("Bear Lake | Utah")


def test_a_group_is_one_phrase_whose_head_is_said(tmp_path):
    db = sqlite_file(tmp_path, """
        CREATE TABLE team (team_id INTEGER PRIMARY KEY, team_name TEXT);
        CREATE TABLE player (player_id INTEGER PRIMARY KEY, team_player TEXT, team_id INTEGER REFERENCES team(team_id),
                             player_venue TEXT);""",
        team=[(1, "Harbour Hawks"), (2, "Valley Foxes")],
        player=[(i, f"T{i}", 1 if i < 4 else 2, ["North Park", "South Park"][i % 2]) for i in range(1, 8)])
    # team_player (a code: a kind of player) is not "each team": "players" said elsewhere is the rows counted
    assert answer(db, "How many players does each team have?").split("\n") == [
        "team_name | count of player", "Harbour Hawks | 3", "Valley Foxes | 4"]
    # player_venue is the player's venue: its own table's word before the head goes without saying
    assert "North Park | 3" in answer(db, "How many players are there for each venue?")


def test_a_row_named_by_the_row_its_key_points_to_is_that_rows_and_its_columns_are_reached_from_it(tmp_path):
    # country_stats has one row per country it describes (not Chile's), named by its key to country:
    # "Norway" is one country, not two rows
    db = sqlite_file(tmp_path, """
        CREATE TABLE country (country_name TEXT, capital TEXT);
        CREATE TABLE country_stats (country_name TEXT, highest_peak TEXT, lowest_elevation INTEGER);
        CREATE TABLE city (city_name TEXT, country_name TEXT, population INTEGER);""",
        country=[("Norway", "Oslo"), ("Chile", "Santiago"), ("Nepal", "Kathmandu")],
        country_stats=[("Norway", "Galdhopiggen", 0), ("Nepal", "Everest", 59)],
        city=[("Bergen", "Norway", 285000), ("Tromso", "Norway", 77000), ("Valparaiso", "Chile", 296000)])
    assert answer(db, "What is the capital of Norway?").endswith("Norway | Oslo")
    assert answer(db, "What is the highest peak of Nepal?").endswith("Nepal | Everest")
    assert answer(db, "How many cities are in Norway?").endswith("\n2")
