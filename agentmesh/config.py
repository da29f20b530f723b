"""Settings: ``agentmesh.toml`` overridden by ``AGENTMESH_*`` environment variables.

Precedence, highest first: keyword arguments, environment, the TOML file, defaults.
Relative paths in the TOML file are resolved against the file's own folder.

>>> from agentmesh import Settings
>>> Settings.load(model="embedded").max_steps
6
"""

from __future__ import annotations

import contextvars
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from agentmesh.errors import ConfigError

__all__ = ["Settings", "McpServer", "CONFIG_FILE_NAME"]

CONFIG_FILE_NAME = "agentmesh.toml"
_PATH_KEYS = ("kg", "db", "home", "docs", "catalog", "threads", "queue_flows", "lexicon", "cache_lexicon")
_toml_data: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("agentmesh_toml", default={})


def _default_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "agentmesh"


class McpServer(BaseModel):
    """One MCP server whose tools the agent may call: a command it starts (stdio) or a URL
    (streamable HTTP). In agentmesh.toml, a table per server::

        [mcp_servers.files]
        command = "npx"
        args = ["-y", "@modelcontextprotocol/server-filesystem", "/srv/docs"]

        [mcp_servers.tickets]
        url = "https://mcp.example.com/mcp"
        bearer_token = "..."        # or headers = {X-Api-Key = "..."}
        dangerous_tools = ["close_ticket"]
    """

    model_config = ConfigDict(extra="forbid")

    command: str | None = Field(None, description="Program that serves MCP on its stdin/stdout.")
    args: list[str] = Field(default_factory=list)
    env: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Environment of the server process, on top of a minimal one (PATH, HOME...): agentmesh's own "
                    "environment, keys included, is not passed on.")
    cwd: Path | None = None
    url: str | None = Field(None, description="Streamable-HTTP endpoint, e.g. http://127.0.0.1:9000/mcp.")
    headers: dict[str, SecretStr] = Field(default_factory=dict, description="HTTP headers sent with each request.")
    bearer_token: SecretStr | None = Field(None, description="Sent as 'Authorization: Bearer <token>'.")
    timeout: float = Field(30.0, gt=0, description="Seconds one tool call may take.")
    startup_timeout: float = Field(30.0, gt=0, description="Seconds the server may take to start and list its tools.")
    tools: list[str] | None = Field(None, description="Offer only these of the server's tools (default: all).")
    dangerous: bool | None = Field(
        None, description="true: every tool call asks a person first; false: none does; unset: a call asks unless the "
                          "tool declares itself read-only (MCP's readOnlyHint).")
    dangerous_tools: list[str] = Field(default_factory=list, description="Tools that always ask first.")
    safe_tools: list[str] = Field(default_factory=list, description="Tools that never ask.")
    cacheable: bool = Field(False, description="Answers that used this server's tools may be cached (their results "
                                               "change only with data you version).")

    @model_validator(mode="after")
    def _one_transport(self) -> "McpServer":
        if (self.command is None) == (self.url is None):
            raise ValueError("give exactly one of 'command' (a stdio server) or 'url' (streamable HTTP)")
        if self.url is not None and not re.match(r"https?://", self.url):
            raise ValueError(f"url {self.url!r} is not an http:// or https:// URL")
        return self

    def secret_values(self) -> list[str]:
        values = [*self.env.values(), *self.headers.values(), *([self.bearer_token] if self.bearer_token else [])]
        return [v.get_secret_value() for v in values]


