import numpy as np
import pytest

from salcheck.cli import main
from salcheck.cohort import load


def test_generate_writes_cohort_and_summary(tmp_path, capsys):
    out = tmp_path / "c"
    assert (
        main(
            [
                "generate",
                "homogeneous",
                str(out),
                "--image-size",
                "32",
                "--n-per-class",
                "20",
                "--seed",
                "3",
            ]
        )
        == 0
    )
    line = capsys.readouterr().out
    assert "40 images of 32x32: CN/none=20, AD/none=1, AD/typical=17, AD/atypical=2" in line
    c = load(out)
    assert c.seed == 3 and len(c) == 40


def test_generate_caps_with_mix_and_random_draw(tmp_path):
    out = tmp_path / "caps"
    assert (
        main(
            [
                "generate",
                "test",
                str(out),
                "--image-size",
                "32",
                "--n-per-class",
                "5",
                "--mix",
                "0.2",
                "0.4",
                "0.4",
                "--draw",
                "random",
                "--smoothing",
                "--format",
                "caps",
            ]
        )
        == 0
    )
    assert (out / "data.tsv").exists()
    assert load(out).images.shape == (10, 1, 32, 32)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generate", "tiny", "X"], "unknown preset 'tiny'"),
        (["generate", "test", "X", "--image-size", "40"], "image_size=40"),
        (["generate", "test", "X", "--n-per-class", "0"], "n_per_class=0"),
        (["generate", "test", "X", "--mix", "0.1", "0.1", "0.1"], "summing to 1"),
    ],
)
def test_generate_bad_input_exits_nonzero(tmp_path, capsys, args, message):
    args = [a.replace("X", str(tmp_path / "o")) for a in args]
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_generate_refuses_non_empty_outdir(tmp_path, capsys):
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "x").write_text("x")
    assert main(["generate", "test", str(tmp_path / "o"), "--image-size", "32"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (
        main(
            [
                "generate",
                "test",
                str(tmp_path / "o"),
                "--image-size",
                "32",
                "--n-per-class",
                "2",
                "--overwrite",
            ]
        )
        == 0
    )
    assert np.isfinite(load(tmp_path / "o").images).all()


def test_a_plan_without_training_keeps_only_the_evaluations_of_held_models(tmp_path, tiny):
    """`report --run --evaluate-only`: evaluations of the models the store holds, no training."""
    from salcheck.engine.plan import cells_plan
    from salcheck.store.files import Store

    store = Store(tmp_path)
    plan = cells_plan(tiny, [("homogeneous", "default")], methods=["vanilla"])
    assert plan.trained_only(store).tasks == ()  # no model held: nothing to do, nothing trained
    spec = plan.models()[0]
    history = [{"epoch": 1, "train_loss": 0.6, "val_loss": 0.5, "val_balanced_accuracy": 0.75}]
    from salcheck.store.records import ModelResult

    record = ModelResult(spec=spec, status="done", history=history, best_epoch=1, weights_sha256="x")
    store.put("models", spec.key(), record.to_dict())
    kept = plan.trained_only(store).tasks
    assert kept and {t.spec for t in kept} == {spec} and all(t.part != "model" for t in kept)
