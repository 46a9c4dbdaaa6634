"""Back-of-the-envelope numbers for SAEs at scale (lesson 11): parameters, memory, FLOPs.

An SAE with width d (the model's activation size) and m latents has W_enc (m x d), b_enc (m),
W_dec (d x m) and b_dec (d). A multiply-add counts as 2 FLOPs, the usual convention.
"""

from __future__ import annotations


def sae_parameters(d: int, m: int) -> int:
    """Numbers in the SAE: two m x d matrices and two bias vectors."""
    return 2 * m * d + m + d


def sae_bytes(d: int, m: int, bytes_per_number: int = 4) -> int:
    """Memory for the parameters alone (float32: 4 bytes each). Training with Adam keeps two
    more numbers per parameter, and a gradient: about four times this."""
    return bytes_per_number * sae_parameters(d, m)


def encoder_flops(d: int, m: int) -> int:
    """FLOPs to encode one token: every latent's pre-activation is a length-d dot product."""
    return 2 * m * d


def decoder_flops(d: int, active: int) -> int:
    """FLOPs to decode one token when only `active` latents are non-zero."""
    return 2 * active * d
