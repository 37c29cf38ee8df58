"""Privacy detectors: find personal data and secrets in prompts, redact and restore them.

`scan(text)` finds emails, phone numbers, payment cards (Luhn), US SSNs, IBANs (mod 97), IP
addresses and secrets, through simple obfuscation (zero-width characters, fullwidth digits,
separators inside numbers, `at`/`dot` spelled out). `classify_request(policy, texts)` turns the
findings into the action the policy sets; `redact` and `restore` swap values for placeholders
and back. Findings and decisions never hold the values themselves.
"""

from router.privacy._decision import PrivacyDecision, classify_request
from router.privacy._redact import Redactions, redact, redact_all, restore
from router.privacy._scan import scan
from router.privacy._types import ACTION_ORDER, PII_CLASSES, Finding, PiiAction, PiiClass

__all__ = [
    "ACTION_ORDER",
    "PII_CLASSES",
    "Finding",
    "PiiAction",
    "PiiClass",
    "PrivacyDecision",
    "Redactions",
    "classify_request",
    "redact",
    "redact_all",
    "restore",
    "scan",
]
