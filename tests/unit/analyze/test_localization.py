"""Localization scores by hand (all layers and band vs downstream) and the null baselines against their
known values, the sign-flip null, seed intervals and the summary (analyze/localization/)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analyze.localization.null import (
    describe,
    expected_random_auroc,
    null_draws,
    sign_flip,
    step_from_onset,
    versus,
)
from analyze.localization.scores import band_vs_downstream, score_against_mask, score_layers
from analyze.localization.summary import paired_difference, seed_interval, summarise
from evals.stats import auroc

BANDS_30 = ([4, 5, 6, 7], [13, 14, 15, 16], [22, 23, 24, 25])  # the embedded model's benchmark bands


def test_scores_against_a_known_mask():
    perfect = score_against_mask([0.0, 0.1, 0.9, 0.8, 0.0], [2, 3])
    # ranks: score [1.5, 3, 5, 4, 1.5], mask [2, 2, 4.5, 4.5, 2]; Pearson of ranks = 7.5 / sqrt(9.5 * 7.5)
    assert perfect["spearman"] == pytest.approx((7.5 / 9.5) ** 0.5) and perfect["auroc"] == 1.0
    assert perfect["peak_hit"] == 1.0 and perfect["peak_layers"] == [2]
    # onset and peak are separate: 0.1 >= 10% of the maximum 0.9, so the onset is layer 1, not the band's 2
    assert perfect["onset_layer"] == 1 and perfect["onset_hit"] == 0.0
    wrong = score_against_mask([1.0, 0.0, 0.0, 0.0], [2, 3])
    # pairs (band, other): (2,0) lose, (2,1) tie, (3,0) lose, (3,1) tie -> (0 + 0.5 + 0 + 0.5) / 4
    assert wrong["peak_hit"] == 0.0 and wrong["auroc"] == pytest.approx(0.25)
    zero = score_against_mask([0.0] * 4, [1])
    assert zero["spearman"] is None and zero["auroc"] == 0.5 and zero["onset_layer"] is None


def test_ties_at_the_peak_count_one_over_k():
    """A step from the band's first layer ties every later layer at the maximum: 2 of the 4 tied
    layers are in the band, so it scores 1/2, not a hit for taking the first maximum."""
    step = score_against_mask([0.0, 0.0, 1.0, 1.0, 1.0, 1.0], [2, 3])
    assert step["peak_layers"] == [2, 3, 4, 5] and step["peak_hit"] == 0.5 and step["onset_hit"] == 1.0
    assert score_against_mask([0.5] * 5, [1, 2])["peak_hit"] == pytest.approx(2 / 5)
    # equal up to float noise (below 1e-6 of the range) is a tie too
    assert score_against_mask([0.0, 1.0, 1.0 - 1e-9, 0.2], [2])["peak_hit"] == 0.5


def test_vectorised_scores_match_sklearn_and_scipy():
    rng = np.random.default_rng(1)
    draws = rng.integers(0, 4, size=(50, 9)).astype(float)  # small integers: many ties
    band = [3, 4, 5]
    scores = score_layers(draws, band)
    for i, s in enumerate(draws):
        outside = [v for layer, v in enumerate(s) if layer not in band]
        assert scores["auroc"][i] == pytest.approx(auroc(list(s[band]), outside))
        mask = [int(layer in band) for layer in range(9)]
        expected = stats.spearmanr(s, mask).statistic if len(set(s)) > 1 else np.nan
        np.testing.assert_allclose(scores["spearman"][i], expected, atol=1e-12)


def test_random_after_onset_null_reproduces_the_known_values():
    """On a 30-layer model: AUROC about 0.58 / 0.75 / 0.92 (mean 0.75), mean Spearman about +0.35."""
    draws = 20000
    sims = [null_draws(30, band, 1, draws, seed=i)["random_after_onset"] for i, band in enumerate(BANDS_30)]
    for band, sim, known in zip(BANDS_30, sims, (0.58, 0.75, 0.92), strict=True):
        exact = expected_random_auroc(30, band)
        assert exact == pytest.approx(known, abs=0.005)
        error = 4 * sim["auroc"].std() / draws**0.5  # four standard errors of the simulated mean
        assert sim["auroc"].mean() == pytest.approx(exact, abs=error)
        # the maximum is one of the 30 - b0 iid layers from the onset on: P(in band) = 4 / (30 - b0)
        assert sim["peak_hit"].mean() == pytest.approx(4 / (30 - band[0]), abs=0.015)
    assert np.mean([sim["auroc"].mean() for sim in sims]) == pytest.approx(0.75, abs=0.005)
    assert np.mean([sim["spearman"].mean() for sim in sims]) == pytest.approx(0.35, abs=0.01)


def test_step_from_onset_null_is_exact():
    for band in BANDS_30:
        step = {k: float(v[0]) for k, v in null_draws(30, band, 3, 100)["step_from_onset"].items()}
        assert step["auroc"] == pytest.approx(expected_random_auroc(30, band))
        assert step["peak_hit"] == pytest.approx(4 / (30 - band[0]))  # every layer from the onset on ties
        assert step["onset_hit"] == 1.0
    assert list(step_from_onset(6, [2, 3])) == [0, 0, 1, 1, 1, 1]


def test_seed_intervals_and_comparison_with_the_null():
    ci = seed_interval([0.6, 0.7, 0.8])
    half = stats.t.ppf(0.975, 2) * 0.1 / 3**0.5
    assert ci == pytest.approx({"mean": 0.7, "low": 0.7 - half, "high": 0.7 + half, "n": 3})
    assert seed_interval([0.0, 1.0, 1.0], (0.0, 1.0))["high"] == 1.0  # clipped to the score's range
    assert seed_interval([0.4, None]) == {"mean": 0.4, "low": None, "high": None, "n": 1}
    assert versus(0.5, np.array([0.1, 0.5, 0.9, 0.2])) == pytest.approx({"margin": 0.075, "beats": 0.625})


def test_summary_puts_every_row_beside_the_nulls():
    """Three seeds of a perfect score and of a step from the band's first layer: the step scores
    exactly what the step null does and beats the random null only on AUROC's tail."""
    n_layers, bands = 30, [list(b) for b in BANDS_30]
    perfect = [[score_against_mask([float(layer in b) for layer in range(n_layers)], b)] * 3 for b in bands]
    step = [[score_against_mask(list(step_from_onset(n_layers, b)), b)] * 3 for b in bands]
    summary = summarise({"perfect": perfect, "step": step}, bands, n_layers, draws=4000)
    assert set(summary["nulls"]) == {"4-7", "13-16", "22-25", "mean"}
    assert summary["nulls"]["mean"]["random_after_onset"]["auroc"]["mean"] == pytest.approx(0.75, abs=0.01)
    assert summary["nulls"]["4-7"]["random_after_onset"]["auroc"]["draws"] == 4000
    cell = summary["rows"]["perfect"]["mean"]["auroc"]
    assert cell["mean"] == 1.0 and cell["n"] == 3 and cell["vs"]["random_after_onset"]["beats"] > 0.99
    for name in ("4-7", "13-16", "22-25", "mean"):
        for score in ("auroc", "peak_hit", "onset_hit"):
            assert summary["rows"]["step"][name][score]["vs"]["step_from_onset"]["margin"] == pytest.approx(0)


