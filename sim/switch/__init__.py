"""Switch simulator: a FreeSWITCH Event Socket server with simulated calls (see sim/README.md)."""

__all__ = ["SwitchSimulator"]


def __getattr__(name):
    # Imported on first use, so `python -m sim.switch.control` does not import itself twice.
    if name == "SwitchSimulator":
        from sim.switch.handle import SwitchSimulator

        return SwitchSimulator
    raise AttributeError(f"module 'sim.switch' has no attribute {name!r}")
