"""Node texts: one label and one description per URI node, for embedding and for display."""

from __future__ import annotations

from dataclasses import dataclass, field

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DC, DCTERMS, RDFS, SKOS, Namespace

__all__ = ["NodeText", "DescriptionConfig", "describe_nodes", "label_of"]

EXTRACTION_VERSION = 2
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
        fallback = None
        for value in graph.objects(node, predicate):
            if not isinstance(value, Literal):
                continue
            if value.language in (None, language) or (value.language or "").startswith(language + "-"):
                if value.language == language:
                    return str(value)
                fallback = fallback or str(value)
            elif fallback is None:
                fallback = str(value)
        if fallback:
            return fallback
    return None


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


def describe_nodes(graph: Graph, config: DescriptionConfig | None = None) -> tuple[list[NodeText], int]:
    """Texts for every URI subject with a label or description, and the count of those skipped.

    Skipped: nodes with neither, and properties that have a label but no description."""
    config = config or DescriptionConfig()
    texts: list[NodeText] = []
    skipped = 0
    predicates = set(graph.predicates())
    for node in sorted({s for s in graph.subjects() if isinstance(s, URIRef)}):
        label = _best_literal(graph, node, config.label_predicates, config.language)
        description = _best_literal(graph, node, config.description_predicates, config.language)
        if not description and (not label or node in predicates):
            # a property with only a label names a relation, not a thing anyone asks about
            skipped += 1
            continue
        texts.append(NodeText(str(node), label or local_name(str(node)), description or ""))
    return texts, skipped
