"""The personal head (`ser_edge.model.personal`): prototypes that move the bundle's scores, and
the promises it keeps: a class nobody enrolled keeps the bundle's score, a clip far from every
prototype is left to the bundle, too little enrolment changes nothing."""

import numpy as np
import pytest

from ser_edge.errors import ConfigError
from ser_edge.model.personal import MIN_CLIPS, HeadSettings, PersonalHead, Scaling, head_vector

N = 4  # classes
D = 6  # functionals


def centres_of(rng, classes):
    """Class -> a random centre (D,): each class's voice differs from the others' in every dimension."""
    return {c: 2.0 * rng.standard_normal(D) for c in classes}


def clips(rng, centres, per_class, bundle=None):
    """Vectors of clips around ``centres`` (class -> (D,)), with the bundle's (uniform unless given) probabilities."""
    x, y = [], []
    for c, centre in centres.items():
        for _ in range(per_class):
            p = np.full(N, 1.0 / N) if bundle is None else bundle
            x.append(head_vector(centre + 0.5 * rng.standard_normal(D), p))
            y.append(c)
    return np.array(x), np.array(y)


def test_enrolled_prototypes_decide_between_enrolled_classes():
    rng = np.random.default_rng(0)
    centres = centres_of(rng, range(3))
    x, y = clips(rng, centres, 2)
    head = PersonalHead(x, y, N)
    assert head.active
    test, truth = clips(rng, centres, 10)
    assert (head.log_scores(test).argmax(axis=1) == truth).mean() >= 0.9  # the bundle alone says nothing


def test_a_class_nobody_enrolled_keeps_the_bundles_lead_for_a_clip_far_from_every_prototype():
    rng = np.random.default_rng(1)
    x, y = clips(rng, centres_of(rng, range(3)), 2)
    head = PersonalHead(x, y, N)
    bundle_says_3 = np.array([0.1, 0.1, 0.1, 0.7])
    far = head_vector(10.0 * np.ones(D), bundle_says_3)[None]
    p = head.probabilities(far)[0]
    assert p.argmax() == 3 and p[3] > 0.7  # the enrolled classes lost, the other one gained
    np.testing.assert_allclose(p.sum(), 1.0)


def test_too_little_enrolment_changes_nothing():
    rng = np.random.default_rng(2)
    x, y = clips(rng, {0: np.zeros(D), 1: np.ones(D)}, 1)  # 2 clips of 2 classes
    assert len(y) < MIN_CLIPS
    head = PersonalHead(x, y, N)
    assert not head.active
    test, _ = clips(rng, {0: np.zeros(D)}, 3, bundle=np.array([0.1, 0.6, 0.2, 0.1]))
    np.testing.assert_allclose(head.probabilities(test), np.tile([0.1, 0.6, 0.2, 0.1], (3, 1)), atol=1e-9)


def test_no_enrolment_at_all_is_the_bundle():
    head = PersonalHead(np.zeros((0, D + N)), [], N)
    v = head_vector(np.ones(D), np.array([0.4, 0.3, 0.2, 0.1]))[None]
    np.testing.assert_allclose(head.probabilities(v)[0], [0.4, 0.3, 0.2, 0.1], atol=1e-9)


def test_the_gain_grows_with_the_clips_of_a_class():
    rng = np.random.default_rng(3)
    centres = centres_of(rng, range(3))
    x, y = clips(rng, centres, 2)
    x5, y5 = clips(rng, centres, 5)
    one, five = PersonalHead(x, y, N), PersonalHead(x5, y5, N)
    assert (one.class_gain < five.class_gain).all() and (five.class_gain < HeadSettings().gain).all()


def test_scaling_floors_a_dimension_that_never_moved():
    x = np.array([[0.0, 1.0, 5.0], [2.0, 3.0, 5.0], [4.0, 5.0, 5.0]])
    s = Scaling.of(x)
    assert s.spread[2] > 0 and np.isfinite(s(x)).all()


@pytest.mark.parametrize("bad", [dict(gain=-1.0), dict(reach=float("nan")), dict(score_share=1.5)])
def test_bad_settings_are_named(bad):
    with pytest.raises(ConfigError, match=next(iter(bad))):
        HeadSettings(**bad)


def test_vectors_that_do_not_fit_the_classes_are_refused():
    with pytest.raises(ValueError, match="class indices"):
        PersonalHead(np.zeros((2, D + N)), [0, N], N)
