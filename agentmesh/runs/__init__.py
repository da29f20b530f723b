"""What a run leaves behind: its provenance trace (PROV-O, :mod:`.provenance`)."""

from agentmesh.runs.provenance import RunRecord, load_trace, save_trace

__all__ = ["RunRecord", "load_trace", "save_trace"]
