import json
import os

import numpy as np
from click.testing import CliRunner
from conftest import IMAGES, LJ

from ditas_tf.cli import main


def test_eval_two_models_one_table(tmp_path):
    out = tmp_path / "ev"
    args = [
        "eval",
        "--model",
        "default",
        "--model",
        "quiet",
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
    for name, target in (("default", 10.0), ("quiet", 22.0)):
        m = report["models"][name]
        g = m["groups"]["set5 x LJSpeech-1.1:LJ002-01"]
        assert g["mean"]["count"] == 2 and len(g["images"]) == 2
        # 16-bit rounding moves the SNR only a little away from the model's fixed target.
        assert abs(g["mean"]["snr_db"] - target) < 0.5
        assert 1.0 <= g["mean"]["pesq"] <= 4.65
        assert set(g["mean"]["per_stage"]) == {f"C{i}" for i in range(1, 6)}
        row = g["images"][0]
        assert np.isclose(row["psnr"], row["stages"]["C5"]["psnr"])
        assert set(row["lost_subsequence"]) == {f"S{j}" for j in range(1, 6)}
    table = (out / "table.md").read_text()
    assert "| default |" in table and "| quiet |" in table and "PESQ" in table
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
