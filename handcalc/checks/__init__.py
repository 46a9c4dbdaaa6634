"""Answer checks that say what went wrong, not just that something did: the common core
(`core`: Feedback, `check` for a by-hand step, `compare` for any answer) and each lesson's
code-exercise checks in a module of its own (`lesson07` holds lesson 07's)."""

from ..feedback import RIGHT, WRONG, Feedback, shown
from .core import SHOWN, TOLERANCE, as_trace, check, check_sheet, compare, place
from .lesson05 import check_interference, check_rotation, check_toy_forward, check_toy_gradients
from .lesson07 import (
    check_adam_step,
    check_jumprelu,
    check_kl,
    check_l0,
    check_l1_penalty,
    check_resample,
    check_sae_gradients,
    check_threshold_grad,
    check_topk,
    check_torch_sae,
    check_variance_explained,
)
from .lesson08 import (
    check_auroc,
    check_hypothesis,
    check_logit_effect,
    check_precision_recall,
    check_specificity,
    check_top_contexts,
    check_variance_spectrum,
)
from .lesson09 import (
    check_clamp_as_addition,
    check_clamp_change,
    check_mean_difference,
    check_steer,
)
from .lesson10 import check_atp, check_feature_attribution, check_integrated_gradients
from .lesson11 import (
    check_auxk_loss,
    check_encoder_flops,
    check_loss_recovered,
    check_normalise,
    check_sae_parameters,
)

__all__ = [
    "RIGHT",
    "SHOWN",
    "TOLERANCE",
    "WRONG",
    "Feedback",
    "as_trace",
    "check",
    "check_adam_step",
    "check_atp",
    "check_auroc",
    "check_auxk_loss",
    "check_clamp_as_addition",
    "check_clamp_change",
    "check_encoder_flops",
    "check_feature_attribution",
    "check_hypothesis",
    "check_integrated_gradients",
    "check_interference",
    "check_jumprelu",
    "check_kl",
    "check_l0",
    "check_l1_penalty",
    "check_logit_effect",
    "check_loss_recovered",
    "check_mean_difference",
    "check_normalise",
    "check_precision_recall",
    "check_resample",
    "check_rotation",
    "check_sae_gradients",
    "check_sae_parameters",
    "check_sheet",
    "check_specificity",
    "check_steer",
    "check_threshold_grad",
    "check_top_contexts",
    "check_topk",
    "check_torch_sae",
    "check_toy_forward",
    "check_toy_gradients",
    "check_variance_explained",
    "check_variance_spectrum",
    "compare",
    "place",
    "shown",
]
