"""`router demo`: the workload runner, its table and chart, and the simulated models it uses.

`simulated_models(workload)` starts loopback Ollama, OpenAI and Anthropic servers replaying the
recorded answers, and `.wire(policy)` points a policy at them: the quickest way to try `Router`
with no Ollama, no keys and no network (see README.md).
"""

from router.demo._chart import write_demo_chart
from router.demo._run import DemoSummary, run_demo
from router.demo._servers import SimulatedModels, simulated_models
from router.demo._table import render_table

__all__ = [
    "DemoSummary",
    "SimulatedModels",
    "render_table",
    "run_demo",
    "simulated_models",
    "write_demo_chart",
]
