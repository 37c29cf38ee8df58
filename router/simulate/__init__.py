"""What-if: replay the ledger's recorded traffic under a candidate policy, without calling a model.

```python
from router.simulate import simulate

report = simulate("policies/cost-saver.yaml", ledger_url=None, since=None)
print(report.render())
report.actual.spend_usd, report.candidate.spend_usd    # exact Decimal USD
report.estimated                                       # requests resting on estimates, by why
```

See docs/simulate.md for how requests are replayed and what is estimated.
"""

from router.simulate._replay import ESTIMATES, price_table
from router.simulate._report import Figures, SimulationReport
from router.simulate._simulate import simulate

__all__ = ["ESTIMATES", "Figures", "SimulationReport", "price_table", "simulate"]
