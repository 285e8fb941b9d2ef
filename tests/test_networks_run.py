"""Other networks through the whole pipeline on the tiny tier: the command line, the network
benchmark and the pytest plugin (a user's own network)."""

import json
import textwrap

import pytest

from salcheck.cli import main
from salcheck.store import tiers
from salcheck.store.files import Store
from salcheck.store.records import ModelResult

pytestmark = pytest.mark.slow  # trains networks

USER_NET = textwrap.dedent("""
    from torch import nn

    def tiny_cnn(image_size, n_classes):
        return nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(4),
            nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
            nn.Flatten(), nn.Linear(32, n_classes),
        )

    def ten_outputs(image_size, n_classes):
        return nn.Sequential(nn.Conv2d(1, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 10))
""")


def test_cli_runs_and_reports_a_monai_network(tmp_path, capsys, monkeypatch, tiny):
    pytest.importorskip("monai", reason="MONAI is optional: pip install 'salcheck[monai]'")
    monkeypatch.setitem(tiers.TIERS, "tiny", tiny)
    where = ["--tier", "tiny", "--network", "monai:DenseNet121", "--store", str(tmp_path / "s")]
    cells = ["--datasets", "homogeneous", "--variants", "default", "--workers", "1"]
    assert main(["run", *where, *cells]) == 0
    # a log (no terminal, no bar) still says where the run stands: each line counts the tasks
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("[")]
    total = len(lines)
    assert total > 1 and all(ln.startswith(f"[{k}/{total}, ") for k, ln in enumerate(lines, 1))
    assert all(" min] done   " in ln for ln in lines), lines
    models = [ModelResult.from_dict(e) for e in Store(tmp_path / "s").scan("models")[0]]
    assert models and all(m.spec.model == "monai:DenseNet121" and m.spec.network for m in models)
    assert all(m.status == "done" for m in models)
    assert main(["report", *where, "--out", str(tmp_path / "r")]) == 0
    text = (tmp_path / "r" / "tiny-monai-densenet121.md").read_text()
    assert "# salcheck report: tier `tiny` on network `monai:DenseNet121`" in text
    assert "salcheck report --tier tiny --network monai:DenseNet121" in text
    assert "| homogeneous | default | missing" not in text


def test_cli_refuses_a_bad_network_before_training(tmp_path, capsys, monkeypatch, tiny):
    (tmp_path / "badnets.py").write_text(USER_NET)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(tiers.TIERS, "tiny", tiny)
    store = tmp_path / "s"
    args = ["run", "--tier", "tiny", "--network", "badnets:ten_outputs@0", "--store", str(store)]
    assert main(args) == 2
    assert "network 'badnets:ten_outputs@0' returns (2, 10) for 2 images" in capsys.readouterr().err
    assert not Store(store).scan("models")[0]


@pytest.mark.filterwarnings("ignore::salcheck.errors.SilentEquivalenceWarning")
def test_network_benchmark_on_the_tiny_tier(tmp_path, capsys, monkeypatch, tiny):
    pytest.importorskip("monai", reason="MONAI is optional: pip install 'salcheck[monai]'")
    monkeypatch.setitem(tiers.TIERS, "tiny", tiny)
    args = ["networks", "--tier", "tiny", "--store", str(tmp_path / "s"), "--out", str(tmp_path / "r")]
    args += ["--networks", "convnet", "monai:ResNet10", "--methods", "vanilla", "monai-guided-backprop"]
    assert main([*args, "--run", "--workers", "1"]) == 0
    text = (tmp_path / "r" / "tiny-networks.md").read_text()
    assert "| `monai:ResNet10` | 4.90 M | `layer4` |" in text
    for net in ("convnet", "monai:ResNet10"):  # MONAI's rule follows names: no ReLU named relu
        assert (
            f"- on `{net}`: **Vanilla gradient** computes the same maps as **GuidedBackprop (MONAI)**"
            in text
        )
    assert "replaces the modules whose *name* contains `relu`" in text
    assert "| `monai:ResNet10` | Vanilla gradient | " in text and "F7-b-twice-b_dagger" in text
    assert "## Cost and provenance" in text


def test_plugin_runs_a_users_network(pytester):
    """``--salcheck-network MODULE:OBJECT@LAYER`` puts the property suite on a user's network."""
    pytester.makepyfile(usernets=USER_NET)
    pytester.makeconftest("""
        from salcheck.store import tiers
        from salcheck.store.tiers import Tier

        tiers.TIERS["tiny"] = Tier("tiny", 32, {"homogeneous": 12, "heterogeneous": 12, "large": 24},
                                   6, 1, 8, (0, 1))
    """)
    pytester.makepyfile(
        test_mine="""
        import json

        from salcheck.engine.plan import cells_plan
        from salcheck.store.view import ResultsView

        def test_on_my_network(salcheck_tier, salcheck_compute, salcheck_store, salcheck_method):
            assert salcheck_tier.network == "usernets:tiny_cnn@6"
            salcheck_compute(cells_plan(salcheck_tier, [("homogeneous", "default")]))
            view = ResultsView(salcheck_store, salcheck_tier, salcheck_method)
            spec = view.models("homogeneous")[0].spec
            a, b = view.values("homogeneous", "default", "a"), view.values("homogeneous", "default", "b")
            print("RESULT", json.dumps({"model": spec.model, "network": spec.network, "a": a, "b": b}))
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-s", "--salcheck-tier", "tiny",
        "--salcheck-network", "usernets:tiny_cnn@6", "--salcheck-store", str(pytester.path / "store"),
        "--salcheck-workers", "1",
    )  # fmt: skip
    result.assert_outcomes(passed=1)
    line = next(x for x in result.outlines if "RESULT " in x)
    got = json.loads(line.split("RESULT ", 1)[1])
    assert got["model"] == "usernets:tiny_cnn@6" and len(got["network"]) == 64
    assert len(got["a"]) == 2 and len(got["b"]) == 2


@pytest.mark.filterwarnings("ignore::salcheck.errors.SilentEquivalenceWarning")
def test_monai_methods_in_the_method_benchmark(tmp_path, capsys, monkeypatch, tiny):
    pytest.importorskip("monai", reason="MONAI is optional: pip install 'salcheck[monai]'")
    monkeypatch.setitem(tiers.TIERS, "tiny", tiny)
    args = ["benchmark", "--tier", "tiny", "--store", str(tmp_path / "s"), "--out", str(tmp_path / "r")]
    methods = ["vanilla", "monai-guided-backprop", "monai-smoothgrad"]
    assert main([*args, "--methods", *methods, "--run", "--workers", "1"]) == 0
    text = (tmp_path / "r" / "tiny-methods.md").read_text()
    assert "**Vanilla gradient** computes the same maps as **GuidedBackprop (MONAI)**" in text
    assert "replaces the modules whose *name* contains `relu`" in text
    card = (tmp_path / "r" / "tiny-methods" / "smoothgrad-monai.md").read_text()
    assert card.startswith("# Saliency card: SmoothGrad (MONAI)") and "`monai-smoothgrad`" in card
