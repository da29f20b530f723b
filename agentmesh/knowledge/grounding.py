"""Grounding: question -> the most relevant nodes -> their facts, with URIs to cite.

Ranking is hybrid. To the cosine similarity of the question and each node's text it adds
* a lexical score over labels: a bonus when the question names a node, i.e. its label looks
  like a proper name (a digit, an acronym, an inner capital) and appears in the question as
  a whole phrase, so ``Claude 2`` wins for "Tell me about Claude 2" although the embedding
  prefers ``Claude 2.1``. Labels that are common words ("Hotel", "Room", "Property") get
  nothing: matching them hurt (see below);
* a kind prior: a question asking for a "property" or "relationship" favours nodes that are
  properties, one asking for a "type" or "class" favours classes, as ontologies separate them.

On 124 questions over schema.org and Brick (bench/kg_retrieval.py) this lifts recall@1 over
plain description embeddings. Tried and dropped there: a bonus for any label found in the
question, and IDF-weighted label/question word overlap; both lowered recall@1.

>>> kb = KnowledgeBase.open(["examples/llm-landscape/landscape.ttl"], MiniLMEmbeddings())   # doctest: +SKIP
>>> [n.label for n in kb.retrieve("Who develops Mixtral?", k=2)]                            # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

import networkx as nx
import pyoxigraph as ox
from langchain_core.embeddings import Embeddings
from rdflib import Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS

from agentmesh._files import UseMark
from agentmesh.errors import KnowledgeGraphError
from agentmesh.knowledge.describe import DescriptionConfig, NodeText, describe_nodes, label_of
from agentmesh.knowledge.index import HNSW_THRESHOLD, IndexKind, NodeIndex, Progress, embed_texts
from agentmesh.knowledge.store import KnowledgeStore
from agentmesh.records import MORE_NOT_SHOWN, is_private_graph
from agentmesh.models.embeddings import embedding_model_id
from agentmesh.records import PathStep, RetrievedNode

if TYPE_CHECKING:
    from langchain_core.retrievers import BaseRetriever

__all__ = ["KnowledgeBase", "RetrievedNode", "PathStep", "format_nodes", "label_suffixes"]

_WORD = re.compile(r"[a-z0-9](?:[a-z0-9.\-]*[a-z0-9])?")
"""A word, dots and dashes inside it ("gpt-4.5", "mpt-7b"), never the full stop after it."""
_SPLIT_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
KIND_PRIOR = 0.15
NAME_BONUS = 0.35
SHORT_NAME_BONUS = 0.3
LABEL_PHRASE_BONUS = 0.1
"""A favoured kind's node (a class, when the question asks for a type) whose label ends the question
("What class is a boiler?"): the thing asked about, where a label inside it ("a blog post") is not."""
BARE_LABEL_PENALTY = 0.03
"""A node with a label only: its embedding is of one or two words, whose cosine runs high."""
"""A label named without its variant suffix ("Mixtral 8x7B" for "Mixtral 8x7B Instruct")."""
SUFFIX_LABELS = 3
"""A last word that ends this many labels or more is a suffix people may leave out ("Mistral 7B
Instruct", "Mixtral 8x7B Instruct", "SmolLM2 135M Instruct": "Mixtral 8x7B" names the second):
read from the graph's own labels, not from a list."""


def label_suffixes(labels: Iterable[str]) -> frozenset[str]:
    """The last words that end at least :data:`SUFFIX_LABELS` labels of several words (not a
    parenthesised unit): the graph's own suffixes, lower case."""
    counts: dict[str, int] = {}
    for label in labels:
        words = label.split()
        if len(words) > 1 and words[-1][:1].isalpha():
            counts[words[-1].lower()] = counts.get(words[-1].lower(), 0) + 1
    return frozenset(w for w, n in counts.items() if n >= SUFFIX_LABELS)
PROPERTY_WORDS = frozenset({"property", "properties", "relationship", "relation", "predicate", "attribute", "field"})
CLASS_WORDS = frozenset({"type", "types", "class", "classes", "kind", "category"})
_PROPERTY_TYPES = (RDF.Property, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
_CLASS_TYPES = (RDFS.Class, OWL.Class)
MAX_FACTS = 8


def _left_out(facts: list[str], cut: set[str]) -> list[str]:
    """The lines that say a statement name shown in ``facts`` has more statements than shown
    (``cut``: the names some of whose statements were left out): "on line of: (more not shown)"
    (:data:`agentmesh.records.MORE_NOT_SHOWN`)."""
    shown = {f.split(":", 1)[0] for f in facts}
    return [f"{name}: {MORE_NOT_SHOWN}" for name in cut if name in shown]
MIN_RELATIVE_SCORE = 0.5
MAX_POSTINGS = 256
"""A label word shared by more nodes than this does not identify a node; it is not looked up."""


def format_nodes(nodes: Iterable[RetrievedNode]) -> str:
    return "\n".join(node.render() for node in nodes)


def _words(text: str) -> set[str]:
    return set(_WORD.findall(_SPLIT_CAMEL.sub(" ", text).lower()))


_NAME_LIKE = re.compile(r"\d|[A-Z]{2}|[a-z][A-Z]")


def _is_name(label: str) -> bool:
    """A proper name ("Claude 2.1", "GPT-4o", "CRM", "iPhone"), not a common-word class ("Hotel",
    "Return Air Temperature Sensor"): it has a digit, two capitals in a row, or an inner capital."""
    return bool(_NAME_LIKE.search(label))


def _phrase_in(label: str, lowered_question: str) -> bool:
    """``label`` occurs in the question as a whole phrase ("Claude 2" is not in "Claude 2.1")."""
    return re.search(rf"(?<![\w.]){re.escape(label.lower())}(?![\w]|\.\w)", lowered_question) is not None


def _ends_with_phrase(lowered_question: str, phrase: str) -> bool:
    """The question's last words (before its final punctuation) are ``phrase``."""
    return bool(phrase) and re.search(rf"(?<![\w.]){re.escape(phrase)}\W*$", lowered_question) is not None


def _spoken(label: str) -> str:
    """A label as a question writes it: "postalCode" -> "postal code", "Air_Handling_Unit" -> "air handling unit"."""
    return " ".join(_SPLIT_CAMEL.sub(" ", label.replace("_", " ")).lower().split())


def _norm_label(label: str) -> str:
    return " ".join(label.lower().split())


def _short_label(label: str, suffixes: frozenset[str]) -> str:
    """The label without a trailing suffix of the graph's ("Mixtral 8x7B Instruct" -> "Mixtral 8x7B"), or ""."""
    words = label.split()
    if len(words) > 1 and words[-1].lower() in suffixes:
        return " ".join(words[:-1])
    return ""


def _slug(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class KnowledgeBase:
    """A loaded knowledge graph with its node index: the retriever behind ``ground`` and the kg tools."""

    def __init__(
        self,
        store: KnowledgeStore,
        index: NodeIndex,
        embeddings: Embeddings,
        config: DescriptionConfig | None = None,
        *,
        index_folder: Path | None = None,
        embedded_now: int = 0,
    ) -> None:
        self.store = store
        self.embeddings = embeddings
        self.config = config or DescriptionConfig()
        self.index_folder = index_folder
        self.embedded_now = embedded_now
        self._mark = UseMark(index_folder) if index_folder is not None and index_folder.is_dir() else None
        """Texts embedded when this object was opened (0 when the saved index was reused)."""
        self._nx: nx.MultiDiGraph | None = None
        self._kinds: tuple[set[str], set[str]] | None = None
        self._set_index(index)

    def _set_index(self, index: NodeIndex) -> None:
        self.index = index
        self._label_words = [_words(n.label) for n in index.nodes]
        suffixes = label_suffixes(n.label for n in index.nodes)
        self._short_labels = [_short_label(n.label, suffixes) for n in index.nodes]
        postings: dict[str, list[int]] = {}
        for i, words in enumerate(self._label_words):
            for word in words:
                postings.setdefault(word, []).append(i)
        self._postings = {w: ids for w, ids in postings.items() if len(ids) <= MAX_POSTINGS}
        self._kinds = None

    def _node_kinds(self) -> tuple[set[str], set[str]]:
        """(properties, classes) of the graph, by their rdf:type or by use as a predicate."""
        if self._kinds is None:
            def typed(types: tuple[URIRef, ...]) -> set[str]:
                rdf_type = ox.NamedNode(str(RDF.type))
                return {
                    q.subject.value
                    for t in types
                    for q in self.store.ox.quads_for_pattern(None, rdf_type, ox.NamedNode(str(t)), None)
                    if isinstance(q.subject, ox.NamedNode)
                }

            self._kinds = (typed(_PROPERTY_TYPES) | self.store.predicates(), typed(_CLASS_TYPES))
        return self._kinds

    @classmethod
    def open(
        cls,
        paths: Iterable[str | Path],
        embeddings: Embeddings,
        *,
        cache_dir: Path | None = None,
        config: DescriptionConfig | None = None,
        kind: IndexKind = "auto",
        hnsw_threshold: int = HNSW_THRESHOLD,
        writable: bool = False,
        on_stale: str = "rebuild",
        progress: Progress | None = None,
    ) -> "KnowledgeBase":
        """Load ``paths`` and their node index: reused from ``cache_dir`` when it still matches,
        otherwise rebuilt (re-embedding only nodes whose text changed), or with
        ``on_stale="refuse"`` an error that says why."""
        config = config or DescriptionConfig()
        paths = list(paths)
        store = KnowledgeStore.open(paths, cache_dir=cache_dir / "stores" if cache_dir else None, writable=writable)
        model = embedding_model_id(embeddings)
        folder = None
        saved = None
        if cache_dir is not None:
            key = "|".join([model, config.key(), *sorted(str(p.resolve()) for p in store.sources)])
            folder = cache_dir / f"index-{_slug(key)}"
            saved = NodeIndex.load(folder)
        reason = "missing" if saved is None else saved.stale_reason(
            embedding_model=model, dimension=None, graph_hash=store.content_hash, config_key=config.key()
        )
        if reason is None and kind not in ("auto", saved.manifest.kind):
            reason = f"stale: a {kind} index was asked for, this one is {saved.manifest.kind}"
        if reason is None:
            return cls(store, saved, embeddings, config, index_folder=folder)
        if on_stale == "refuse" and saved is not None:
            raise KnowledgeGraphError(f"node index '{folder}' is {reason}; rebuild it with: agentmesh kg index")
        nodes, skipped = describe_nodes(store, config)
        index = NodeIndex.build(
            nodes, embeddings, graph_hash=store.content_hash, config_key=config.key(), kind=kind,
            hnsw_threshold=hnsw_threshold, previous=saved, progress=progress, skipped=skipped,
        )
        if folder is not None:
            index.save(folder)
        return cls(store, index, embeddings, config, index_folder=folder, embedded_now=index.manifest.embedded)

    def reload(self, paths: Iterable[str | Path], *, cache_dir: Path | None = None, kind: IndexKind = "auto") -> int:
        """Load ``paths`` again into this object (tools holding it see the new graph); only nodes
        whose text changed are embedded. Returns how many were."""
        fresh = KnowledgeBase.open(paths, self.embeddings, cache_dir=cache_dir, config=self.config, kind=kind)
        self.store, self.index_folder, self.embedded_now = fresh.store, fresh.index_folder, fresh.embedded_now
        self._mark = fresh._mark
        self._set_index(fresh.index)
        self._nx = None
        return self.embedded_now

    @property
    def skipped(self) -> int:
        """Nodes with no label or description (left out of the index)."""
        return self.index.manifest.skipped

    @property
    def version(self) -> str:
        return self.store.content_hash

    def has_node(self, uri: str) -> bool:
        """``uri`` is a node of the shared graph (no one's remembered fact)."""
        if isinstance(self.store, KnowledgeStore):
            return self.store.has_node(uri, shared=True)
        return self.store.has_node(uri)  # a live graph's store: the endpoint's, which holds no facts

    def labels(self, limit: int = 20_000) -> list[str]:
        """The labels of the indexed things (at most ``limit``): the names an answer makes claims
        about. Classes and properties are left out: "Licence" and "developer" are the graph's
        vocabulary, and "Its licence is Apache 2.0" says nothing about a thing called Licence."""
        properties, classes = self._node_kinds()
        return [node.label for node in self.index.nodes[:limit]
                if node.label and node.uri not in classes and node.uri not in properties]

    # -- retrieval ---------------------------------------------------------------------------
    def retrieve(
        self, question: str, k: int = 5, *, hops: int = 1, min_relative_score: float = MIN_RELATIVE_SCORE
    ) -> list[RetrievedNode]:
        """The ``k`` nodes most relevant to ``question``, best first, each with its facts
        (``hops`` = 2 adds the facts of the nodes it links to).

        Nodes scoring below ``min_relative_score`` times the best score are left out: when
        one node matches by name, loosely similar ones only distract a small model."""
        return [self._node(i, score, hops) for i, score in self.rank(question, k, min_relative_score=min_relative_score)]

    def rank(self, question: str, k: int = 5, *, min_relative_score: float = 0.0) -> list[tuple[int, float]]:
        """(node row, hybrid score) of the ``k`` best nodes for ``question``."""
        if k <= 0 or not self.index.nodes:
            return []
        query = embed_texts(self.embeddings, [question])[0]
        candidates = dict(self.index.search(query, max(k * 4, 40)))
        question_words = _words(question)
        for i in self._named_candidates(question_words):  # labels named in full count even if the embedding missed them
            if i not in candidates:
                candidates[i] = float(self.index.vectors[i] @ query)
        wants_property = bool(question_words & PROPERTY_WORDS)
        wants_class = bool(question_words & CLASS_WORDS) and not wants_property
        properties, classes = self._node_kinds()
        favoured: set[str] = set()
        if wants_property or wants_class:
            favoured = properties if wants_property else classes
        bonus = self._name_bonuses(question, candidates)
        lowered = question.lower()
        scored = []
        for i, cosine in candidates.items():
            node = self.index.nodes[i]
            prior = 0.0
            if favoured and node.uri in favoured:
                prior = KIND_PRIOR
                # the class a type question ends with, written in words ("What class is a boiler?")
                # (a property question ends with the thing that has it: "the calories of a recipe")
                if wants_class and i not in bonus and _ends_with_phrase(lowered, _spoken(node.label)):
                    prior += LABEL_PHRASE_BONUS
            if not node.description:  # a bare label says less than a defined term of the same name
                prior -= BARE_LABEL_PENALTY
            scored.append((cosine + prior + bonus.get(i, 0.0), i))
        scored.sort(reverse=True)
        floor = scored[0][0] * min_relative_score if scored and scored[0][0] > 0 else float("-inf")
        return [(i, round(score, 4)) for score, i in scored[:k] if score >= floor]

    def as_retriever(self, **options) -> "BaseRetriever":
        """This graph as a LangChain ``BaseRetriever`` (``k``, ``hops``, ``min_relative_score``)."""
        from agentmesh.knowledge.langchain import KnowledgeGraphRetriever

        return KnowledgeGraphRetriever(knowledge=self, **options)

    def named_nodes(self, question: str) -> set[str]:
        """The URIs of the nodes ``question`` names, by label or by label without its variant
        suffix ("Mixtral 8x7B"), as retrieval ranks them first. No embedding is needed."""
        return {self.index.nodes[i].uri for i in self._name_bonuses(question, self._named_candidates(_words(question)))}

    def _named_candidates(self, question_words: set[str]) -> set[int]:
        """Rows whose label (or short label) has all its words in the question."""
        found = set()
        for word in question_words:
            for i in self._postings.get(word, ()):
                short = self._short_labels[i]
                if self._label_words[i] <= question_words or (short and _words(short) <= question_words):
                    found.add(i)
        return found

    def _name_bonuses(self, question: str, rows: Iterable[int]) -> dict[int, float]:
        """The name bonus of each row the question names: its label as a whole phrase, or its
        label without the variant suffix when no longer sibling is named."""
        properties, classes = self._node_kinds()
        question_words, lowered = _words(question), question.lower()
        bonus: dict[int, float] = {}
        for i in rows:
            node = self.index.nodes[i]
            label_words = self._label_words[i]
            if label_words and label_words <= question_words and _phrase_in(node.label, lowered) \
                    and (_is_name(node.label) or self._written_as_name(node, question, classes, properties)):
                bonus[i] = NAME_BONUS
            elif (short := self._short_labels[i]) and _is_name(short) and _phrase_in(short, lowered) \
                    and not any(_phrase_in(other, lowered) for other in self._named_siblings(short)):
                bonus[i] = SHORT_NAME_BONUS
        # a name inside a longer name the question also writes is not what it means:
        # "Gemma" in "the Gemma Terms of Use"
        named_labels = {i: _norm_label(self.index.nodes[i].label) for i, b in bonus.items() if b == NAME_BONUS}
        for i, label in named_labels.items():
            if any(other != label and _phrase_in(label, other) for other in named_labels.values()):
                del bonus[i]
        return bonus

    @staticmethod
    def _written_as_name(node: NodeText, question: str, classes: set[str], properties: set[str]) -> bool:
        """A thing (no class, no property) named by a plain word ("Gemma", "Cohere") that the
        question writes capitalised as in the graph, and not only as its first word: Brick's
        quantity "Temperature" is not meant by "the temperature of return air"."""
        if node.uri in classes or node.uri in properties or not node.label[:1].isupper():
            return False
        return any(m.start() > 0 for m in re.finditer(rf"(?<![\w.]){re.escape(node.label)}(?![\w]|\.\w)", question))

    def _named_siblings(self, short: str) -> list[str]:
        """Full labels that start with ``short`` ("Mixtral 8x7B Instruct" for "Mixtral 8x7B"): when the
        question names one of those in full, the short form is not what it means."""
        return [n.label for n in self.index.nodes if n.label != short and n.label.startswith(short + " ")]

    def _node(self, i: int, score: float, hops: int = 1) -> RetrievedNode:
        text = self.index.nodes[i]
        facts, links = self.facts(text.uri)
        if hops >= 2:
            for uri, label in list(links):
                more, _ = self.facts(uri, limit=3)
                facts += [f"{label} → {fact}" for fact in more]
        return RetrievedNode(text.uri, text.label, text.description, score, facts, links)

    def label(self, uri: str) -> str:
        row = self.index.by_uri.get(uri)
        return self.index.nodes[row].label if row is not None else label_of(self.store.graph, URIRef(uri), self.config)

    def facts(self, uri: str, limit: int = MAX_FACTS) -> tuple[list[str], list[tuple[str, str]]]:
        """Label-resolved statements about ``uri`` ("license: Apache 2.0"), outgoing then incoming,
        and the (URI, label) of the nodes they mention."""
        graph, node = self.store.graph, URIRef(uri)
        skip = set(self.config.label_predicates) | set(self.config.description_predicates)
        facts: list[str] = []
        links: list[tuple[str, str]] = []
        cut: set[str] = set()  # the statement names some of whose statements were left out
        for predicate, obj in sorted(graph.predicate_objects(node)):
            if predicate in skip:
                continue
            name = "type" if predicate == RDF.type else label_of(graph, predicate, self.config)
            if len(facts) >= limit:
                cut.add(name)
                continue
            value = str(obj) if isinstance(obj, Literal) else label_of(graph, obj, self.config)
            facts.append(f"{name}: {value}")
            if isinstance(obj, URIRef) and predicate != RDF.type:
                links.append((str(obj), value))
        for subject, predicate in sorted(graph.subject_predicates(node)):
            if predicate == RDF.type:
                continue
            if len(facts) >= limit:
                cut.add(f"{label_of(graph, predicate, self.config)} of")
                continue
            label = label_of(graph, subject, self.config)
            facts.append(f"{label_of(graph, predicate, self.config)} of: {label}")  # "developer of: Mistral Large"
            if isinstance(subject, URIRef):
                links.append((str(subject), label))
        return facts + _left_out(facts, cut), links

    # -- paths -------------------------------------------------------------------------------
    def network(self) -> nx.MultiDiGraph:
        """The graph of IRI-to-IRI statements (rdf:type left out: it links everything to its class)."""
        if self._nx is None:
            g = nx.MultiDiGraph()
            rdf_type = str(RDF.type)
            for quad in self.store.ox.quads_for_pattern(None, None, None, None):
                s, p, o = quad.subject, quad.predicate, quad.object
                if is_private_graph(quad.graph_name):  # someone's remembered facts
                    continue
                if isinstance(s, ox.NamedNode) and isinstance(o, ox.NamedNode) and p.value != rdf_type:
                    g.add_edge(s.value, o.value, key=p.value)
            self._nx = g
        return self._nx

    def path(self, source: str, target: str, max_length: int = 4) -> list[PathStep] | None:
        """The shortest chain of statements linking two nodes, in either direction; None if none."""
        g = self.network()
        if source not in g or target not in g:
            return None
        try:
            hops = nx.shortest_path(g.to_undirected(as_view=True), source, target)
        except nx.NetworkXNoPath:
            return None
        if len(hops) - 1 > max_length:
            return None
        steps = []
        for a, b in zip(hops, hops[1:]):
            if g.has_edge(a, b):
                predicate, subject, obj = next(iter(g[a][b])), a, b
            else:
                predicate, subject, obj = next(iter(g[b][a])), b, a
            steps.append(PathStep((subject, self.label(subject)), (predicate, self.label(predicate)), (obj, self.label(obj))))
        return steps

    def resolve(self, name: str) -> str | None:
        """The URI for ``name``: a URI of the graph as is, else the best-ranked node."""
        if name.startswith(("http://", "https://", "urn:")) and self.has_node(name):
            return name
        ranked = self.rank(name, 1)
        return self.index.nodes[ranked[0][0]].uri if ranked else None

    # -- changes -----------------------------------------------------------------------------
    def update(self, add: Iterable[tuple] = (), remove: Iterable[tuple] = ()) -> int:
        """Add and remove triples; re-embed only the nodes whose text they change. Returns how many."""
        add, remove = list(add), list(remove)
        touched = {str(t[0]) for t in [*add, *remove] if isinstance(t[0], URIRef)}
        skipped_before = sum(1 for uri in touched if uri not in self.index.by_uri and self.store.has_node(uri))
        if remove:
            self.store.remove(remove)
        if add:
            self.store.add(add)
        texts, skipped_now = describe_nodes(self.store, self.config, only=touched)
        nodes = sorted([n for n in self.index.nodes if n.uri not in touched] + texts, key=lambda n: n.uri)
        index = NodeIndex.build(
            nodes, self.embeddings, graph_hash=self.store.content_hash, config_key=self.config.key(),
            kind=self.index.manifest.kind, previous=self.index,
            skipped=max(0, self.skipped - skipped_before) + skipped_now,
        )
        if self.index_folder is not None:
            index.save(self.index_folder)
        self._set_index(index)
        self._nx = None
        self.embedded_now = index.manifest.embedded
        return index.manifest.embedded
