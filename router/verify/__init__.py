"""Answer verification: judge a local answer before it is returned, or escalate.

Verifiers are small composable pieces (like tenacity's stop/wait): `a & b` needs both,
`a | b` either, and `as_verifier` turns a plain callable `(ctx) -> bool | Verdict` into one.
`run_verifiers` runs one within a latency budget; `build_verifiers` builds one from a policy's
`verify:` section. Nothing here imports the classifier or any model library. See
docs/verification.md.
"""

from router.verify._compose import (
    AllOf,
    AnyOf,
    Check,
    Verifier,
    VerifierLike,
    as_verifier,
)
from router.verify._consistency import final_answer, self_consistency
from router.verify._context import LocalCall, VerifyContext
from router.verify._format import python_parses, valid_json
from router.verify._offline import (
    OfflineSummary,
    OfflineVerdict,
    averify_rows,
    summarise,
    verify_rows,
)
from router.verify._posthoc import Scorer, posthoc_score
from router.verify._registry import (
    build_verifiers,
    checked_content,
    judges_content,
    verifier_names,
)
from router.verify._run import VerificationResult, run_verifiers
from router.verify._self_check import self_check, yes_probability
from router.verify._structural import (
    no_degenerate_repetition,
    not_empty,
    not_refusal,
    not_truncated,
    structural,
)
from router.verify._tools import valid_tool_calls
from router.verify._verdict import Verdict, VerifierError, failed, passed

__all__ = [
    "AllOf",
    "AnyOf",
    "Check",
    "LocalCall",
    "OfflineSummary",
    "OfflineVerdict",
    "Scorer",
    "Verdict",
    "VerificationResult",
    "Verifier",
    "VerifierError",
    "VerifierLike",
    "VerifyContext",
    "as_verifier",
    "averify_rows",
    "build_verifiers",
    "checked_content",
    "failed",
    "final_answer",
    "judges_content",
    "no_degenerate_repetition",
    "not_empty",
    "not_refusal",
    "not_truncated",
    "passed",
    "posthoc_score",
    "python_parses",
    "run_verifiers",
    "self_check",
    "self_consistency",
    "structural",
    "summarise",
    "valid_json",
    "valid_tool_calls",
    "verifier_names",
    "verify_rows",
    "yes_probability",
]