def test_band_vs_downstream_drops_the_free_credit_before_the_band():
    """Scores over the layers from the band's first on only, by hand."""
    s = [0.0, 0.0, 0.9, 0.1, 0.5, 0.3]
    # all layers: 0.9 beats all 4 others, 0.1 beats the two 0s and loses to 0.5, 0.3 -> (4 + 2) / 8
    # from layer 2 on: [0.9, 0.1 | 0.5, 0.3]: 0.9 wins twice, 0.1 loses twice -> 2 / 4
    assert score_layers(s, [2, 3])["auroc"][0] == 0.75
    down = band_vs_downstream(s, [2, 3])
    # ranks [4, 1, 3, 2] centred [1.5, -1.5, 0.5, -0.5] against the centred mask [.5, .5, -.5, -.5]: 0
    assert down["auroc"][0] == 0.5 and down["spearman"][0] == pytest.approx(0.0)
    # a signed difference: [0.2, -0.1 | 0.05, -0.3] -> 3 of 4 pairs; reversed, 1 - that
    d = np.array([0.0, 0.0, 0.2, -0.1, 0.05, -0.3])
    assert band_vs_downstream(d, [2, 3])["auroc"][0] == 0.75 and band_vs_downstream(-d, [2, 3])["auroc"][0] == 0.25
    assert score_against_mask(d, [2, 3])["auroc"] == pytest.approx(5 / 8)  # 0.2 beats 4; -0.1 beats -0.3 only
    # a step from the band's first layer: 0.75 over all layers, a coin (all tied) from the band on
    step = score_against_mask([0.0, 0.0, 1.0, 1.0, 1.0, 1.0], [2, 3])
    assert step["auroc"] == 0.75 and step["auroc_downstream"] == 0.5 and step["spearman_downstream"] is None
    # a band that reaches the last layer has nothing downstream; a band from layer 0 changes nothing
    assert score_against_mask([0.0, 1.0, 2.0], [1, 2])["auroc_downstream"] is None
    first = score_against_mask([0.3, 0.9, 0.1, 0.2], [0, 1])
    assert first["auroc_downstream"] == first["auroc"] and first["spearman_downstream"] == first["spearman"]


