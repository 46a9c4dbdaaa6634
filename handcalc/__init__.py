"""handcalc: every by-hand step of "Sparse Autoencoders by Hand" in numpy.

Conventions, the same on every sheet, plot and function:
- columns are samples: X is features x samples; a weight matrix is outputs x inputs;
  a layer is Z = W X + b with b one number per output, broadcast over the samples;
- gradients are true gradients (d loss / d thing, the shape of the thing);
- losses say how they reduce: the sheets sum the squared errors, so d/dX' = 2 (X' - X);
- the SAE's sparsity penalty is lam * sum_i ||W_dec[:, i]|| * sum_n F[i, n].

Importing handcalc needs numpy only.
"""

from . import figures, problems
from .backward import l1_decoder_grad, linear_backward, relu_backward, sgd_step
from .checks import Feedback, check, check_sheet
from .display import show
from .exercise import exercise
from .explain import explain, hint
from .problems import AutoencoderProblem, SAEProblem
from .seeds import autoencoder_problem, sae_problem
from .steps import bias_trick, decoder_norms, l1_grad, l1_loss, linear, mse, mse_grad, relu
from .traces import Step, Trace, autoencoder_trace, sae_trace

figures.describe_figures()  # in a notebook: every figure shown with its text alternative

__all__ = [
    "AutoencoderProblem",
    "Feedback",
    "SAEProblem",
    "Step",
    "Trace",
    "autoencoder_problem",
    "autoencoder_trace",
    "bias_trick",
    "check",
    "check_sheet",
    "decoder_norms",
    "exercise",
    "explain",
    "hint",
    "l1_decoder_grad",
    "l1_grad",
    "l1_loss",
    "linear",
    "linear_backward",
    "mse",
    "mse_grad",
    "problems",
    "relu",
    "relu_backward",
    "sae_problem",
    "sae_trace",
    "sgd_step",
    "show",
]
