"""The public API: agentmesh/__init__.py's ``__all__``, and each module's own ``__all__``."""

import importlib
import inspect
import pkgutil

import agentmesh

SUBMODULES = {info.name.rsplit(".", 1)[-1] for info in pkgutil.iter_modules(agentmesh.__path__)}


def test_all_matches_the_public_names():
    public = {name for name in vars(agentmesh) if not name.startswith("_")}
    assert set(agentmesh.__all__) == public - SUBMODULES
    for name in agentmesh.__all__:
        assert getattr(agentmesh, name) is not None


def _modules():
    for info in pkgutil.walk_packages(agentmesh.__path__, "agentmesh."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            yield importlib.import_module(info.name)


def test_every_public_name_of_every_module_is_in_its_all():
    """A class or function a module defines without a leading underscore is public: its
    module's ``__all__`` names it (the faces under agentmesh.apps are the CLI's commands)."""
    missing, no_all = [], []
    for module in _modules():
        if not hasattr(module, "__all__"):
            no_all.append(module.__name__)
            continue
        if module.__name__.startswith("agentmesh.apps."):
            continue
        for name, obj in vars(module).items():
            if (not name.startswith("_") and (inspect.isclass(obj) or inspect.isfunction(obj))
                    and obj.__module__ == module.__name__ and name not in module.__all__):
                missing.append(f"{module.__name__}.{name}")
    assert no_all == [] and missing == []


def test_every_name_in_an_all_exists():
    for module in _modules():
        for name in getattr(module, "__all__", ()):
            assert hasattr(module, name), f"{module.__name__}.__all__ names {name}, which it lacks"


def test_errors_share_one_root():
    for name in agentmesh.__all__:
        obj = getattr(agentmesh, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, agentmesh.AgentmeshError)