class Settings(BaseSettings):
    """Every setting of agentmesh. README.md lists each key with its default."""

    model_config = SettingsConfigDict(env_prefix="AGENTMESH_", extra="forbid", validate_default=True)

    home: Path = Field(default_factory=_default_home, description="Data home: indexes, threads, caches.")
    model: str = Field("embedded", description="'embedded', 'auto' (routed), 'openai:<name>' or 'local:<name>' (with base_url).")
    base_url: str | None = Field(None, description="OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")
    api_key: SecretStr | None = Field(None, description="Key for the hosted/local server; OPENAI_API_KEY also works.")
    tool_calling: Literal["native", "json"] = Field(
        "native", description="'json': tool calls by JSON-schema constrained output, for servers without native tool calling."
    )
    catalog: Path | None = Field(None, description="A TOML file of extra model specs for model = 'auto'.")
    budget_usd: float | None = Field(None, ge=0, description="Money the routed models may spend overall (model = 'auto').")
    thread_budget_usd: float | None = Field(None, ge=0, description="Money the routed models may spend per thread.")
    budget_tokens: int | None = Field(None, ge=0, description="Tokens the routed models may use overall.")
    latency_target: float | None = Field(None, gt=0, description="Seconds a routed call should take at most (preferred, not forced).")
    embeddings: str = Field("minilm", description="'minilm' (local ONNX), 'openai:<name>', or a plugin's '<name>[:<model>]'.")
    embeddings_base_url: str | None = Field(
        None, description="An OpenAI-compatible /v1/embeddings server (vLLM, TEI, Ollama) for embeddings = 'openai:<model>'.")
    embeddings_batch_size: int = Field(64, ge=1, description="Texts per request to an embeddings server.")
    embeddings_concurrency: int = Field(4, ge=1, description="Requests to an embeddings server in flight at once.")
    embeddings_rate_limit: float | None = Field(None, gt=0, description="At most this many requests a second to an embeddings server.")
    embeddings_max_retries: int = Field(5, ge=0, description="Retries of a failed embeddings request (429, 5xx, dropped connection), with backoff.")
    embeddings_timeout: float = Field(60.0, gt=0, description="Seconds before an embeddings request is abandoned (then retried).")
    retriever: str = Field("knowledge_graph", description="What questions are grounded in: the knowledge graph, or a plugin's retriever.")
    kg: Annotated[list[Path], NoDecode] = Field(default_factory=list, description="RDF files or folders to ground in.")
    kg_endpoints: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="SPARQL endpoints whose graph is mirrored and grounded in, like a file."
    )
    kg_endpoint_query: str = Field(
        "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 2000000",
        description="The CONSTRUCT that selects what to mirror from each endpoint.",
    )
    kg_endpoint_mode: Literal["mirror", "live"] = Field(
        "mirror", description="mirror: copy the endpoint's graph into the data home; live: keep only the node index "
                              "and ask the endpoint per question (for large or changing graphs).")
    kg_endpoint_token: SecretStr | None = Field(None, description="Bearer token sent to the SPARQL endpoints (credentials in the URL go as basic auth).")
    kg_endpoint_timeout: float = Field(30.0, gt=0, description="Seconds one live SPARQL request may take.")
    kg_endpoint_changes: str | None = Field(
        None, description="Live mode: a SELECT of ?s, the nodes changed since {since} (the last sync's xsd:dateTime); "
                          "with it a sync reads only those nodes' texts.")
    kg_endpoint_page_size: int = Field(10_000, ge=10, description="Values per page when a live index reads the endpoint's labels and descriptions (keep it within the server's row cap).")
    kg_endpoint_max_age: float = Field(86400.0, gt=0, description="Seconds before an endpoint's mirror is fetched again.")
    kg_endpoint_max_bytes: int = Field(512 * 1024 * 1024, ge=1, description="Largest endpoint reply mirrored (bytes); a larger one is refused.")
    kg_endpoint_deadline: float = Field(600.0, gt=0, description="Seconds one endpoint mirror may take in all (a slow trickle is cut off).")
    kg_index: Literal["auto", "flat", "hnsw"] = Field(
        "auto", description="Node index: exact below 50,000 nodes, HNSW above ('auto'), or forced."
    )
    kg_hops: int = Field(1, ge=1, le=2, description="Hops of facts shown for each retrieved node.")
    kg_language: str = Field("en", description="Preferred language tag of labels and descriptions.")
    kg_label_predicates: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Label predicates (full IRIs), most preferred first; empty: the defaults."
    )
    kg_description_predicates: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Description predicates (full IRIs), most preferred first; empty: the defaults."
    )
    db: str | None = Field(None, description="Database of the sql tool: a SQLite file or a SQLAlchemy URL.")
    docs: Annotated[list[Path], NoDecode] = Field(default_factory=list, description="A folder of documents for the search tool.")
    tools: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [
            "kg_search", "kg_path", "sparql", "sql", "sql_rank", "sql_answer", "sql_lookup", "sql_schema", "python", "search", "web_search", "remember", "forget",
        ],
        description="Tools offered to the model (those whose resource is not configured are left out).",
    )
    max_steps: int = Field(6, ge=1, description="Model calls per question before the run stops.")
    max_tool_errors: int = Field(3, ge=0, description="Failed tool calls tolerated per question.")
    top_k_tools: int | None = Field(
        None, ge=1, description="Tools offered per question, chosen by similarity (default: 1 in the constrained answer profile, 4 in the open one)."
    )
    tool_min_similarity: float | None = Field(
        None, ge=-1.0, le=1.0,
        description="Offer no tool whose description is less similar than this to the question (cosine; 0 = off; "
                    "default: 0.4 in the constrained answer profile, 0 in the open one). agentmesh's own tools (general-purpose) have no floor.",
    )
    top_k_nodes: int = Field(5, ge=0, description="Knowledge-graph nodes retrieved per question.")
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(384, ge=1, description="Tokens generated per model call.")
    request_timeout: float = Field(60.0, gt=0, description="Seconds before a model server call is abandoned.")
    n_ctx: int = Field(8192, ge=512, description="Context window of the embedded model.")
    n_threads: int | None = Field(None, ge=1, description="CPU threads for the embedded model (default: up to 4).")
    threads: str | None = Field(None, description="Where threads are kept: a SQLite file (default: <home>/threads.sqlite) or a postgresql:// URL.")
    history_tokens: int | None = Field(
        None, ge=256, description="Token budget for the history sent to the model (default: 6000 in the constrained answer profile, 16000 in the open one)."
    )
    cache: bool = Field(True, description="Answer repeated questions from the semantic cache.")
    cache_url: SecretStr | None = Field(
        None, description="Keep the semantic cache in Redis (redis://host:6379/0), shared by every process using it."
    )
    cache_backend: str | None = Field(
        None, description="'sqlite' (GPTCache on SQLite + faiss), 'redis', or a plugin's (default: redis when cache_url is set, else sqlite).")
    cache_threshold: float = Field(0.72, gt=0, le=1, description="Cosine similarity for a cache hit (chosen from data).")
    cache_model_check: bool = Field(
        False, description="Before a cached answer is served, ask the configured model whether the two questions ask "
                           "the same thing (one short call, in the usage ledger); not with the embedded model.")
    cache_model_check_error: float = Field(
        0.02, ge=0, lt=1, description="With cache_model_check: the share of wrongly served hits accepted where the model "
                                      "is no longer asked, once its verdicts bound it at 95% (0 asks every time).")
    cache_ttl: float = Field(7 * 24 * 3600, gt=0, description="Seconds a cached answer stays valid.")
    cache_max_size: int = Field(10_000, ge=1, description="Cached answers kept per scope (LRU).")
    cache_lexicon: Path | None = Field(
        None, description="A TOML file of your field's words for the cache: synonyms folded before matching, contrast "
                          "groups, filler words (see examples/llm-landscape/cache_lexicon.toml).")
    cache_max_error: float = Field(
        0.01, ge=0, lt=1, description="The wrong-serve rate the cache keeps: while the share of its hits marked wrong "
                                      "(or refused by the model check) is above it, hits need a closer match.")
    python_timeout: float = Field(10.0, gt=0, description="Wall-clock seconds per python tool call.")
    sql_row_limit: int = Field(200, ge=1, description="Rows returned per SQL query.")
    sql_writes: bool = Field(False, description="Let the sql tool write (INSERT/UPDATE/DELETE); each write needs approval.")
    sql_role: str | None = Field(None, description="PostgreSQL role the sql tool's session takes (SET ROLE), e.g. a role with SELECT only.")
    sql_allow_privileged: bool = Field(
        False, description="Accept a database login that is a superuser or has FILE (not recommended: the read-only session then does not protect the server)."
    )
    sql_functions: list[str] = Field(
        default_factory=list, description="Functions to add to the sql tool's allowlist (PostgreSQL, MariaDB/MySQL), if free of side effects."
    )
    lexicon: Path | None = Field(
        None, description="A TOML file of what your data cannot say about itself: words that restrict no rows "
                           "(known_words), synonyms of schema words (agentmesh.answering.lexicon).")
    answer_profile: Literal["auto", "constrained", "open"] = Field(
        "auto", description="constrained: the framework reads the question, offers one tool, picks and strictly checks "
                            "the answer (small models); open: the model chooses tools and writes SQL and the answer, "
                            "which is checked (capable models); auto: decided from the model in use (the embedded "
                            "model, or one whose metadata says answer_profile='constrained', is constrained).")
    answer_check: Literal["strict", "flag", "off"] | None = Field(
        None, description="Check each answer's claims against the evidence: strict replaces an unsupported answer, "
                          "flag marks it, off skips (default: strict in the constrained answer profile, flag in the open one).")
    answer_checker: str = Field(
        "claims", description="What checks each answer's claims against the evidence: 'claims' (the built-in "
                              "ClaimChecker) or a plugin's (entry-point group agentmesh.checkers).")
    answer_style: Literal["free", "pick"] | None = Field(
        None, description="free: the model writes the answer; pick: it chooses evidence lines and the answer is "
                          "rendered from them (default: pick in the constrained answer profile, free in the open one).")
    approval: Literal["ask", "auto", "deny"] = Field(
        "ask", description="Dangerous tool calls (python, SQL writes): ask a person first, run them (auto) or refuse (deny)."
    )
    server_token: SecretStr | None = Field(
        None, description="Bearer token `agentmesh serve` requires; without one it binds to localhost only."
    )
    server_tokens: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Per-user bearer tokens for `agentmesh serve` ({user = token}): each user sees only the threads they made.",
    )
    server_public_names: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Names `agentmesh serve` answers to besides loopback: the Host a reverse "
                                          "proxy passes on (kb.example.com, or kb.example.com:8443 for that port "
                                          "only). Requests naming any other host are refused (DNS rebinding); pages "
                                          "on these names may post to it.")
    turn_lock: Literal["auto", "file", "postgres", "redis"] = Field(
        "auto", description="What keeps a thread's turns in order across processes: a file lock (one machine), a "
                            "PostgreSQL advisory lock or a Redis lock (replicas on several machines); auto: postgres "
                            "when threads are in PostgreSQL, else redis when cache_url is set, else file.")
    turn_lock_timeout: float = Field(600.0, gt=0, description="Seconds a turn waits for its thread while another holds it.")
    queue_url: SecretStr = Field(
        SecretStr("amqp://guest:guest@127.0.0.1:5672//"),
        description="Broker of `agentmesh run --queue` and `agentmesh worker` (Celery: amqp://, redis://...).")
    queue_name: str = Field("agentmesh", min_length=1, description="The broker queue workflow tasks go to.")
    queue_store: SecretStr | None = Field(
        None, description="SQLAlchemy URL of the queued items' results, shared by driver and workers "
                          "(default: the threads' PostgreSQL, else <home>/queue.sqlite).")
    queue_secret: SecretStr | None = Field(
        None, description="Secret shared by `agentmesh run --queue` and `agentmesh worker` (at least 32 bytes): the "
                          "driver signs each task with it (HMAC-SHA256) and a worker runs only tasks signed with it.")
    queue_flows: Annotated[list[Path], NoDecode] = Field(
        default_factory=list, description="Folders of the flow files queued runs may use: a task names its flow by its "
                                          "path inside one of them, and `agentmesh worker` runs nothing else.")
    queue_task_ttl: float = Field(86400.0, gt=0, description="Seconds a queued task is valid after it is sent; a worker "
                                                             "refuses an older one (a replay); --resume sends fresh ones.")
    server_concurrency: int = Field(32, ge=1, description="Agent runs `agentmesh serve` executes at once; more wait.")
    server_max_chars: int = Field(100_000, ge=1, description="Longest message `agentmesh serve` accepts (characters).")
    slack_bot_token: SecretStr | None = Field(None, description="Slack bot token (xoxb-...): enables the Slack app in `serve`.")
    slack_signing_secret: SecretStr | None = Field(None, description="Slack signing secret: verifies each Slack request.")
    slack_app_token: SecretStr | None = Field(None, description="Slack app-level token (xapp-...) for Socket Mode: `agentmesh slack`.")
    slack_api_url: str = Field("https://slack.com/api/", description="Slack Web API base URL (a proxy or a test fake).")
    a2a: bool = Field(False, description="`agentmesh serve` also speaks A2A: an agent card at "
                                          "/.well-known/agent-card.json and JSON-RPC at /a2a.")
    a2a_url: str | None = Field(None, description="The server's public base URL, for the A2A agent card "
                                                  "(default http://127.0.0.1:8000).")
    mcp_servers: dict[str, McpServer] = Field(
        default_factory=dict, description="MCP servers whose tools the agent may call ([mcp_servers.<name>] tables); "
                                          "each tool is named <server>_<tool>.")

    mcp_extensions: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="For `agentmesh mcp serve`: module:function names, each called with the "
                                          "FastMCP server to add tools, resources or prompts of your own.")

    @field_validator("mcp_servers")
    @classmethod
    def _server_names(cls, value: dict[str, McpServer]) -> dict[str, McpServer]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,31}", name):
                raise ValueError(f"mcp_servers: server name {name!r} must start with a letter and hold only letters, "
                                 "digits, _ and - (at most 32)")
        return value

    @field_validator("server_tokens")
    @classmethod
    def _user_names(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for user, token in value.items():
            if not re.fullmatch(r"[A-Za-z0-9_.@-]{1,64}", user):
                raise ValueError(f"server_tokens: user name {user!r} may hold only letters, digits and _.@-")
            if len(token.get_secret_value()) < 16:
                raise ValueError(f"server_tokens: the token of {user!r} is shorter than 16 characters")
        tokens = [t.get_secret_value() for t in value.values()]
        if len(set(tokens)) != len(tokens):
            raise ValueError("server_tokens: two users share a token")
        return value

    @field_validator("server_public_names", mode="before")
    @classmethod
    def _public_names(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, (list, tuple)):
            return value
        names = []
        for name in (str(v).strip().lower() for v in value):
            if not name:
                continue
            if "*" in name:
                raise ValueError(f"server_public_names: {name!r} is a wildcard; name each host the server is reached by "
                                 "(any page under a wildcard could rebind to it)")
            if not re.fullmatch(r"(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:[0-9]{1,5})?", name):
                raise ValueError(f"server_public_names: {name!r} is not a host name; give the name alone, as the Host "
                                 "header carries it: kb.example.com or kb.example.com:8443")
            names.append(name)
        return names

    @field_validator("queue_secret")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < 32:
            raise ValueError("queue_secret must be at least 32 bytes; make one with: "
                             "python -c 'import secrets; print(secrets.token_urlsafe(32))'")
        return value

    @field_validator("kg", "docs", "tools", "sql_functions", "kg_label_predicates", "kg_description_predicates", "kg_endpoints",
                     "mcp_extensions", "queue_flows", mode="before")
    @classmethod
    def _split_list(cls, value: Any, info: Any) -> Any:
        if isinstance(value, str):
            if info.field_name in ("kg", "docs", "queue_flows"):  # paths: the OS path separator works too
                value = value.replace(os.pathsep, ",")
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, Path):
            return [value]
        return value

    @field_validator("threads", mode="before")
    @classmethod
    def _threads_is_a_place(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            raise ValueError("'threads' is where conversation threads are kept (a SQLite file or a postgresql:// URL); "
                             "the embedded model's CPU threads are 'n_threads'")
        return value

    @field_validator("db", mode="before")
    @classmethod
    def _db_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, Path) else value

    @field_validator("home", mode="after")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls))

    @classmethod
    def load(cls, path: str | Path | None = None, **overrides: Any) -> "Settings":
        """Read ``path`` (or ./agentmesh.toml if present), then the environment, then ``overrides``."""
        file = Path(path) if path is not None else Path.cwd() / CONFIG_FILE_NAME
        if path is not None and not file.is_file():
            raise ConfigError(f"settings file '{file}' does not exist; pass an existing agentmesh.toml")
        data = _read_toml(file) if file.is_file() else {}
        token = _toml_data.set(data)
        try:
            return cls(**{k: v for k, v in overrides.items() if v is not None})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "settings"
            hint = ""
            if first.get("type") == "extra_forbidden" and len(first["loc"]) == 1:
                import difflib

                near = difflib.get_close_matches(str(first["loc"][0]), list(cls.model_fields), n=1)
                hint = f"; did you mean '{near[0]}'?" if near else "; README's settings table lists every setting"
                first = {**first, "msg": "unknown setting"}
            raise ConfigError(f"setting '{where}': {first['msg']}{hint} (from {file if data else 'environment/arguments'})") from None
        finally:
            _toml_data.reset(token)

    def secret_values(self) -> list[str]:
        """Every configured secret: keys and tokens, passwords inside URLs, and OPENAI_API_KEY.

        Tool output is scrubbed of these before it is stored or shown (a model-written script
        that reads agentmesh.toml must not copy a key into a trace or a checkpoint)."""
        from urllib.parse import unquote, urlsplit

        values = [v.get_secret_value() for v in self.__dict__.values() if isinstance(v, SecretStr) and v.get_secret_value()]
        values += [v.get_secret_value() for v in self.server_tokens.values()]
        values += [v for server in self.mcp_servers.values() for v in server.secret_values()]
        urls = [str(self.db or ""), str(self.threads or ""), *self.kg_endpoints]
        urls += [v.get_secret_value() for v in (self.cache_url, self.queue_url, self.queue_store) if v is not None]
        for url in urls:
            try:
                password = urlsplit(url).password if "://" in url else None
            except ValueError:
                password = None
            if password:
                values += [password, unquote(password)]
        if os.environ.get("OPENAI_API_KEY"):
            values.append(os.environ["OPENAI_API_KEY"])
        return sorted({v for v in values if len(v) >= 6}, key=len, reverse=True)

    def data_dir(self, *parts: str) -> Path:
        """A folder under the data home, created on first use; the home and its folders are 0700,
        whatever the umask (see ``agentmesh._home``)."""
        from agentmesh._home import private_dir

        return private_dir(self.home, *parts)


