"""Conversation memory (threads in a checkpointer), long-term facts and the semantic cache of answers.

The names are in each module's ``__all__``: ``conversation``, ``facts``, ``cache``, ``redis_cache``,
``verify``, ``langchain_cache``.
"""

__all__: list[str] = []
