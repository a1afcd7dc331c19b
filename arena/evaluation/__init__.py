"""How good policies are: tabular policies and NashConv, exact payoffs, the exploiter bound,
the empirical meta-game, and the population evaluation the league stores.

Modules, imports pointing one way (``record`` and ``metagame`` need nothing here):

* :mod:`~arena.evaluation.metagame`: meta-games, meta-Nash, Nash averaging, dominance, mixtures;
* :mod:`~arena.evaluation.tabular`: a policy as an OpenSpiel table; exact NashConv;
* :mod:`~arena.evaluation.exact_payoffs`: exact payoff tables (sequence form);
* :mod:`~arena.evaluation.exploiter`: the exploiter lower bound and ``nash_report``;
* :mod:`~arena.evaluation.record`: :class:`PopulationEvaluation`, the frozen, typed record;
* :mod:`~arena.evaluation.population`: :func:`evaluate_population`, which computes it.
"""

from __future__ import annotations

from arena.evaluation.exact_payoffs import (
    ExactPayoffCache,
    SequenceTree,
    exact_payoff_table,
    payoff_matrix,
    realization_plans,
    sequence_tree,
)
from arena.evaluation.exploiter import ExploiterConfig, exploiter_lower_bound, nash_report
from arena.evaluation.metagame import MetaGame, MixturePolicy, analyze, mixture_policy
from arena.evaluation.population import evaluate_population, population_lines
from arena.evaluation.record import (
    Gap,
    LearnerRow,
    PopulationEvaluation,
    PopulationFormatError,
)
from arena.evaluation.tabular import (
    DEFAULT_MAX_STATES,
    EXACT,
    LOWER_BOUND,
    ExactLimitError,
    NashConvResult,
    PolicyContractError,
    exact_nash_conv,
    matrix_nash_conv,
    openspiel_nash_conv,
    policy_probs,
    tabulate,
)

__all__ = [
    "DEFAULT_MAX_STATES",
    "EXACT",
    "LOWER_BOUND",
    "ExactLimitError",
    "ExactPayoffCache",
    "ExploiterConfig",
    "Gap",
    "LearnerRow",
    "MetaGame",
    "MixturePolicy",
    "NashConvResult",
    "PolicyContractError",
    "PopulationEvaluation",
    "PopulationFormatError",
    "SequenceTree",
    "analyze",
    "evaluate_population",
    "exact_nash_conv",
    "exact_payoff_table",
    "exploiter_lower_bound",
    "matrix_nash_conv",
    "mixture_policy",
    "nash_report",
    "openspiel_nash_conv",
    "payoff_matrix",
    "policy_probs",
    "population_lines",
    "realization_plans",
    "sequence_tree",
    "tabulate",
]
