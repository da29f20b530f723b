"""The web chat page, driven in real headless Chromium (Debian's package) by Playwright."""

from __future__ import annotations

import os
import shutil

import pytest
from langchain_core.messages import AIMessage

from agentmesh import Agent, Settings
from agentmesh.apps.server import BackgroundServer, create_app
from agentmesh.models.testing import FakeToolChatModel, HashingEmbeddings, tool_call

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("AGENTMESH_REQUIRE_BROWSER"):
        raise RuntimeError("AGENTMESH_REQUIRE_BROWSER is set but no chromium is installed (apt-get install chromium)")
    pytest.skip("no chromium on this machine: apt-get install chromium to run the browser tests", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

# the flags that work on these machines: without the networking ones Chromium keeps dialling out
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ANSWER = "Claude 2.1 reads 200000 tokens of context."


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


def serve(tmp_path, example_kg, responses, tools=("kg_search",)):
    settings = Settings.load(home=tmp_path / "home", kg=[example_kg], tools=list(tools), cache=False)
    model = FakeToolChatModel(responses=responses, stream_words=True, word_delay=0.15)
    return BackgroundServer(create_app(Agent(settings, model=model, embeddings=HashingEmbeddings())))


def test_a_question_streams_its_answer_shows_the_tool_call_and_a_citation(browser, tmp_path, example_kg):
    script = [tool_call("kg_search", query="Claude 2.1 context window"), AIMessage(ANSWER)]
    with serve(tmp_path, example_kg, script) as server:
        page = browser.new_page()
        page.goto(server.url + "/")
        page.get_by_label("question").fill("What is the context window of Claude 2.1?")
        page.keyboard.press("Enter")

        # the tool call is on the page while the answer is still being written
        expect(page.locator(".tool").first).to_contain_text("kg_search")
        page.wait_for_function(
            f"() => {{ const a = document.querySelector('.answer'); return a && a.textContent.length > 0 && a.textContent.length < {len(ANSWER)}; }}"
        )
        expect(page.locator(".answer").first).to_have_text(ANSWER)
        expect(page.locator(".citation").first).to_contain_text("https://example.org/llm/Claude-2.1")

        # the thread is kept: a reload shows it in the list and its turns in the log
        page.reload()
        expect(page.locator("#threads li").first).to_contain_text("What is the context window of Claude 2.1?")
        expect(page.locator(".answer").first).to_have_text(ANSWER)
        page.close()


def test_a_dangerous_call_asks_on_the_page_and_runs_after_approve(browser, tmp_path, example_kg):
    script = [tool_call("python", code="print(2 ** 10)"), AIMessage("It is 1024.")]
    with serve(tmp_path, example_kg, script, tools=("python",)) as server:
        page = browser.new_page()
        page.goto(server.url + "/")
        page.get_by_label("question").fill("What is 2 to the 10th?")
        page.get_by_role("button", name="Send").click()

        expect(page.locator(".approval")).to_contain_text("print(2 ** 10)")
        page.get_by_role("button", name="Approve").click()

        expect(page.locator(".answer").first).to_have_text("It is 1024.")
        expect(page.locator(".tool.ok")).to_contain_text("1024")
        page.close()


def test_with_a_token_the_page_asks_for_it_once_and_keeps_it(browser, tmp_path, example_kg):
    settings = Settings.load(home=tmp_path / "home", kg=[example_kg], tools=[], cache=False)
    model = FakeToolChatModel(responses=[AIMessage(ANSWER)], stream_words=True)
    app = create_app(Agent(settings, model=model, embeddings=HashingEmbeddings()), token="page-token")
    with BackgroundServer(app) as server:
        page = browser.new_page()
        asked = []

        def answer(dialog):
            asked.append(dialog.message)
            dialog.accept("page-token")

        page.on("dialog", answer)
        page.goto(server.url + "/")
        page.get_by_label("question").fill("What is the context window of Claude 2.1?")
        page.keyboard.press("Enter")
        expect(page.locator(".answer").first).to_have_text(ANSWER)
        page.reload()  # the token is kept: no second question
        expect(page.locator("#threads li").first).to_contain_text("Claude 2.1")
        page.close()
    assert asked == ["This server needs its access token:"]


def test_a_cached_answer_can_be_marked_wrong_on_the_page(browser, tmp_path, example_kg, minilm):
    settings = Settings.load(home=tmp_path / "home", kg=[example_kg], tools=["kg_search"])
    model = FakeToolChatModel(responses=[AIMessage(ANSWER), AIMessage("A fresh answer.")])
    agent = Agent(settings, model=model, embeddings=minilm)
    agent.run("What is the context window of Claude 2.1?")
    with BackgroundServer(create_app(agent)) as server:
        page = browser.new_page()
        page.goto(server.url + "/")
        page.get_by_label("question").fill("What context window does Claude 2.1 have?")
        page.keyboard.press("Enter")
        expect(page.locator(".answer").first).to_have_text(ANSWER)
        expect(page.locator(".meta").first).to_contain_text("cached")
        page.get_by_role("button", name="Wrong answer for my question").click()
        expect(page.locator(".turn").first).to_contain_text("removed from the cache")
        page.close()
    assert len(agent.cache) == 0
    assert agent.run("What context window does Claude 2.1 have?").answer == "A fresh answer."


def test_where_the_question_fits_two_columns_the_page_asks_which_and_answers_that_one(browser, tmp_path):
    import sqlite3

    path = tmp_path / "courses.sqlite"
    with sqlite3.connect(path) as conn:  # two scores: "the average score" fits both alike
        conn.execute("CREATE TABLE course (course_id INTEGER PRIMARY KEY, title TEXT, clarity_score REAL, "
                     "helpfulness_score REAL)")
        conn.executemany("INSERT INTO course VALUES (?, ?, ?, ?)",
                         [(i, f"Course {chr(65 + i)}", i % 5, (i * 3) % 5) for i in range(1, 12)])
    settings = Settings.load(home=tmp_path / "home", db=path, kg=[], tools=["sql_answer"], cache=False,
                             answer_style="pick")
    agent = Agent(settings, model=FakeToolChatModel(responses=[AIMessage("I could not find that.")]),
                  embeddings=HashingEmbeddings())
    with BackgroundServer(create_app(agent)) as server:
        page = browser.new_page()
        page.goto(server.url + "/")
        page.get_by_label("question").fill("What is the average score?")
        page.keyboard.press("Enter")
        expect(page.locator(".answer").first).to_contain_text("cannot tell which you mean")
        expect(page.locator(".choices")).to_contain_text("Which one do you mean, for the measure?")
        page.get_by_role("button", name="course.helpfulness_score").click()

        expect(page.locator(".user").nth(1)).to_have_text("What is the average score? (meaning: course.helpfulness_score)")
        expect(page.locator(".answer").nth(1)).to_contain_text("avg of helpfulness_score: 2.09")
        expect(page.locator(".choices button").first).to_be_disabled()
        page.close()
