"""Settings: TOML file, environment, arguments, in that order of precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentmesh import ConfigError, Settings


def test_defaults(tmp_path):
    s = Settings.load()
    assert s.model == "embedded"
    assert s.tools == ["kg_search", "kg_path", "sparql", "sql", "sql_rank", "sql_answer", "sql_lookup", "sql_schema", "python", "search", "web_search", "remember", "forget"]
    assert s.home == tmp_path / "home"  # AGENTMESH_HOME from the test fixture
    assert s.answer_profile == "auto"


def test_toml_in_working_directory_with_relative_paths():
    Path("agentmesh.toml").write_text('model = "local:llama3"\nkg = ["kg/a.ttl", "b.ttl"]\ndb = "data.sqlite"\nmax_steps = 4\n')
    s = Settings.load()
    here = Path.cwd().resolve()
    assert s.model == "local:llama3"
    assert s.kg == [here / "kg/a.ttl", here / "b.ttl"]
    assert s.db == str(here / "data.sqlite")
    assert s.max_steps == 4


def test_environment_overrides_file_and_arguments_override_both(monkeypatch, tmp_path):
    config = tmp_path / "conf" / "agentmesh.toml"
    config.parent.mkdir()
    config.write_text('model = "local:a"\nmax_steps = 4\ntop_k_nodes = 2\n')
    monkeypatch.setenv("AGENTMESH_MAX_STEPS", "9")
    monkeypatch.setenv("AGENTMESH_KG", "x.ttl,y.ttl")

    s = Settings.load(config, top_k_nodes=7)

    assert s.model == "local:a"
    assert s.max_steps == 9
    assert s.kg == [Path("x.ttl"), Path("y.ttl")]
    assert s.top_k_nodes == 7


def test_agentmesh_table_is_accepted(tmp_path):
    config = tmp_path / "pyproject-like.toml"
    config.write_text('[agentmesh]\nmodel = "openai:gpt-4o-mini"\n')
    assert Settings.load(config).model == "openai:gpt-4o-mini"


def test_api_key_is_secret(monkeypatch):
    monkeypatch.setenv("AGENTMESH_API_KEY", "sk-very-secret")
    s = Settings.load()
    assert "sk-very-secret" not in repr(s) and "sk-very-secret" not in str(s.model_dump())
    assert s.api_key.get_secret_value() == "sk-very-secret"


def test_bad_values_say_which_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTMESH_MAX_STEPS", "zero")
    with pytest.raises(ConfigError, match="setting 'max_steps'"):
        Settings.load()


def test_unknown_key_is_an_error(tmp_path):
    config = tmp_path / "agentmesh.toml"
    config.write_text("modle = 'embedded'\n")
    with pytest.raises(ConfigError, match="modle.*unknown setting; did you mean 'model'"):
        Settings.load(config)


def test_missing_or_broken_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        Settings.load(tmp_path / "none.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("model = \n")
    with pytest.raises(ConfigError, match="broken.toml"):
        Settings.load(broken)


def test_description_predicates_from_settings(monkeypatch):
    monkeypatch.setenv("AGENTMESH_KG_DESCRIPTION_PREDICATES", "http://e.org/blurb")
    from agentmesh.knowledge import DescriptionConfig

    config = DescriptionConfig.from_settings(Settings.load(kg_language="de"))
    assert [str(p) for p in config.description_predicates] == ["http://e.org/blurb"]
    assert config.language == "de" and config.label_predicates  # labels keep their defaults


def test_threads_is_the_place_of_threads_and_n_threads_the_cpu_count(tmp_path):
    """``threads`` was declared twice (CPU count and checkpointer location): the second silently
    replaced the first, so a PostgreSQL URL broke the embedded model."""
    from agentmesh.models.providers import make_chat_model

    s = Settings.load(threads="postgresql://127.0.0.1/test", n_threads=2)
    assert s.threads == "postgresql://127.0.0.1/test" and s.n_threads == 2
    model = make_chat_model(s)  # the embedded model reads n_threads, not the URL
    assert model.threads == 2
    assert make_chat_model(Settings.load(threads="postgresql://127.0.0.1/test")).threads is None


def test_threads_as_a_number_says_which_setting_is_meant(tmp_path):
    (tmp_path / "agentmesh.toml").write_text("threads = 4\n")
    with pytest.raises(ConfigError, match="n_threads"):
        Settings.load(tmp_path / "agentmesh.toml")


def test_a_relative_threads_file_is_relative_to_the_settings_file(tmp_path):
    (tmp_path / "agentmesh.toml").write_text('threads = "state/threads.sqlite"\n')
    assert Settings.load(tmp_path / "agentmesh.toml").threads == str(tmp_path.resolve() / "state/threads.sqlite")
