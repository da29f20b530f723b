"""Node texts: one label and one description per URI node, for embedding and for display."""

from __future__ import annotations

from dataclasses import dataclass, field

from typing import TYPE_CHECKING

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DC, DCTERMS, RDFS, SKOS, Namespace

if TYPE_CHECKING:
    from agentmesh.config import Settings
    from agentmesh.knowledge.store import KnowledgeStore

__all__ = ["NodeText", "DescriptionConfig", "describe_nodes", "label_of", "local_name"]

EXTRACTION_VERSION = 3
"""Bump when describe_nodes changes what it extracts, so saved indexes are rebuilt."""
SCHEMA = Namespace("https://schema.org/")
SCHEMA_HTTP = Namespace("http://schema.org/")


@dataclass(frozen=True)
class DescriptionConfig:
    """Which predicates give a node its label and its description, most preferred first."""

    label_predicates: tuple[URIRef, ...] = (RDFS.label, SKOS.prefLabel, SCHEMA.name, SCHEMA_HTTP.name, DCTERMS.title)
    description_predicates: tuple[URIRef, ...] = (
        DCTERMS.description,
        DC.description,
        RDFS.comment,
        SKOS.definition,
        SCHEMA.description,
        SCHEMA_HTTP.description,
    )
    language: str = "en"

    @classmethod
    def from_settings(cls, settings: "Settings") -> "DescriptionConfig":
        """The configuration the ``kg_*`` settings ask for; an empty predicate list keeps the defaults.

        Built here rather than by ``Settings``, so that the settings (a lower layer) need not
        import the knowledge graph's types."""
        default = cls()
        return cls(
            label_predicates=tuple(map(URIRef, settings.kg_label_predicates)) or default.label_predicates,
            description_predicates=tuple(map(URIRef, settings.kg_description_predicates)) or default.description_predicates,
            language=settings.kg_language,
        )

    def key(self) -> str:
        """A string that changes whenever the configuration does (recorded in index manifests)."""
        preds = "|".join(map(str, self.label_predicates + self.description_predicates))
        return f"v{EXTRACTION_VERSION}|{preds}@{self.language}"


@dataclass
class NodeText:
    uri: str
    label: str
    description: str
    text: str = field(init=False)

    def __post_init__(self) -> None:
        self.text = f"{self.label}: {self.description}" if self.description else self.label


def _best_literal(graph: Graph, node: URIRef, predicates: tuple[URIRef, ...], language: str) -> str | None:
    for predicate in predicates:
        best = _pick([v for v in graph.objects(node, predicate) if isinstance(v, Literal)], language)
        if best:
            return best
    return None


def _pick(values: list[Literal], language: str) -> str | None:
    """The value in ``language``, else one without a tag, else any."""
    if not values:
        return None
    ranked = sorted(values, key=lambda v: (v.language != language and not (v.language or "").startswith(language + "-"), v.language is not None, str(v)))
    return str(ranked[0]) or None


def local_name(uri: str) -> str:
    for sep in ("#", "/", ":"):
        if sep in uri.rstrip(sep):
            return uri.rstrip(sep).rsplit(sep, 1)[-1]
    return uri


def label_of(graph: Graph, node: object, config: DescriptionConfig | None = None) -> str:
    """A human label for any RDF term: its label, else its local name, else its lexical form."""
    if isinstance(node, URIRef):
        config = config or DescriptionConfig()
        return _best_literal(graph, node, config.label_predicates, config.language) or local_name(str(node))
    return str(node)


def describe_nodes(store: "KnowledgeStore", config: DescriptionConfig | None = None, only: set[str] | None = None) -> tuple[list[NodeText], int]:
    """Texts for every IRI subject with a label or description, and the count of those skipped.

    Skipped: nodes with neither, and properties that have a label but no description (they
    name a relation, not a thing anyone asks about). ``only`` limits the work to those URIs.
    Reads whole predicates at once from the store, which is fast at 100k nodes."""
    config = config or DescriptionConfig()

    def collect(predicates: tuple[URIRef, ...]) -> dict[str, str]:
        found: dict[str, str] = {}
        for predicate in predicates:  # most preferred first: a node keeps its first hit
            values: dict[str, list[Literal]] = {}
            for subject, obj in store.pairs(predicate):
                if isinstance(obj, Literal) and subject not in found and (only is None or subject in only):
                    values.setdefault(subject, []).append(obj)
            for subject, literals in values.items():
                best = _pick(literals, config.language)
                if best:
                    found[subject] = best
        return found

    labels = collect(config.label_predicates)
    descriptions = collect(config.description_predicates)
    subjects = store.subjects() if only is None else {u for u in only if store.has_node(u)}
    properties = store.predicates()
    texts: list[NodeText] = []
    skipped = 0
    for uri in sorted(subjects):
        label, description = labels.get(uri), descriptions.get(uri)
        if not description and (not label or uri in properties):
            skipped += 1
            continue
        texts.append(NodeText(uri, label or local_name(uri), description or ""))
    return texts, skipped
