import math

import keras
import numpy as np
import pytest

import keras_reid
from keras_reid.training import EpochStepSchedule, get_recipe, list_recipes, recipe_for_architecture
from keras_reid.training.recipes import Recipe, architectures_without_recipe


def test_every_architecture_has_a_recipe_or_the_explicit_default():
    for arch in keras_reid.list_architectures():
        recipe = recipe_for_architecture(arch)
        assert recipe.architecture == arch
        if arch in architectures_without_recipe():
            assert "No recipe of its own" in recipe.notes
        else:
            assert recipe.sources, arch


def test_expected_recipes_and_their_sources():
    names = set(list_recipes())
    for name in ("resnet50_stra", "resnet50_stra_paper", "mobilenetv2", "mobilenetv2_stra", "hacnn", "pcb", "pcb_csa", "sa_pcb", "default"):
        assert name in names
    stra = get_recipe("resnet50_stra")
    assert (stra.optimizer, stra.lr, stra.batch_size, stra.weight_decay, stra.epochs) == ("adam", 3e-4, 32, 5e-4, 100)
    assert stra.fixbase_epochs == 8 and stra.image_size == (256, 128)
    assert stra.lr_gamma == 0.1 and get_recipe("resnet50_stra_paper").lr_gamma == 0.2
    assert stra.model_options["diversity_weight"] == 1.0
    # MobileNetV2 variants reuse the StRA schedule for a fair comparison.
    mb = get_recipe("mobilenetv2_stra")
    assert (mb.lr, mb.lr_milestones, mb.fixbase_epochs, mb.init_preset) == (stra.lr, stra.lr_milestones, 8, "mobilenetv2_imagenet")
    hacnn = get_recipe("hacnn")
    assert (hacnn.optimizer, hacnn.lr, hacnn.epochs, hacnn.lr_milestones, hacnn.image_size) == ("sgd", 0.03, 300, (150, 225), (160, 64))
    for recipe in (get_recipe(n) for n in list_recipes()):
        assert recipe.sources, recipe.name
        Recipe.from_dict(recipe.to_dict())  # JSON round trip


def test_open_layers_match_real_layer_names():
    for name in ("resnet50_stra", "mobilenetv2_stra"):
        recipe = get_recipe(name)
        model = keras_reid.build(recipe.architecture, num_classes=3, image_shape=(64, 32, 3), **recipe.model_options)
        from keras_reid.training import set_trainable

        set_trainable(model, recipe.open_layers)
        open_names = {layer.name for layer in model.network.layers if layer.trainable and layer.weights}
        assert "classifier" in open_names and "head_conv" in open_names
        assert "conv1" not in open_names and "features_0_conv" not in open_names
        assert any(n.startswith(("layer4_", "features_15")) for n in open_names)
        keras.backend.clear_session()


def test_unknown_recipe_suggests():
    with pytest.raises(ValueError, match="Did you mean resnet50_stra"):
        get_recipe("resnet50_sta")


@pytest.mark.parametrize(
    "epoch,expected",
    [(0, 3e-4), (19, 3e-4), (20, 3e-5), (39, 3e-5), (40, 3e-6), (60, 3e-7), (99, 3e-8)],
)
def test_stra_schedule_values(epoch, expected):
    recipe = get_recipe("resnet50_stra")
    sched = EpochStepSchedule(recipe.lr, 5, recipe.lr_milestones, recipe.lr_gamma)
    assert math.isclose(sched.lr_at_epoch(epoch), expected, rel_tol=1e-9)
    for step in (epoch * 5, epoch * 5 + 4):
        assert np.isclose(float(keras.ops.convert_to_numpy(sched(step))), expected, rtol=1e-5)


def test_warmup_and_paper_gamma():
    sched = EpochStepSchedule(3.5e-4, 10, [40, 90], 0.1, warmup_epochs=10, warmup_factor=0.1)
    assert math.isclose(sched.lr_at_epoch(0), 3.5e-5)
    assert math.isclose(sched.lr_at_epoch(5), 3.5e-4 * 0.55)
    assert math.isclose(sched.lr_at_epoch(10), 3.5e-4)
    assert np.isclose(float(keras.ops.convert_to_numpy(sched(55))), 3.5e-4 * 0.55, rtol=1e-5)
    paper = get_recipe("resnet50_stra_paper")
    assert math.isclose(EpochStepSchedule(paper.lr, 1, paper.lr_milestones, paper.lr_gamma).lr_at_epoch(45), 3e-4 * 0.04)


def test_cli_schedule_overrides_reach_the_recipe():
    from keras_reid.training.cli import build_parser

    args = build_parser().parse_args(
        ["--recipe", "mobilenetv2", "--dataset", "x", "--root", "r", "--output", "o", "--epochs", "6",
         "--lr-milestones", "5", "--fixbase-epochs", "1"]
    )
    assert args.lr_milestones == [5] and args.fixbase_epochs == 1
