import json
import os

import numpy as np
from click.testing import CliRunner
from conftest import IMAGES, LJ

from ditas_tf.cli import main

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_eval_two_models_one_table(tmp_path):
    out = tmp_path / "ev"
    args = [
        "eval",
        "--model",
        "default",
        "--model",
        os.path.join(REPO, "checkpoints", "quiet"),  # the retired white model, as a run folder
        "--images",
        os.path.join(IMAGES, "test", "set5"),
        "--audio",
        LJ,
        "--audio-select",
        "LJ002-01",
        "--out",
        str(out),
        "--max-images",
        "2",
    ]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    report = json.load(open(out / "metrics.json"))
    assert report["protocol"]["wav_roundtrip_16bit"] is True
    assert "centre-crop" in report["protocol"]["image_protocol"]
    assert set(report["models"]) == {"default", "quiet"}
    pesq = {}
    for name in ("default", "quiet"):
        target = report["models"][name]["config"]["target_snr_db"]
        m = report["models"][name]
        g = m["groups"]["set5 x LJSpeech-1.1:LJ002-01"]
        assert g["mean"]["count"] == 2 and len(g["images"]) == 2
        # 16-bit rounding and the sync pilot move the SNR only a little away from the model's fixed target.
        assert abs(g["mean"]["subsequence_snr_db"] - target) < 0.5
        # The span is the run itself: its SNR is the subsequences', the whole file's is diluted.
        assert abs(g["mean"]["span_snr_db"] - g["mean"]["subsequence_snr_db"]) < 0.2
        assert g["mean"]["file_snr_db"] > g["mean"]["span_snr_db"] + 1.0
        assert g["mean"]["file_pesq_wb"] > g["mean"]["span_pesq_wb"]
        assert all(abs(r["sync_offset_error"]) < 0.1 for r in g["images"])
        pesq[name] = g["mean"]["span_pesq_wb"]
        row = g["images"][0]
        k = row["hidden_stages"]  # what hide chose for this cover: every C_i and S_j up to it
        assert 3 <= k <= m["stages"] and len(row["stages"]) == k
        assert set(g["mean"]["per_stage"]) == {
            f"C{i}" for i in range(1, max(r["hidden_stages"] for r in g["images"]) + 1)
        }
        assert np.isclose(row["psnr"], row["stages"][f"C{k}"]["psnr"])
        assert set(row["lost_subsequence"]) == {f"S{j}" for j in range(1, k + 1)}
    # The masked default is far less audible than the retired white model at a similar SNR.
    assert pesq["default"] > pesq["quiet"] + 0.5, pesq
    table = (out / "table.md").read_text()
    assert "| default |" in table and "| quiet |" in table and "span PESQ-WB" in table
    for fig in ("stages.png", "lost_subsequence.png", "intermediate_default.png", "spectrograms_quiet.png"):
        assert (out / fig).stat().st_size > 1000


def test_eval_without_wav_roundtrip(tmp_path):
    out = tmp_path / "ev"
    r = CliRunner().invoke(
        main,
        [
            "eval",
            "--model",
            "default",
            "--images",
            os.path.join(IMAGES, "test", "set5"),
            "--audio",
            os.path.join(os.path.dirname(LJ), "timit"),
            "--out",
            str(out),
            "--max-images",
            "1",
            "--no-wav",
            "--stages",
            "3",
        ],
    )
    assert r.exit_code == 0, r.output
    report = json.load(open(out / "metrics.json"))
    assert report["protocol"]["wav_roundtrip_16bit"] is False
    m = report["models"]["default"]
    assert m["stages"] == 3 and set(m["overall"]["per_stage"]) == {"C1", "C2", "C3"}


def test_eval_a_trained_baseline_run_folder(tmp_path, lj_tree, voc_tree):
    from ditas_tf.cli import train_main

    run = tmp_path / "deep_steg"
    args = [
        "--config",
        "smoke",
        "--model-dir",
        str(run),
        "--images",
        voc_tree,
        "--audio",
        lj_tree,
        "--set",
        "model.variant=deep-steg",
        "--steps",
        "1",
        "--no-progress",
    ]
    r = CliRunner().invoke(train_main, args)
    assert r.exit_code == 0, r.output
    out = tmp_path / "ev"
    r = CliRunner().invoke(
        main,
        [
            "eval",
            "--model",
            str(run),
            "--images",
            os.path.join(IMAGES, "test", "set5"),
            "--audio",
            lj_tree,
            "--out",
            str(out),
            "--max-images",
            "2",
        ],
    )
    assert r.exit_code == 0, r.output
    m = json.load(open(out / "metrics.json"))["models"]["deep_steg"]
    # A single-stage baseline has one cumulative output, over all t subsequences.
    assert set(m["overall"]["per_stage"]) == {"C1"}
    assert set(m["groups"]["set5 x LJSpeech-1.1"]["images"][0]["lost_subsequence"]) == {"S1", "S2"}


def test_eval_skips_a_cover_too_short_for_the_model(tmp_path, lj_tree, voc_tree):
    import soundfile as sf

    from ditas_tf.cli import train_main

    run = tmp_path / "t8"
    args = ["--config", "smoke", "--model-dir", str(run), "--images", voc_tree, "--audio", lj_tree]
    args += ["--set", "model.stages=8", "--steps", "1", "--no-progress"]
    r = CliRunner().invoke(train_main, args)
    assert r.exit_code == 0, r.output
    covers = tmp_path / "covers"
    covers.mkdir()
    x, rate = sf.read(os.path.join(LJ, "wavs", "LJ002-0001.wav"), dtype="float32")
    sf.write(covers / "a_long.wav", x, rate)
    # 0.1 s of speech: fewer usable 256-sample slots than the 8 stages need, but room for some;
    # 0.02 s: not even room for the fewest stages hide picks on its own (3).
    sf.write(covers / "b_short.wav", x[rate : rate + rate // 10], rate)
    sf.write(covers / "c_tiny.wav", x[rate : rate + rate // 50], rate)
    out = tmp_path / "ev"
    args = ["eval", "--model", str(run), "--images", os.path.join(IMAGES, "test", "set5"), "--audio", str(covers)]
    r = CliRunner().invoke(main, args + ["--out", str(out), "--max-images", "4"])
    assert r.exit_code == 0, r.output
    m = json.load(open(out / "metrics.json"))["models"]["t8"]
    rows = m["groups"]["set5 x covers"]["images"]
    assert [r["cover"] for r in rows] == ["a_long.wav", "b_short.wav", "a_long.wav"]  # images 0, 1 and 3
    assert [r["hidden_stages"] for r in rows][::2] == [8, 8] and 3 <= rows[1]["hidden_stages"] < 8
    assert len(rows[1]["stages"]) == rows[1]["hidden_stages"]  # revealed from what the pilot told
    assert len(m["skipped"]) == 1 and "c_tiny.wav" in m["skipped"][0]["cover"]
    assert "too short" in m["skipped"][0]["reason"], m["skipped"][0]["reason"]
    # C_8 is the mean over the pairs that carry 8 stages.
    assert m["overall"]["per_stage"]["C8"]["count"] == 2 and m["overall"]["per_stage"]["C1"]["count"] == 3
    assert np.isfinite(m["overall"]["psnr"])
