"""The `router demo` workload runner."""

from router.demo._run import DemoSummary, run_demo

__all__ = ["DemoSummary", "run_demo"]
