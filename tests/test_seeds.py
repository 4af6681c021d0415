"""The seeds helper and the per-epoch log."""
import math

import numpy as np
import pytest

from utils.seeds import difference, over_seeds, table


def test_mean_and_standard_error_match_numpy():
    runs = over_seeds("a", [0.80, 0.82, 0.87])
    assert runs.mean == pytest.approx(np.mean([0.80, 0.82, 0.87]))
    assert runs.sem == pytest.approx(np.std([0.80, 0.82, 0.87], ddof=1) / math.sqrt(3))
    assert str(runs) == "a: 0.830 ± 0.021 (3 seeds)"
    assert math.isnan(over_seeds("one", [0.5]).sem)


def test_a_small_difference_is_called_noise_and_a_large_one_is_not():
    a, b = over_seeds("a", [0.80, 0.82, 0.87]), over_seeds("b", [0.79, 0.83, 0.85])
    assert not difference(a, b).real
    assert "within the noise" in str(difference(a, b))
    c = over_seeds("c", [0.90, 0.91, 0.92])
    assert difference(c, a).real and "c is higher" in str(difference(c, a))
    assert "c is higher" in str(difference(a, c))        # the same verdict, either order
    tie = over_seeds("tie", [0.5, 0.5, 0.5])
    assert not difference(tie, tie, paired=True).real     # 0 ± 0 is no difference


def test_pairing_by_seed_removes_shared_noise():
    a = over_seeds("a", [0.70, 0.80, 0.90])
    b = over_seeds("b", [0.69, 0.79, 0.89])
    assert not difference(a, b).real          # independent: 0.01 against a spread of 0.1
    assert difference(a, b, paired=True).real  # every seed: exactly +0.01
    with pytest.raises(ValueError):
        difference(a, over_seeds("short", [0.5, 0.6]), paired=True)


def test_table_puts_the_best_first():
    text = table([over_seeds("low", [0.1, 0.2]), over_seeds("high", [0.8, 0.9])])
    rows = text.splitlines()
    assert rows[1].startswith("high") and rows[2].startswith("low")
    with pytest.raises(ValueError):
        over_seeds("empty", [])


def test_epoch_log_prints_one_line_per_epoch(capsys):
    keras = pytest.importorskip("keras")
    from utils.progress import EpochLog

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(np.zeros((8, 2)), np.zeros(8), epochs=3, verbose=0,
              callbacks=[EpochLog("demo", every=2)])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" · ")[1] for line in lines] == ["epoch 2/3", "epoch 3/3"]
    assert all(line.startswith("demo · ") and "loss" in line for line in lines)
