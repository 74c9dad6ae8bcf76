"""Whether speaker statistics read from a file can be a speaker's at all (finite is not enough).

A file with ``sum1[0] = 1e300`` is finite JSON and loads, and would change every label while
`ser-edge adapt show` reported a healthy number of seconds. `implausible` says why statistics
cannot have been learnt by `ser_edge.frontend.normalise.RunningStats`, judged against the
model's prior with generous bounds (a speaker or a microphone far from the training speakers
passes; numbers that no audio can make do not):

* the weights: at most the prior's weight plus one full forgetting window
  (``adapt_prior_s + adapt_time_constant_s`` seconds), the prior's share at most
  ``adapt_prior_s``, and no more seconds of speech than were ever heard;
* each coefficient's mean within `MEAN_SPREAD` of the prior's standard deviations of the
  prior's mean, and its variance >= 0 (to rounding) and at most `VAR_RATIO` times the prior's.

The speaker's segment statistics (`saved_segments`, for a bundle with an utterance head) are
checked as `ser_edge.model.utterance.VectorStats.from_dict` reads them, at the front end's
vector length; unusable ones are dropped alone (the frame statistics stay).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ser_edge.frontend.functionals import vector_dims
from ser_edge.frontend.normalise import Prior, RunningStats
from ser_edge.model.utterance import VectorStats

#: how far a speaker's mean may lie from the prior's mean, in the prior's standard deviations
MEAN_SPREAD = 50.0
#: how many times the prior's variance a speaker's variance may be
VAR_RATIO = 1e4
#: slack for rounding in the sums, relative
_EPS = 1e-9


def implausible(stats: RunningStats, prior: Prior, params) -> str:
    """Why ``stats`` (n_mfcc coefficients) cannot be a speaker's statistics under ``prior`` and the
    feature parameters ``params``, in words; '' if they can."""
    most = params.adapt_prior_s + params.adapt_time_constant_s + 1.0
    if stats.weight > most:
        return f"weight {stats.weight:.6g} s is more than the prior and a whole time constant ({most:g} s)"
    if stats.prior_weight > params.adapt_prior_s * (1 + _EPS):
        return f"prior weight {stats.prior_weight:.6g} s is more than adapt_prior_s ({params.adapt_prior_s:g} s)"
    if stats.speech_s > stats.heard_s * (1 + _EPS) + 1e-6:
        return f"{stats.speech_s:.6g} s of speech but only {stats.heard_s:.6g} s ever heard"
    sums = stats.to_dict()
    mean = np.asarray(sums["sum1"], np.float64) / stats.weight
    spread = np.abs(mean - prior.mean) / np.sqrt(prior.var)
    if np.any(spread > MEAN_SPREAD):
        i = int(np.argmax(spread))
        return (f"coefficient {i}: mean {mean[i]:.6g} is {spread[i]:.3g} standard deviations from the prior's "
                f"{prior.mean[i]:.6g} (at most {MEAN_SPREAD:g})")
    second = np.asarray(sums["sum2"], np.float64) / stats.weight
    var = second - mean**2  # the means are bounded now: no overflow
    low = var < -1e-6 * np.maximum(np.abs(second), 1.0)
    if np.any(low):
        i = int(np.argmax(low))
        return f"coefficient {i}: variance {var[i]:.6g} is negative"
    ratio = var / prior.var
    if np.any(ratio > VAR_RATIO):
        i = int(np.argmax(ratio))
        return (f"coefficient {i}: variance {var[i]:.6g} is {ratio[i]:.3g} times the prior's {prior.var[i]:.6g} "
                f"(at most {VAR_RATIO:g})")
    return ""


def saved_segments(data: object, params) -> tuple[Optional[VectorStats], str]:
    """(the segment statistics of a state file's ``segments`` entry ``data`` (None: absent), or None
    and why they cannot be used, in words; '' when they can or there are none)."""
    if data is None:
        return None, ""
    dims = vector_dims(params)
    try:
        return VectorStats.from_dict(data, dims), ""
    except (ValueError, TypeError, OverflowError) as exc:
        return None, f"segment statistics unusable with these feature parameters ({dims} values each): {exc}"
