"""The public API: re-exported from `router`, listed in a sorted `__all__`, typed."""

from __future__ import annotations

from pathlib import Path

import router
import router.backends
import router.policy
import router.testing


def test_all_is_sorted_and_importable():
    for module in (router, router.backends, router.policy, router.testing):
        assert list(module.__all__) == sorted(module.__all__), module.__name__
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_package_is_typed():
    assert (Path(router.__file__).parent / "py.typed").is_file()


def test_any_object_with_score_methods_is_a_classifier():
    class Fixed:
        def score(self, prompt, response=None):
            return 0.9

        def score_batch(self, prompts, responses=None):
            return [0.9 for _ in prompts]

    assert isinstance(Fixed(), router.Classifier)
