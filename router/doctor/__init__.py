"""`router doctor`: is this machine ready for a policy, before its first request?

`check_setup(policy)` (or `await acheck_setup(policy)`) checks that Ollama answers and has the
local model (`/api/tags`), that every frontier model the policy (or one of its team and app
overrides) may call has an API key, and that the ledger can be written. Nothing is sent to a
frontier model and nothing is spent. Each problem says how to fix it; `router demo --live` runs
the same checks and stops before the first request when one fails.
"""

from router.doctor._checks import Finding, SetupReport, acheck_setup, check_setup

__all__ = ["Finding", "SetupReport", "acheck_setup", "check_setup"]