_SECRET_KEYS = ("api_key", "server_token", "server_tokens", "slack_bot_token", "slack_signing_secret", "slack_app_token", "cache_url",
               "queue_secret")


def _read_toml(file: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"settings file '{file}': {exc}") from None
    data = data.get("agentmesh", data)
    secrets = [k for k in _SECRET_KEYS if data.get(k)]
    servers = data.get("mcp_servers") if isinstance(data.get("mcp_servers"), dict) else {}
    secrets += [f"mcp_servers.{name}" for name, server in servers.items()
                if isinstance(server, dict) and any(server.get(k) for k in ("bearer_token", "headers", "env"))]
    if secrets and os.name == "posix" and file.stat().st_mode & 0o077:
        # as ssh refuses a key others can read: a secret others can read is no longer one, and a
        # warning scrolls past while the file stays readable (a sandbox read one in round 3)
        raise ConfigError(
            f"settings file '{file}' holds a secret ({', '.join(secrets)}) and is {oct(file.stat().st_mode & 0o777)[2:]}: "
            f"other users of this machine may read it, so it is not loaded. Run chmod 600 '{file}', or keep the secret "
            "out of the file and pass it in the environment (AGENTMESH_API_KEY, ...)")
    base = file.parent.resolve()
    for key in _PATH_KEYS:
        if key not in data:
            continue
        value = data[key]
        if isinstance(value, list):
            data[key] = [str((base / Path(v).expanduser())) for v in value]
        elif isinstance(value, str) and "://" not in value:  # a path, not a database URL
            data[key] = str(base / Path(value).expanduser())
    return data


class _TomlSource(PydanticBaseSettingsSource):
    """Feeds the TOML file read by :meth:`Settings.load` into pydantic-settings."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return _toml_data.get().get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_toml_data.get())
