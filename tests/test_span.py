"""Span metrics on constructed cases: a known modification gives a known SNR."""

import numpy as np
import pytest

from ditas_tf.audio import pcm16_roundtrip
from ditas_tf.span import MIN_GAP_SECONDS, carrying_segments, carrying_span, snr_db, span_metrics


def test_known_modification_gives_known_span_and_file_snr(speech_16k):
    cover = pcm16_roundtrip(speech_16k[: 16000 * 4]).astype(np.float64)
    a, b = 16000, 16000 + 4096
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(b - a)
    # Exactly -20 dB under the cover over [a, b), and nothing elsewhere.
    noise *= np.sqrt(np.sum(cover[a:b] ** 2) / np.sum(noise**2) / 100.0)
    container = cover.copy()
    container[a:b] += noise
    m = span_metrics(cover, container, with_pesq=False)
    assert carrying_span(cover, container) == (a, b)
    assert m["span_seconds"] == pytest.approx(4096 / 16000)
    assert m["span_start_s"] == pytest.approx(1.0)
    assert m["span_snr_db"] == pytest.approx(20.0, abs=1e-9)
    dilution = 10 * np.log10(np.sum(cover**2) / np.sum(cover[a:b] ** 2))
    assert m["file_snr_db"] == pytest.approx(20.0 + dilution, abs=1e-9)
    assert dilution > 3  # the whole-file figure is flattered by untouched audio


def test_untouched_audio_outside_the_span_does_not_change_span_figures(speech_16k):
    whole = pcm16_roundtrip(speech_16k[: 16000 * 5]).astype(np.float64)
    a, b = 16000, 48000
    mod = np.zeros_like(whole)
    mod[a + 8000 : a + 24384] = 0.01 * np.sin(np.arange(16384))
    # The same modification, measured on a cut of the file and on the whole file with more speech around it.
    short = span_metrics(whole[a:b], whole[a:b] + mod[a:b])
    padded = span_metrics(whole, whole + mod)
    assert short["span_snr_db"] == pytest.approx(padded["span_snr_db"], abs=1e-9)
    assert np.isfinite(short["span_pesq_wb"])
    assert short["span_pesq_wb"] == pytest.approx(padded["span_pesq_wb"], abs=1e-6)
    assert padded["file_snr_db"] > short["file_snr_db"]


def test_gain_of_the_hider_is_divided_out(speech_16k):
    cover = pcm16_roundtrip(speech_16k[: 16000 * 2]).astype(np.float64)
    container = cover.copy()
    container[4000:8096] += 0.003
    m = span_metrics(cover, container * 0.8, gain=0.8, with_pesq=False)
    assert m["span_seconds"] == pytest.approx(4096 / 16000)
    assert m["span_snr_db"] == pytest.approx(snr_db(cover[4000:8096], container[4000:8096]), abs=1e-9)


def test_nothing_changed_gives_an_empty_span(speech_16k):
    cover = speech_16k[:16000]
    m = span_metrics(cover, cover.copy(), with_pesq=False)
    assert m["span_seconds"] == 0 and m["span_snr_db"] == float("inf")


def test_untouched_audio_between_two_runs_is_left_out_of_the_span(speech_16k):
    cover = pcm16_roundtrip(speech_16k[: 16000 * 4]).astype(np.float64)
    rng = np.random.default_rng(1)
    runs = [(4000, 4000 + 8192), (40000, 40000 + 8192)]  # 1.7 s of untouched speech between them
    container = cover.copy()
    for a, b, snr in ((*runs[0], 20.0), (*runs[1], 30.0)):
        noise = rng.standard_normal(b - a)
        noise *= np.sqrt(np.sum(cover[a:b] ** 2) / np.sum(noise**2) / 10 ** (snr / 10))
        container[a:b] += noise
    m = span_metrics(cover, container)
    assert carrying_segments(cover, container) == runs
    assert m["span_segments"] == 2 and m["span_start_s"] == pytest.approx(0.25)
    assert m["span_seconds"] == pytest.approx(2 * 8192 / 16000)
    # The SNR over the two runs joined: their cover energy over their modification energy.
    c = np.concatenate([cover[a:b] for a, b in runs])
    e = np.concatenate([container[a:b] - cover[a:b] for a, b in runs])
    assert m["span_snr_db"] == pytest.approx(10 * np.log10(np.sum(c**2) / np.sum(e**2)), abs=1e-9)
    first_to_last = snr_db(cover[runs[0][0] : runs[1][1]], container[runs[0][0] : runs[1][1]])
    assert m["span_snr_db"] < first_to_last - 1.0  # the gap would have flattered it
    joined = np.concatenate([container[a:b] for a, b in runs])
    assert m["span_pesq_wb"] == pytest.approx(span_metrics(c, joined)["span_pesq_wb"], abs=1e-6)
    # A gap shorter than MIN_GAP_SECONDS does not split a run.
    container[20000:20100] = cover[20000:20100]
    assert len(carrying_segments(cover, container)) == 2
    short = cover.copy()
    short[1000:9000] += 0.01
    short[9000 + int(MIN_GAP_SECONDS * 16000) - 1 : 12000] += 0.01
    assert len(carrying_segments(cover, short)) == 1
