"""Job entry points that compose pipeline steps (demo, benchmark, monthly runs)."""
