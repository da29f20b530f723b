"""Chat models and embeddings: the embedded SmolLM2, OpenAI-compatible servers, the routed model.

The names are in each module's ``__all__``: ``providers``, ``embedded``, ``embeddings``, ``routed``,
``router``, ``catalog``, ``json_tools``, ``testing``.
"""

__all__: list[str] = []
