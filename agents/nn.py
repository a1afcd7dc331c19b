"""Pieces every learner shares: MLPs, masked distributions, Gumbel-softmax,
target-network updates, tensors in and out of numpy.

Masking follows OpenSpiel's ``python/pytorch/dqn.py``: illegal logits and
Q-values are replaced by ``torch.finfo(dtype).min`` (never ``-inf``, which
gives NaNs when a whole row is masked), and probabilities of illegal actions
are set to exactly 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn


def mlp(
    sizes: Sequence[int], activation: type[nn.Module] = nn.ReLU, out_gain: float | None = None
) -> nn.Sequential:
    """A plain MLP ``sizes[0] -> ... -> sizes[-1]`` with no activation on the output."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(activation())
    if out_gain is not None:
        last = layers[-1]
        nn.init.orthogonal_(last.weight, gain=out_gain)
        nn.init.zeros_(last.bias)
    return nn.Sequential(*layers)


def mask_logits(logits: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    """Replace illegal entries by the dtype's most negative finite value."""
    return torch.where(legal, logits, torch.finfo(logits.dtype).min)


def masked_softmax(logits: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    """Softmax over legal actions; illegal actions get probability exactly 0."""
    probs = torch.softmax(mask_logits(logits, legal), dim=-1)
    return torch.where(legal, probs, torch.zeros_like(probs))


def masked_log_softmax(logits: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    """Log-softmax over legal actions (illegal entries are very negative, finite)."""
    return torch.log_softmax(mask_logits(logits, legal), dim=-1)


def masked_entropy(logits: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    """Entropy of the masked categorical, ``[N]``."""
    logp = masked_log_softmax(logits, legal)
    p = torch.where(legal, logp.exp(), torch.zeros_like(logp))
    return -(p * torch.where(legal, logp, torch.zeros_like(logp))).sum(-1)


def masked_argmax(values: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    """Greedy legal action per row (for Q-values and double-Q targets)."""
    return mask_logits(values, legal).argmax(-1)


def masked_max(values: torch.Tensor, legal: torch.Tensor) -> torch.Tensor:
    """Max over legal actions; rows with no legal action give 0."""
    any_legal = legal.any(-1)
    m = mask_logits(values, legal).max(-1).values
    return torch.where(any_legal, m, torch.zeros_like(m))


def gumbel_softmax_st(
    logits: torch.Tensor,
    legal: torch.Tensor,
    tau: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Straight-through Gumbel-softmax (Jang et al. 2017), legal actions only.

    The forward value is the one-hot of a sample, the gradient that of the
    relaxed softmax: what MADDPG uses for discrete actions (Lowe et al. 2017).
    """
    u = torch.rand(logits.shape, generator=generator, device=logits.device, dtype=logits.dtype)
    g = -torch.log((-torch.log(u.clamp_min(1e-20))).clamp_min(1e-20))  # Gumbel(0, 1) noise
    soft = masked_softmax((logits + g) / tau, legal)
    index = soft.argmax(-1, keepdim=True)
    hard = torch.zeros_like(soft).scatter_(-1, index, 1.0)
    return hard - soft.detach() + soft


@torch.no_grad()
def polyak_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """``target <- (1 - tau) * target + tau * source`` (tau = 1 copies)."""
    for t, s in zip(target.parameters(), source.parameters()):
        t.mul_(1.0 - tau).add_(s, alpha=tau)


def one_hot(index: torch.Tensor, n: int) -> torch.Tensor:
    return torch.nn.functional.one_hot(index.long(), n).float()


def as_tensor(x: np.ndarray, device: torch.device | str = "cpu", dtype=None) -> torch.Tensor:
    """Numpy -> torch without copying on CPU where possible."""
    t = torch.from_numpy(np.ascontiguousarray(x))
    if dtype is not None:
        t = t.to(dtype)
    return t.to(device)


def seeded_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g
