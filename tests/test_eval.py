"""`agentmesh eval`: the example question set is true to the data, and answers are scored as a person would."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage
from rdflib import Graph, Literal, Namespace
from rdflib.namespace import RDFS
from typer.testing import CliRunner

from agentmesh import Agent, Settings
from agentmesh.apps.cli import app
from agentmesh.errors import ConfigError
from agentmesh.evaluation import EvalItem, evaluate, load_questions, score_answer
from agentmesh.models.testing import FakeOpenAIServer, FakeToolChatModel, HashingEmbeddings

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "llm-landscape"
EX = Namespace("https://example.org/llm/")


def test_the_example_question_set_is_rebuilt_from_the_data_and_agrees_with_the_graph():
    sys.path.insert(0, str(EXAMPLE))
    try:
        import build_eval
    finally:
        sys.path.pop(0)
    assert (EXAMPLE / "eval.jsonl").read_text(encoding="utf-8") == build_eval.render(build_eval.questions())
    items = load_questions(EXAMPLE / "eval.jsonl")
    assert len(items) >= 60 and {t for i in items for t in i.tags} >= {"lookup", "aggregate", "absent", "two-tool"}
    graph = Graph().parse(EXAMPLE / "landscape.ttl")
    node = {str(label): s for s, label in graph.subject_objects(RDFS.label)}
    checked = 0
    for item in (i for i in items if "lookup" in i.tags):
        for prefix, predicate in (("Who develops ", EX.developer), ("Which licence does ", EX.license)):
            if item.question.startswith(prefix):
                name = item.question[len(prefix):].removesuffix("?").removesuffix(" use")
                target = graph.value(node[name], predicate)
                assert str(graph.value(target, RDFS.label)) == item.values[0], item.question
                checked += 1
        if item.question.startswith("What is the context window of ") and not item.absent:
            name = item.question.removeprefix("What is the context window of ").removesuffix("?")
            assert int(graph.value(node[name], EX.contextWindow)) == int(item.values[0])
            checked += 1
    assert checked >= 70


@pytest.mark.parametrize("answer,item,right", [
    ("Alibaba Cloud develops it.", {"values": ["Alibaba Cloud"]}, True),
    ("It is GPT-4o.", {"values": ["GPT-4"]}, False),                       # a name as a whole phrase
    ("GPT-4 leads with 86.4 on MMLU.", {"values": ["GPT-4", "86.4"]}, True),
    ("About 128K tokens.", {"values": ["128000"]}, True),                   # 128K stands for 128,000 (or 131,072)
    ("128,000 tokens.", {"values": ["128000"]}, True),
    ("The total is $10.00.", {"expected": "2 x $2.50 + 0.5 x $10 = $10.00"}, True),
    ("I could not find that in the knowledge graph.", {"absent": True}, True),
    ("Arthur Mensch.", {"absent": True}, False),
    ("Mixtral 8x7B Instruct (MMLU 70.6)", {"regex": r"70\.6"}, True),
    ("- MIT — license of: Phi-2\n- MIT — license of: Phi-3 Medium", {"values": ["3"]}, False),  # "Phi-3" says no 3
    ("GPT-4 has 3 siblings.", {"values": ["3"]}, True),
    ("name | gsm8k: GPT-4 | 92.0", {"expected": "GPT-4 (92.0)"}, True),
    # a month in either spelling: "December 2023" is 2023-12
    ("- name | mmlu: Mixtral 8x7B Instruct | 70.6\n- Mixtral 8x7B Instruct — released: 2023-12",
     {"expected": "Mixtral 8x7B Instruct (MMLU 70.6), released December 2023"}, True),
    ("Mixtral 8x7B Instruct (MMLU 70.6), out in Dec 2023.", {"expected": "Mixtral 8x7B Instruct (MMLU 70.6), released December 2023"}, True),
    ("- name | mmlu: Mixtral 8x7B Instruct | 70.6\n- Mixtral 8x7B Instruct — released: 2023-11",
     {"expected": "Mixtral 8x7B Instruct (MMLU 70.6), released December 2023"}, False),
    ("Mixtral 8x7B Instruct (MMLU 70.6).", {"expected": "Mixtral 8x7B Instruct (MMLU 70.6), released December 2023"}, False),
])
def test_answers_are_scored_by_their_key_values(answer, item, right):
    assert score_answer(answer, item) is right


def test_each_answer_gets_one_outcome(tmp_path, example_kg):
    settings = Settings.load(home=tmp_path / "home", kg=[example_kg], tools=[], cache=False)
    answers = [AIMessage("Alibaba Cloud develops it."), AIMessage("Amazon develops it."), AIMessage("I could not find that.")]
    agent = Agent(settings, model=FakeToolChatModel(responses=answers), embeddings=HashingEmbeddings())
    items = [EvalItem("Who develops Qwen 72B Chat?", values=["Alibaba Cloud"]),
             EvalItem("Who develops Phi-2?", values=["Microsoft Research"]),
             EvalItem("Who is the CEO of Mistral AI?", absent=True)]
    report = evaluate(agent, items)
    assert [r.outcome for r in report.results] == ["correct", "flagged", "correct"]  # flag: the model is ours
    assert report.count("wrong") == 0 and report.correct_rate == pytest.approx(2 / 3)


def test_questions_run_in_parallel_and_results_keep_their_order(tmp_path, example_kg):
    import threading
    import time

    from langchain_core.messages import HumanMessage

    answers = {"Who develops Qwen 72B Chat?": "Alibaba Cloud develops it.", "Who develops Phi-2?": "Microsoft Research.",
               "Who develops Gemma?": "Google DeepMind."}
    state = {"active": 0, "most": 0}
    lock = threading.Lock()

    class ByQuestion(FakeToolChatModel):
        def _generate(self, messages, *args, **kwargs):
            question = next(m.text for m in reversed(messages) if isinstance(m, HumanMessage))
            with lock:
                state["active"] += 1
                state["most"] = max(state["most"], state["active"])
            time.sleep(0.3)  # long enough for the other workers to be inside a call too
            with lock:
                state["active"] -= 1
            self.responses = [AIMessage(answers[question])]
            return super()._generate(messages, *args, **kwargs)

    settings = Settings.load(home=tmp_path / "home", kg=[example_kg], tools=[], cache=False)
    agent = Agent(settings, model=ByQuestion(responses=[AIMessage("-")]), embeddings=HashingEmbeddings())
    items = [EvalItem(q, values=[a.split(" develops")[0].rstrip(".")], tags=["lookup"]) for q, a in answers.items()]
    report = evaluate(agent, items, parallel=3)
    assert [r.question for r in report.results] == list(answers) and report.correct_rate == 1.0
    assert state["most"] >= 2  # the questions overlapped
    assert ("correct, lookup", "3/3 (100%)") not in report.table()  # one kind only: no breakdown row


def test_agentmesh_eval_prints_the_table_writes_reports_and_fails_under(tmp_path, example_kg):
    questions = tmp_path / "q.jsonl"
    questions.write_text('{"question": "Who develops Qwen 72B Chat?", "values": ["Alibaba Cloud"]}\n'
                         '{"question": "Who develops Phi-2?", "values": ["Microsoft Research"]}\n')
    script = [{"content": "Alibaba Cloud develops it."}, {"content": "Mistral AI develops it."}]
    with FakeOpenAIServer(script) as server:
        result = CliRunner().invoke(app, ["eval", str(questions), "--model", "local:fake-model", "--base-url",
                                          server.base_url, "--kg", str(example_kg), "--report", str(tmp_path / "r.md"),
                                          "--json", str(tmp_path / "r.json"), "--fail-under", "0.9"],
                                    env={"AGENTMESH_TOOLS": "kg_search", "AGENTMESH_ANSWER_CHECK": "off"})
    assert result.exit_code == 1, result.output
    assert "1/2 (50%)" in result.output and "wrong, shown as fact" in result.output
    assert "50% correct, under --fail-under 90%" in result.output
    data = json.loads((tmp_path / "r.json").read_text())
    assert [r["outcome"] for r in data["results"]] == ["correct", "wrong"]
    assert "| wrong | Who develops Phi-2? | Mistral AI develops it. |" in (tmp_path / "r.md").read_text()


@pytest.mark.parametrize("text,message", [
    ('{"question": "a", "values": ["x"]}\n{"question": ', "line 2: not valid JSON"),
    ('[{"question": "a"}]', "item 1: say what a right answer holds"),
    ('[{"values": ["x"]}]', "item 1: each item needs a 'question'"),
    ('[{"question": "a", "regex": "("}]', "item 1: 'regex' does not compile"),
])
def test_a_bad_question_file_is_refused_with_the_place(tmp_path, text, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_questions(path)
    result = CliRunner().invoke(app, ["eval", str(path)])
    assert result.exit_code == 2 and message.split(":")[0] in result.output


def test_the_table_breaks_correct_answers_down_by_kind():
    from agentmesh.evaluation import EvalReport, EvalResult

    row = lambda outcome, tag: EvalResult("q", "a", outcome, "answered", 1.0, "m", 0, [], [tag])  # noqa: E731
    table = dict(EvalReport([row("correct", "lookup"), row("wrong", "lookup"), row("abstained", "aggregate")]).table())
    assert table["correct, lookup"] == "1/2 (50%)" and table["correct, aggregate"] == "0/1 (0%)"


def test_cost_per_model_comes_from_the_catalog_prices(tmp_path, example_kg):
    from agentmesh.models.catalog import Catalog, ModelSpec

    usage = {"input_tokens": 1_000_000, "output_tokens": 200_000, "total_tokens": 1_200_000}
    answers = [AIMessage("Alibaba Cloud develops it.", usage_metadata=usage, response_metadata={"model_name": "priced"}),
               AIMessage("Alibaba Cloud develops it.", usage_metadata=usage, response_metadata={"model_name": "unlisted"})]
    settings = Settings.load(home=tmp_path / "home", kg=[example_kg], tools=[], cache=False)
    agent = Agent(settings, model=FakeToolChatModel(responses=answers), embeddings=HashingEmbeddings())
    catalog = Catalog([ModelSpec(name="priced", provider="openai", model="priced-1", context_window=8192, input_per_1m=2.5,
                                 output_per_1m=10.0, latency_s=1, tokens_per_s=50, tier=2, local=False)])
    items = [EvalItem("Who develops Qwen 72B Chat?", values=["Alibaba Cloud"])] * 2
    report = evaluate(agent, items, catalog=catalog)
    assert [r.cost_usd for r in report.results] == [pytest.approx(2.5 + 2.0), None]
    rows = dict(report.table())
    assert rows["cost (priced)"] == "$4.5000" and rows["cost (unlisted)"] == "not in the model catalog"
    assert rows["tokens (priced)"] == "1,200,000"


def test_a_judge_model_scores_free_text_expectations_and_rules_score_the_rest(tmp_path, example_kg):
    from agentmesh.evaluation import model_judge

    settings = Settings.load(home=tmp_path / "home", kg=[example_kg], tools=[], cache=False)
    said = "It comes from the Qwen team at Alibaba."
    agent = Agent(settings, model=FakeToolChatModel(responses=[AIMessage(said)]), embeddings=HashingEmbeddings())
    free = EvalItem("Who develops Qwen 72B Chat?", expected="Alibaba Cloud")
    exact = EvalItem("Who develops Qwen 72B Chat?", values=["Alibaba Cloud"])
    assert evaluate(agent, [free]).results[0].outcome != "correct"  # the rules want "Alibaba Cloud" verbatim
    grader = FakeToolChatModel(responses=[AIMessage("Yes.")])
    report = evaluate(agent, [free, exact], judge=model_judge(grader))
    assert [r.outcome == "correct" for r in report.results] == [True, False]  # values stay the rules' to score
    assert len(grader.calls) == 1 and "Expected answer: Alibaba Cloud" in grader.calls[0][0].text
    assert said in grader.calls[0][0].text
    # a judge that says no, cannot tell, or fails
    assert evaluate(agent, [free], judge=model_judge(FakeToolChatModel(responses=[AIMessage("No")]))).results[0].outcome != "correct"

    class Broken(FakeToolChatModel):
        def _generate(self, *args, **kwargs):
            raise RuntimeError("judge down")

    for judge in (FakeToolChatModel(responses=[AIMessage("Perhaps")]), Broken(responses=[AIMessage("-")])):
        right = EvalItem("Who develops Qwen 72B Chat?", expected="Qwen")
        assert evaluate(agent, [right], judge=model_judge(judge)).results[0].outcome == "correct"  # the rules decide


def test_evidence_shown_instead_of_an_answer_is_an_abstention_though_it_holds_the_values():
    from types import SimpleNamespace

    from agentmesh.evaluation import outcome_of

    item = EvalItem("How many papers were published each year?", values=["2019", "2", "2020", "3"])
    shown = ("I could not find that in the knowledge graph or the database. The question says 'published', which I "
             "could not match to anything in the data.\nWhat I found without it (count of paper per paper.year):\n"
             "year | count of paper\n2019 | 2\n2020 | 3")
    assert outcome_of(item, SimpleNamespace(answer=shown, stop_reason="evidence_only", unsupported=[])) == "abstained"
    assert outcome_of(item, SimpleNamespace(answer=shown, stop_reason="not_found", unsupported=[])) == "abstained"
    answered = "year | count of paper\n2019 | 2\n2020 | 3"
    assert outcome_of(item, SimpleNamespace(answer=answered, stop_reason="answered", unsupported=[])) == "correct"
    absent = EvalItem("Who is the CEO of the railway?", absent=True)
    assert outcome_of(absent, SimpleNamespace(answer="I could not find that.", stop_reason="not_found",
                                            unsupported=[])) == "correct"
