import importlib
import sys
import textwrap

import pytest
from captum.attr import IntegratedGradients, Saliency

from salcheck.errors import InvalidArgument
from salcheck.saliency import RandomMap, VanillaGradient
from salcheck.saliency.captum_adapter import CaptumMethod
from salcheck.saliency.resolve import method_fingerprint, method_name, resolve_method

SOURCE = textwrap.dedent("""
    from salcheck.saliency import SaliencyMethod

    class Mine(SaliencyMethod):
        name = "mine"

        def attribute_batch(self, model, x, target, *, offset):
            return x * {factor}
""")


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A user's method in an importable module whose source the test can edit."""
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "user_methods_fp.py"

    def write(factor: float):
        path.write_text(SOURCE.format(factor=factor))
        sys.modules.pop("user_methods_fp", None)
        importlib.invalidate_caches()
        return importlib.import_module("user_methods_fp").Mine()

    yield write
    sys.modules.pop("user_methods_fp", None)


def test_fingerprint_follows_the_source_of_the_method(user_module):
    before = method_fingerprint(user_module(1.0))
    assert before == method_fingerprint(user_module(1.0))
    assert method_fingerprint(user_module(2.0)) != before


def test_fingerprint_follows_parameters_and_captum_classes():
    assert method_fingerprint(RandomMap(seed=1)) != method_fingerprint(RandomMap(seed=2))
    a = method_fingerprint(CaptumMethod(IntegratedGradients, n_steps=8))
    assert a != method_fingerprint(CaptumMethod(IntegratedGradients, n_steps=16))
    assert a != method_fingerprint(CaptumMethod(Saliency))


def test_methods_without_readable_source_have_no_fingerprint():
    namespace: dict = {"__name__": "__main__"}
    exec("class Local:\n    def attribute(self, model, x, target):\n        return x", namespace)
    assert method_fingerprint(namespace["Local"]()) is None

    class WithObject(VanillaGradient):
        pass

    m = WithObject()
    m.helper = object()  # shown with its memory address: no stable text
    assert method_fingerprint(m) is None


def test_resolve_method_names():
    assert isinstance(resolve_method("vanilla"), VanillaGradient)
    assert method_name(resolve_method("captum.attr:Saliency")) == "Saliency"
    with pytest.raises(InvalidArgument, match="unknown saliency method 'sal'"):
        resolve_method("sal")
    with pytest.raises(InvalidArgument, match="cannot import saliency method 'nope:X'"):
        resolve_method("nope:X")
    with pytest.raises(InvalidArgument, match="not a saliency method"):
        resolve_method("math:pi")


def test_methods_are_found_in_the_current_directory(tmp_path, monkeypatch):
    (tmp_path / "cwd_methods_mod.py").write_text(SOURCE.format(factor=1.0))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    assert method_name(resolve_method("cwd_methods_mod:Mine")) == "mine"
    sys.modules.pop("cwd_methods_mod", None)
