"""Chat-model providers by name. Built-ins are entry points of the ``agentmesh.models`` group,
declared in agentmesh's pyproject.toml exactly as a plugin declares its own (see agentmesh.plugins).

Names: ``embedded`` (SmolLM2 in-process), ``auto`` (each call routed over the model catalog),
``openai:<model>`` (OpenAI, or any server at
``base_url``), ``local:<model>`` (an OpenAI-compatible server such as vLLM, Ollama or
llama.cpp's server, at ``base_url``).

>>> from agentmesh.models.providers import register_provider
>>> register_provider("echo", lambda name, settings: MyEchoModel())     # doctest: +SKIP

``register_provider`` is ``agentmesh.plugins.models.register``, kept under its first name.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from langchain_core.language_models import BaseChatModel

from agentmesh import plugins
from agentmesh.config import Settings
from agentmesh.errors import AgentmeshError, ModelError, ModelUnavailableError, UnknownModelError

__all__ = ["make_chat_model", "register_provider", "providers", "translate_model_error", "describe_model",
           "embedded_model", "openai_model", "local_model", "auto_model"]

ProviderFactory = Callable[[str, Settings], BaseChatModel]


def register_provider(prefix: str, factory: ProviderFactory) -> None:
    """Make ``prefix`` and ``prefix:<name>`` model names create models with ``factory(name, settings)``."""
    plugins.models.register(prefix, factory)


def providers() -> list[str]:
    return plugins.models.names()


def make_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model that ``settings.model`` names."""
    prefix, _, name = settings.model.partition(":")
    if prefix not in plugins.models:
        raise UnknownModelError(
            f"unknown model '{settings.model}'; use 'embedded', 'openai:<model>' or 'local:<model>' "
            f"(providers: {', '.join(providers())})"
        )
    return plugins.models.get(prefix)(name, settings)


def describe_model(settings: Settings) -> str:
    if settings.base_url and not settings.model.startswith("embedded"):
        return f"{settings.model} at {settings.base_url}"
    return settings.model


def embedded_model(name: str, settings: Settings) -> BaseChatModel:
    from agentmesh.models.embedded import EmbeddedChatModel, smollm2_path

    if name and name not in ("smollm2", "smollm2-135m-instruct"):
        raise UnknownModelError(f"unknown embedded model '{name}'; the embedded default is 'embedded' (SmolLM2-135M-Instruct)")
    smollm2_path()  # fail now, with the install command, rather than at the first question
    return EmbeddedChatModel(
        n_ctx=settings.n_ctx, threads=settings.n_threads, temperature=settings.temperature, max_tokens=settings.max_tokens
    )


def _api_key(settings: Settings) -> str | None:
    if settings.api_key is not None:
        return settings.api_key.get_secret_value()
    return os.environ.get("OPENAI_API_KEY")


def _chat_openai(name: str, settings: Settings, *, base_url: str | None, api_key: str) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    kwargs: dict[str, Any] = {
        "model": name,
        "api_key": api_key,
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
        "timeout": settings.request_timeout,
        "max_retries": 1,
        "stream_usage": True,  # streamed answers report their tokens, as invoked ones do
    }
    if base_url:
        kwargs["base_url"] = base_url
    model = ChatOpenAI(**kwargs)
    if settings.tool_calling == "json":
        from agentmesh.models.json_tools import JsonToolCallingModel

        return JsonToolCallingModel(inner=model)
    return model


def openai_model(name: str, settings: Settings) -> BaseChatModel:
    if not name:
        raise UnknownModelError("model 'openai' needs a model name, e.g. 'openai:gpt-4o-mini'")
    key = _api_key(settings)
    if not key and not settings.base_url:
        raise ModelUnavailableError(
            f"model '{settings.model}' needs an API key; set OPENAI_API_KEY or AGENTMESH_API_KEY"
        )
    return _chat_openai(name, settings, base_url=settings.base_url, api_key=key or "not-needed")


def local_model(name: str, settings: Settings) -> BaseChatModel:
    if not name:
        raise UnknownModelError("model 'local' needs the server's model name, e.g. 'local:qwen2.5-7b-instruct'")
    if not settings.base_url:
        raise ModelUnavailableError(
            f"model '{settings.model}' needs the server's address; set base_url (e.g. http://127.0.0.1:8000/v1)"
        )
    return _chat_openai(name, settings, base_url=settings.base_url, api_key=_api_key(settings) or "not-needed")


def translate_model_error(exc: BaseException, settings: Settings) -> AgentmeshError | None:
    """A clear agentmesh error for a provider's exception, or None if it is not a model error."""
    try:
        import openai
    except ImportError:  # pragma: no cover
        return None
    where = describe_model(settings)
    if isinstance(exc, openai.APITimeoutError):
        return ModelUnavailableError(f"model server for '{where}' did not answer within {settings.request_timeout:g}s")
    if isinstance(exc, openai.APIConnectionError):
        return ModelUnavailableError(
            f"model server for '{where}' is unreachable; start the server or fix base_url"
        )
    if isinstance(exc, openai.AuthenticationError):
        return ModelUnavailableError(f"model '{where}' rejected the API key; check OPENAI_API_KEY or AGENTMESH_API_KEY")
    if isinstance(exc, openai.NotFoundError):
        return UnknownModelError(f"model '{where}' is not served there; check the model name with GET {settings.base_url or 'the API'}/models")
    if isinstance(exc, openai.APIStatusError):
        return ModelError(f"model '{where}' failed with HTTP {exc.status_code}: {exc.message}")
    return None


def auto_model(name: str, settings: Settings) -> BaseChatModel:
    from agentmesh.models.catalog import Catalog
    from agentmesh.models.routed import RoutedChatModel, UsageLedger, default_model_factory
    from agentmesh.models.router import PolicyRouter

    catalog = Catalog.load(*([settings.catalog] if settings.catalog else []))
    return RoutedChatModel(
        catalog=catalog, router=PolicyRouter(catalog), ledger=UsageLedger(settings.data_dir() / "usage.sqlite"),
        factory=lambda spec: default_model_factory(spec, timeout=settings.request_timeout, max_tokens=settings.max_tokens),
        budget_usd=settings.budget_usd, thread_budget_usd=settings.thread_budget_usd, budget_tokens=settings.budget_tokens,
        max_output_tokens=settings.max_tokens, latency_target_s=settings.latency_target,
    )

