"""Reverberation from simulated rooms: a real decay, the clip's length and level kept, seeded, switchable."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pyroomacoustics", reason="reverberation needs the [train] extra (pyroomacoustics)")

from ser_train.features.augment import AugmentConfig, augment_audio  # noqa: E402
from ser_train.features.rooms import reverberate, room_impulse  # noqa: E402

RATE = 16000


def _decay_time_s(rir: np.ndarray) -> float:
    """Time for the backward-integrated energy (Schroeder) to fall by 20 dB, s (x3 ~ RT60)."""
    energy = np.cumsum(np.square(rir[np.argmax(np.abs(rir)):])[::-1])[::-1]
    db = 10 * np.log10(energy / energy[0] + 1e-20)
    return float(np.argmax(db < -20) / RATE)


def test_a_longer_rt60_gives_a_longer_decay():
    short = [_decay_time_s(room_impulse(np.random.default_rng(s), RATE, (0.15, 0.2))) for s in range(4)]
    long = [_decay_time_s(room_impulse(np.random.default_rng(s), RATE, (1.0, 1.2))) for s in range(4)]
    assert np.median(long) > 2 * np.median(short) > 0


def test_reverberate_keeps_length_level_and_onset():
    x = np.zeros(RATE, np.float32)
    x[4000:4400] = np.sin(np.arange(400) * 0.3) * 0.5
    y = reverberate(x, room_impulse(np.random.default_rng(0), RATE, (0.6, 0.6)))
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.sqrt(np.mean(y**2)) == pytest.approx(np.sqrt(np.mean(x**2)), rel=1e-4)
    assert np.max(np.abs(y[:3990])) < 1e-3  # aligned on the direct path: nothing before the onset
    assert np.sum(y[4400:] ** 2) > 0.05 * np.sum(y**2)  # a tail after the sound stops


def test_reverb_is_off_by_default_seeded_when_on_and_keeps_old_hashes():
    assert AugmentConfig().reverb_p == 0.0 and "reverb_p" not in AugmentConfig.default().to_dict()
    assert AugmentConfig.default().stable_hash() == "d308491c587fbd68"  # the cache key before reverb existed
    on = AugmentConfig.off().replace(reverb_p=1.0)
    assert on.to_dict()["reverb_rt60_s"] == (0.2, 0.8) and on.stable_hash() != AugmentConfig.off().stable_hash()
    assert AugmentConfig.from_dict(on.to_dict()) == on
    x = np.random.default_rng(1).normal(size=RATE).astype(np.float32) * 0.1
    a = augment_audio(x, rng=np.random.default_rng(5), config=on)
    b = augment_audio(x, rng=np.random.default_rng(5), config=on)
    assert np.array_equal(a, b) and not np.allclose(a, x)
    with pytest.raises(Exception, match="reverb_rt60_s"):
        AugmentConfig.off().replace(reverb_p=1.0, reverb_rt60_s=(0.5, 9.0))