def test_band_vs_downstream_matches_sklearn_on_the_layers_from_the_band_on():
    rng = np.random.default_rng(2)
    draws = rng.integers(0, 4, size=(50, 9)).astype(float)
    draws[:, :3] = 0.0
    band = [3, 4, 5]
    down = band_vs_downstream(draws, band)
    for i, s in enumerate(draws):
        assert down["auroc"][i] == pytest.approx(auroc(list(s[3:6]), list(s[6:])))


def test_nulls_score_a_half_band_vs_downstream():
    for band in BANDS_30:
        sims = null_draws(30, band, 3, 4000, seed=1)
        assert sims["step_from_onset"]["auroc_downstream"][0] == 0.5
        assert np.isnan(sims["step_from_onset"]["spearman_downstream"][0])  # constant from the onset on
        random = sims["random_after_onset"]
        assert random["auroc_downstream"].mean() == pytest.approx(0.5, abs=4 * random["auroc_downstream"].std() / 63)
    assert describe(np.array([np.nan]))["mean"] is None and versus(0.5, np.array([np.nan])) is None


def test_sign_flip_null_by_hand():
    # x = [.2, .1, .4]: the 8 flips' sums are +-.7, +-.5, +-.3, +-.1; only +-.7 are as far out as .7
    flip = sign_flip([0.7, 0.6, 0.9], centre=0.5)
    assert flip == pytest.approx({"mean": 0.7333333, "centre": 0.5, "p": 0.25, "flips": 8})
    assert sign_flip([0.6, 0.4], 0.5)["p"] == 1.0
    assert sign_flip([0.5] * 4, 0.0)["p"] == 2 / 16  # the smallest p of 4 values: 2 of 16 flips


def test_summary_compares_each_row_with_its_random_lora_row_paired_by_seed():
    bands = [[1, 2], [4, 5]]

    def two_seeds(first: list[float], second: list[float]) -> list[list[dict]]:
        return [[score_against_mask(first, bands[0])] * 2, [score_against_mask(second, bands[1])] * 2]

    row = two_seeds([0, 1.0, 1.0, 0.2, 0.1, 0.0], [0, 0, 0, 0, 1.0, 0.5])
    null = two_seeds([0, 0.2, 0.1, 1.0, 0.5, 0.3], [0, 0, 0, 0, 0.2, 1.0])
    summary = summarise({"m": row, "m [random LoRA]": null}, bands, 6, draws=1000, null_rows={"m": "m [random LoRA]"})
    vs = summary["rows"]["m"]["1-2"]["auroc"]["vs"]["random_lora"]
    # row: the band wins every pair (1); null: 0.2 and 0.1 each beat only the 0 of the four others (2 / 8)
    assert vs == pytest.approx({"margin": 0.75, "low": 0.75, "high": 0.75, "n": 2})
    assert "random_lora" not in summary["rows"]["m [random LoRA]"]["mean"]["auroc"]["vs"]
    assert paired_difference([0.5, None], [0.25, 0.1], "auroc") == {"margin": 0.25, "low": None, "high": None, "n": 1}
