"""The public API is exactly what agentmesh/__init__.py lists in __all__."""

import agentmesh


def test_all_matches_the_public_names():
    public = {name for name in vars(agentmesh) if not name.startswith("_")}
    modules = {"agent", "config", "errors", "graphs", "knowledge", "models", "prompts", "tools", "apps", "memory", "maintenance", "claims", "evaluation"}
    assert set(agentmesh.__all__) == public - modules
    for name in agentmesh.__all__:
        assert getattr(agentmesh, name) is not None


def test_errors_share_one_root():
    for name in agentmesh.__all__:
        obj = getattr(agentmesh, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, agentmesh.AgentmeshError)
