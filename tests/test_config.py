import pytest

from ditas_tf.config import PRESETS, load_config, read_config, save_config
from ditas_tf.errors import ConfigError


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_load_and_validate(preset):
    cfg = load_config([preset])
    assert cfg.model.stages >= 1
    assert len(cfg.lambdas()) == cfg.model.stages


def test_paper_preset_matches_paper():
    cfg = load_config(["paper"])
    m, t = cfg.model, cfg.train
    assert (m.stages, m.image_size, m.width, m.space_to_depth) == (5, 64, 64, 1)
    assert m.hiding_output == "container" and m.domain == "raw"
    assert t.batch_size == 16 and t.learning_rate == pytest.approx(1e-4)
    assert t.lr_decay_factor == 3.0 and cfg.lambdas() == [0.8] * 5
    assert (t.epochs, t.lr_decay_epochs) == (200, 20)
    assert t.steps == 10 * t.lr_decay_steps


def test_overrides_and_types():
    cfg = load_config(["smoke"], ["model.width=12", "train.lambdas=[0.5, 0.7]", "train.clip_norm=2"])
    assert cfg.model.width == 12
    assert cfg.lambdas() == [0.5, 0.7]
    assert cfg.train.clip_norm == 2.0


def test_unknown_key_names_valid_keys():
    with pytest.raises(ConfigError) as e:
        load_config(["smoke"], ["model.widht=3"])
    msg = str(e.value)
    assert "model.widht" in msg and "width" in msg and "res_blocks" in msg


def test_bad_values_are_named():
    with pytest.raises(ConfigError, match="model.variant"):
        load_config(["smoke"], ["model.variant=Z"])
    with pytest.raises(ConfigError, match="model.width"):
        load_config(["smoke"], ["model.width=abc"])
    with pytest.raises(ConfigError, match="train.lambdas"):
        load_config(["smoke"], ["train.lambdas=[1,2,3]"])
    with pytest.raises(ConfigError, match="train.hiding_loss"):
        load_config(["smoke"], ["train.hiding_loss=loud"])
    with pytest.raises(ConfigError, match="train.nmr_offset_db"):
        load_config(["smoke"], ["train.hiding_loss=nmr", "train.nmr_offset_db=100"])
    with pytest.raises(ConfigError, match="neither a preset"):
        load_config(["no_such_preset"])
    with pytest.raises(ConfigError, match="unknown section"):
        load_config(["smoke"], ["modle.width=3"])


def test_save_and_read_roundtrip(tmp_path):
    cfg = load_config(["cpu"], ["train.steps=123"])
    path = tmp_path / "config.yaml"
    save_config(cfg, str(path))
    assert read_config(str(path)) == cfg


def test_every_preset_file_is_loadable_by_name():
    from importlib import resources

    files = {
        p.name[: -len(".yaml")] for p in (resources.files("ditas_tf") / "presets").iterdir() if p.name.endswith(".yaml")
    }
    assert files == set(PRESETS)


def test_robust_preset_is_cpu_plus_a_channel():
    cpu, robust = load_config(["cpu"]), load_config(["robust"])
    assert robust.model == cpu.model and robust.train == cpu.train and robust.data == cpu.data
    assert not cpu.channel.enabled and robust.channel.enabled
    assert robust.channel.bits == [8.0, 16.0] and robust.channel.codec_probability > 0


@pytest.mark.parametrize(
    "override, key",
    [
        ("channel.noise_probability=1.5", "channel.noise_probability"),
        ("channel.noise_snr_db=[40, 20]", "channel.noise_snr_db"),
        ("channel.lowpass_hz=[5000, 9000]", "channel.lowpass_hz"),
        ("channel.bits=[1, 16]", "channel.bits"),
        ("channel.gain_db=[-6]", "channel.gain_db"),
    ],
)
def test_bad_channel_values_are_named(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(["smoke"], [override])


def test_mask_values_are_checked():
    with pytest.raises(ConfigError, match="model.mask_exponent"):
        load_config(["cpu"], ["model.mask_exponent=3"])
    with pytest.raises(ConfigError, match="model.spread"):
        load_config(["smoke"], ["model.spread=true"])
    with pytest.raises(ConfigError, match="model.highpass_hz needs"):
        load_config(["smoke"], ["model.highpass_hz=150"])
    with pytest.raises(ConfigError, match=r"model.highpass_hz must be in \[0, 3250\)"):
        load_config(["cpu"], ["model.highpass_hz=4000"])
    assert load_config(["cpu10_spectral"], ["model.highpass_hz=150"]).model.highpass_hz == 150


def test_a_base_must_be_a_preset(tmp_path):
    p = tmp_path / "mine.yaml"
    p.write_text("base: nonsense\ntrain:\n  steps: 5\n")
    with pytest.raises(ConfigError, match="base must name another preset"):
        load_config([str(p)])
    p.write_text("base: smoke\ntrain:\n  steps: 5\n")
    cfg = load_config([str(p)])
    assert cfg.train.steps == 5 and cfg.model == load_config(["smoke"]).model


def test_train_help_names_every_preset():
    from click.testing import CliRunner

    from ditas_tf.cli import train_main

    out = CliRunner().invoke(train_main, ["--help"]).output
    listed = out.split("Preset (", 1)[1].split(")", 1)[0].replace("\n", " ")
    assert {p.strip() for p in listed.split(",")} == set(PRESETS)
