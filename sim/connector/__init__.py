"""The voice connector (VC) simulator: `python -m sim.connector`, or `ConnectorSimulator` in tests."""

from sim.connector.server import ConnectorSimulator

__all__ = ["ConnectorSimulator"]
