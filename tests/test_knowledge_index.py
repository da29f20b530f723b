"""The store on disk and the node index: reuse, staleness, incremental updates, atomic writes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import RDFS

import agentmesh.knowledge.index as index_module
import agentmesh.knowledge.store as store_module
from agentmesh.errors import KnowledgeGraphError, KnowledgeGraphSyntaxError
from agentmesh.knowledge import KnowledgeBase, KnowledgeStore
from agentmesh.models.testing import HashingEmbeddings

EX = "http://example.org/"


class CountingEmbeddings(HashingEmbeddings):
    """Counts the texts it embeds, to prove what was re-embedded."""

    def __init__(self, model_id: str = "hashing-bow") -> None:
        super().__init__()
        self.model_id = model_id
        self.embedded = 0

    def embed(self, texts):
        self.embedded += len(texts)
        return super().embed(texts)


def test_store_is_persisted_and_reopened_without_parsing(small_kg, tmp_path, monkeypatch):
    first = KnowledgeStore.open([small_kg], cache_dir=tmp_path / "kg")
    assert first.path is not None and len(first) == 9
    del first

    def no_parsing(*args):
        raise AssertionError("parsed again")

    monkeypatch.setattr(store_module, "_load_file", no_parsing)
    again = KnowledgeStore.open([small_kg], cache_dir=tmp_path / "kg")
    assert len(again) == 9


def test_two_readers_share_a_cached_store(small_kg, tmp_path):
    KnowledgeStore.open([small_kg], cache_dir=tmp_path / "kg")
    a = KnowledgeStore.open([small_kg], cache_dir=tmp_path / "kg")
    b = KnowledgeStore.open([small_kg], cache_dir=tmp_path / "kg")
    assert len(a) == len(b) == 9


def test_a_failed_load_leaves_no_store_behind(small_kg, tmp_path):
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ex: <http://e.org/> .\nex:a ex:b ex:c .\nex:d ex:e\n")
    with pytest.raises(KnowledgeGraphSyntaxError, match=r"bad.ttl' line 4: .*expected"):
        KnowledgeStore.open([small_kg, bad], cache_dir=tmp_path / "kg")
    assert list((tmp_path / "kg").iterdir()) == []


def test_index_is_reused_when_nothing_changed(small_kg, tmp_path):
    KnowledgeBase.open([small_kg], CountingEmbeddings(), cache_dir=tmp_path / "kg")
    emb = CountingEmbeddings()
    kb = KnowledgeBase.open([small_kg], emb, cache_dir=tmp_path / "kg")
    assert emb.embedded == 0
    assert kb.index.manifest.count == 3 and kb.index.manifest.kind == "flat"


def test_editing_the_file_re_embeds_only_the_changed_node(small_kg, tmp_path):
    KnowledgeBase.open([small_kg], CountingEmbeddings(), cache_dir=tmp_path / "kg")
    small_kg.write_text(small_kg.read_text().replace("The payments team.", "The team that runs payments and refunds."))

    emb = CountingEmbeddings()
    kb = KnowledgeBase.open([small_kg], emb, cache_dir=tmp_path / "kg")

    assert emb.embedded == 1
    assert kb.index.manifest.embedded == 1
    assert kb.retrieve("who handles refunds?", k=1)[0].uri == EX + "teamA"


def test_update_re_embeds_only_the_touched_nodes(small_kg, tmp_path):
    emb = CountingEmbeddings()
    kb = KnowledgeBase.open([small_kg], emb, cache_dir=tmp_path / "kg", writable=True)
    before = emb.embedded
    version = kb.version

    count = kb.update(
        add=[(URIRef(EX + "ledger"), RDFS.label, Literal("General ledger")),
             (URIRef(EX + "crm"), RDFS.comment, Literal("Sales pipeline and customer contacts."))],
        remove=[(URIRef(EX + "crm"), RDFS.comment, Literal("Customer relationship records: contacts and deals.", lang="en"))],
    )

    assert count == 2 and emb.embedded - before == 2  # the new node and the changed one, nothing else
    assert kb.version != version
    assert len(kb.index.nodes) == 4
    assert kb.retrieve("General ledger", k=1)[0].uri == EX + "ledger"
    saved = json.loads((kb.index_folder / "manifest.json").read_text())
    assert saved["graph_hash"] == kb.version and saved["embedded"] == 2


def test_a_read_only_store_refuses_updates(small_kg, tmp_path):
    kb = KnowledgeBase.open([small_kg], HashingEmbeddings(), cache_dir=tmp_path / "kg")
    with pytest.raises(KnowledgeGraphError, match="read-only"):
        kb.update(add=[(URIRef(EX + "x"), RDFS.label, Literal("X"))])


def test_stale_and_foreign_indexes_are_detected(small_kg, tmp_path):
    kb = KnowledgeBase.open([small_kg], HashingEmbeddings(), cache_dir=tmp_path / "kg")
    folder = kb.index_folder
    saved = index_module.NodeIndex.load(folder)

    assert saved.stale_reason(embedding_model="hashing-bow", dimension=256, graph_hash=kb.version, config_key=kb.config.key()) is None
    assert saved.stale_reason(embedding_model="hashing-bow", dimension=256, graph_hash="0" * 16, config_key=kb.config.key()).startswith("stale")
    assert saved.stale_reason(embedding_model="other-model", dimension=256, graph_hash=kb.version, config_key=kb.config.key()).startswith("foreign")

    # the same folder, made foreign: refused with a clear message when asked to refuse
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["embedding_model"] = "other-model"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(KnowledgeGraphError, match="foreign: built with other-model"):
        KnowledgeBase.open([small_kg], HashingEmbeddings(), cache_dir=tmp_path / "kg", on_stale="refuse")
    # and by default rebuilt, embedding everything again (vectors of another model are useless)
    emb = CountingEmbeddings()
    KnowledgeBase.open([small_kg], emb, cache_dir=tmp_path / "kg")
    assert emb.embedded == 3


def test_hnsw_above_the_threshold_and_overridable(small_kg):
    auto = KnowledgeBase.open([small_kg], HashingEmbeddings(), hnsw_threshold=2)
    forced = KnowledgeBase.open([small_kg], HashingEmbeddings(), hnsw_threshold=2, kind="flat")
    assert auto.index.manifest.kind == "hnsw" and "HNSW" in type(auto.index.index).__name__
    assert forced.index.manifest.kind == "flat"
    assert auto.retrieve("CRM", k=1)[0].uri == forced.retrieve("CRM", k=1)[0].uri == EX + "crm"


def test_an_interrupted_index_save_keeps_the_previous_index(small_kg, tmp_path, monkeypatch):
    kb = KnowledgeBase.open([small_kg], HashingEmbeddings(), cache_dir=tmp_path / "kg", writable=True)
    before = (kb.index_folder / "manifest.json").read_text()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-write

    monkeypatch.setattr(np, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        kb.update(add=[(URIRef(EX + "x"), RDFS.label, Literal("X"))])

    assert (kb.index_folder / "manifest.json").read_text() == before
    assert index_module.NodeIndex.load(kb.index_folder).manifest.count == 3
    assert [p.name for p in kb.index_folder.parent.iterdir() if p.name.startswith(kb.index_folder.name)] == [kb.index_folder.name]


def test_path_between_two_nodes(example_kg):
    kb = KnowledgeBase.open([example_kg], HashingEmbeddings())
    steps = kb.path("https://example.org/llm/Zephyr-7B", "https://example.org/llm/MistralAI")
    assert [s.render() for s in steps] == [
        "Zephyr 7B --based on--> Mistral 7B Instruct",
        "Mistral 7B Instruct --developer--> Mistral AI",
    ]
    assert kb.resolve("Zephyr 7B") == "https://example.org/llm/Zephyr-7B"


def test_two_hop_facts(example_kg):
    kb = KnowledgeBase.open([example_kg], HashingEmbeddings())
    node = kb.retrieve("Zephyr 7B", k=1, hops=2)[0]
    assert "based on: Mistral 7B Instruct" in node.facts
    assert "Mistral 7B Instruct → developer: Mistral AI" in node.facts


def test_skipped_nodes_are_counted_and_kept_up_to_date(small_kg):
    kb = KnowledgeBase.open([small_kg], HashingEmbeddings(), writable=True)
    assert kb.skipped == 2  # ex:orphan and the label-only property ex:ownedBy
    kb.update(add=[(URIRef(EX + "orphan"), RDFS.label, Literal("Orphan system"))])
    assert kb.skipped == 1 and EX + "orphan" in kb.index.by_uri
