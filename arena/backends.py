"""Where evaluation matches run: in this process, a local process pool, or Ray.

Every backend plays a list of :class:`Match` es and returns one
:class:`arena.rollout.MatchResult` per match, in order. A match is cut into
*chunks* of about :data:`CHUNK_GAMES` games (one task each: a Ray task costs
about 0.75 ms, so tasks must be coarse). Chunk ``c`` of a match seeded ``s``
plays games ``c*C .. (c+1)*C - 1`` with their global seat rotation, seeded by
:func:`chunk_seed` ``(s, c)``, ``batch`` copies at a time; the chunks depend
only on the match, never on the number of workers, so the same seeds give
the same games on every backend (chunk 0 uses ``s`` itself: a match of at
most ``C`` games is exactly ``play(game, policies, n, s, batch)``).

Workers never receive pickled learners: a policy travels as a
:class:`PolicySpec` (algorithm name, config overrides and the safetensors
bytes of its ``policy_state_dict()``), and each worker rebuilds it once and
keeps it (keyed by the spec's sha256) together with its loaded games, so a
league's workers rebuild only the policies that are new each round.

* :class:`SerialBackend` (default): chunks in order in this process; takes
  live policies or specs.
* :class:`ProcessBackend`: ``concurrent.futures`` over ``multiprocessing``
  with the ``forkserver`` context (``spawn`` where there is none): workers
  are forked from a clean server process that imported torch, pyspiel and
  this module once (never from this process's live torch or pyspiel
  state); they start on first use and live until :meth:`close`.
* :class:`RayBackend`: the same calls on a pool of Ray actors (one CPU each,
  spread over the cluster's nodes); joins the cluster at ``address`` or
  starts a local one (``include_dashboard=False``). Ray is optional:
  ``pip install 'arena[ray]'``.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from arena.rollout import MatchResult, play, rotations
from games.core import Game, GameError

CHUNK_GAMES = 1000
"""Games per task: coarse enough that task overheads (0.75 ms a Ray task) vanish."""

BACKENDS = ("serial", "process", "ray")

MAX_WORKERS = 1024
"""Most workers of one backend (``--workers``): each is a process holding torch."""

_POLICY_CACHE = 64  # rebuilt policies a worker keeps


class BackendError(GameError):
    """A backend that cannot be used as asked (unknown name, missing Ray, live policies sent to workers).

    A :class:`games.core.GameError`, so the CLI prints it as one line.
    """


# ---------------------------------------------------------------------------
# Policies as plain data


@dataclasses.dataclass(frozen=True)
class PolicySpec:
    """A policy as plain data: what a worker needs to rebuild it.

    Attributes:
        algorithm: a learner name of :mod:`agents.registry`, ``"random"``
            (uniform over legal actions; no weights) or ``"tabular"`` (an
            :class:`agents.tabular.TabularPolicy`, e.g. a CFR reference).
        config: the learner's config overrides (JSON values).
        weights: safetensors bytes of the learner's ``policy_state_dict()``
            (for ``"tabular"``: the table's ``to_bytes()``, validated on rebuild).
        key: sha256 of all of the above (filled in; identifies the policy in
            workers' caches).
    """

    algorithm: str
    config: dict = dataclasses.field(default_factory=dict)
    weights: bytes = b""
    key: str = dataclasses.field(default="", init=False)

    def __post_init__(self):
        h = hashlib.sha256(self.algorithm.encode())
        h.update(json.dumps(self.config, sort_keys=True, default=str).encode())
        h.update(self.weights)
        object.__setattr__(self, "key", h.hexdigest())

    def build(self, info, device: str = "cpu"):
        """The frozen policy (a fresh object)."""
        if self.algorithm == "random":
            from agents.baselines import UniformRandom

            return UniformRandom()
        if self.algorithm == "tabular":
            from agents.tabular import TabularPolicy

            table = TabularPolicy.from_bytes(self.weights, "tabular policy spec")
            if info is not None:
                table.check_fits(info)
            return table
        from agents.checkpoint import tensors_from_bytes
        from agents.registry import make_learner

        learner = make_learner(self.algorithm, info, seed=0, device=device, **dict(self.config))
        learner.load_state_dict(tensors_from_bytes(self.weights, f"policy {self.algorithm}"))
        return learner.freeze()


def policy_spec(algorithm: str, config: dict | None, learner) -> PolicySpec:
    """The spec of ``learner``'s current policy (``policy_state_dict()`` as safetensors)."""
    from agents.checkpoint import tensors_to_bytes

    return PolicySpec(algorithm, dict(config or {}), tensors_to_bytes(learner.policy_state_dict()))


RANDOM = PolicySpec("random")
"""The uniform random reference policy."""


# ---------------------------------------------------------------------------
# Matches and chunks


@dataclasses.dataclass(frozen=True)
class Match:
    """``n_games`` games between ``policies`` (policy ``k`` at seat ``k`` before rotation).

    Attributes:
        policies: a live :class:`agents.base.Policy` (serial backend only) or a
            :class:`PolicySpec` per policy index.
        n_games: games to play.
        seed: the match's seed (see the module docstring).
        batch: copies stepped together in a chunk (at most the chunk's games).
        rotate: rotate seats so that every policy plays every seat.
    """

    policies: tuple
    n_games: int
    seed: int
    batch: int = 256
    rotate: bool = True


@dataclasses.dataclass(frozen=True)
class Chunk:
    """Games ``first .. first + count - 1`` of one match: one task."""

    match: int
    index: int
    first: int
    count: int
    seed: int
    batch: int
    num_policies: int
    rotate: bool


def chunk_seed(seed: int, index: int) -> int:
    """The seed of chunk ``index`` of a match seeded ``seed`` (chunk 0 keeps ``seed``)."""
    if index == 0:
        return int(seed)
    words = np.random.SeedSequence(int(seed), spawn_key=(1 << 31, int(index))).generate_state(2)
    return int(words[0]) << 32 | int(words[1])


def split(matches: Sequence[Match], chunk_games: int = CHUNK_GAMES) -> list[Chunk]:
    """Every match's chunks, in match order then game order."""
    if chunk_games < 1:
        raise BackendError(f"chunk_games must be at least 1, got {chunk_games}")
    out = []
    for m, match in enumerate(matches):  # a match of 0 games still gets one (empty) chunk
        for c, first in enumerate(range(0, max(match.n_games, 1), chunk_games)):
            count = min(chunk_games, match.n_games - first)
            out.append(
                Chunk(
                    m,
                    c,
                    first,
                    count,
                    chunk_seed(match.seed, c),
                    match.batch,
                    len(match.policies),
                    match.rotate,
                )
            )
    return out


def play_chunk(game: Game, policies: Sequence, chunk: Chunk) -> MatchResult:
    """Play one chunk in this process (what every backend's task runs)."""
    p = game.info.num_players
    if chunk.rotate:
        seatings = rotations(p, chunk.num_policies, chunk.first, chunk.count)
    else:
        seatings = np.tile(np.arange(p) % chunk.num_policies, (chunk.count, 1))
    return play(
        game,
        policies,
        chunk.count,
        chunk.seed,
        batch=min(chunk.batch, chunk.count),
        seatings=seatings,
    )


def merge(
    matches: Sequence[Match], chunks: Sequence[Chunk], results: Sequence[MatchResult]
) -> list[MatchResult]:
    """Concatenate chunk results (in chunk order) into one result per match."""
    parts: list[list[MatchResult]] = [[] for _ in matches]
    for chunk, res in zip(chunks, results):
        parts[chunk.match].append(res)
    out = []
    for rs in parts:
        out.append(
            MatchResult(
                np.concatenate([r.seats for r in rs]),
                np.concatenate([r.returns for r in rs]),
                *(_joined(rs, f) for f in _PER_GAME),
            )
        )
    return out


_PER_GAME = ("lengths", "episode", "deterministic")
"""The optional ``[G]`` fields of a MatchResult, in its field order after seats and returns."""


def _joined(rs: Sequence[MatchResult], field: str) -> np.ndarray | None:
    """The chunks' ``field`` arrays end to end (None when a chunk lacks it)."""
    parts = [getattr(r, field) for r in rs]
    return None if any(x is None for x in parts) else np.concatenate(parts)


# ---------------------------------------------------------------------------
# What a worker keeps between tasks

_games: dict[str, Game] = {}
_policies: collections.OrderedDict[str, Any] = collections.OrderedDict()
_threads_set = False


def _game(spec: str) -> Game:
    game = _games.get(spec)
    if game is None:
        import games

        game = _games[spec] = games.load(spec)
    return game


def one_thread() -> None:
    """One torch thread in this worker (one core per worker)."""
    global _threads_set
    if not _threads_set:
        import torch

        torch.set_num_threads(1)
        _threads_set = True


def _policy(spec: PolicySpec, info, device: str, worker: bool = True):
    pol = _policies.get(spec.key)
    if pol is not None:
        _policies.move_to_end(spec.key)
        return pol
    if worker and spec.algorithm != "random":
        one_thread()
    pol = _policies[spec.key] = spec.build(info, device)
    while len(_policies) > _POLICY_CACHE:
        _policies.popitem(last=False)
    return pol


def worker_task(game_spec: str, chunk: Chunk, device: str, *specs: PolicySpec):
    """One chunk in a worker: ``(seats, returns, lengths, episode, deterministic)``
    arrays (plain data back)."""
    game = _game(game_spec)
    policies = [_policy(s, game.info, device) for s in specs]
    res = play_chunk(game, policies, chunk)
    return (res.seats, res.returns, *(getattr(res, f) for f in _PER_GAME))


def _result(arrays) -> MatchResult:
    """A MatchResult from a worker's arrays (older workers send fewer: the rest are None)."""
    return MatchResult(*arrays)


def portable_spec(spec: str) -> str:
    """A game spec workers can load wherever their working directory is (absolute file paths)."""
    if spec.endswith(".toml") and os.path.exists(spec):
        return os.path.abspath(spec)
    return spec


def _specs(match: Match, backend: str) -> tuple[PolicySpec, ...]:
    for p in match.policies:
        if not isinstance(p, PolicySpec):
            raise BackendError(
                f"the {backend} backend sends policies to workers as PolicySpec "
                f"(algorithm + weights), got a live {type(p).__name__}; build one with arena.backends.policy_spec"
            )
    return tuple(match.policies)


# ---------------------------------------------------------------------------
# Backends


class Backend(Protocol):
    """Plays matches; the same matches give the same results on every backend."""

    name: str
    remote: bool  # True: policies must be PolicySpec
    workers: int

    def play(self, game: Game, game_spec: str, matches: Sequence[Match]) -> list[MatchResult]: ...

    def run(self, fn: Callable, tasks: Sequence) -> list:
        """``[fn(task, attempt) for task in tasks]``, on the workers; ``fn`` is a
        module-level function of plain data (e.g. :func:`arena.league.rounds.run_task`)."""
        ...

    def close(self) -> None: ...


class SerialBackend:
    """Chunks in order in this process (the default)."""

    name = "serial"
    remote = False
    workers = 1

    def __init__(self, *, chunk_games: int = CHUNK_GAMES, device: str = "cpu"):
        self.chunk_games = chunk_games
        self.device = device

    def play(self, game: Game, game_spec: str, matches: Sequence[Match]) -> list[MatchResult]:
        chunks = split(matches, self.chunk_games)
        results = []
        for chunk in chunks:
            pols = [
                _policy(p, game.info, self.device, worker=False) if isinstance(p, PolicySpec) else p
                for p in matches[chunk.match].policies
            ]
            results.append(play_chunk(game, pols, chunk))
        return merge(matches, chunks, results)

    def run(self, fn: Callable, tasks: Sequence) -> list:
        return [fn(t, 0) for t in tasks]

    def close(self) -> None:
        pass


MAX_RESTARTS = 3
"""Restarts of a broken process pool (a worker died) before a backend gives up."""

_PRELOAD = ["arena.backends", "arena.league.rounds", "agents.registry", "torch"]
"""What the forkserver imports once, so forked workers start without importing torch again."""


def die_with(pid: int) -> None:
    """End this process when process ``pid`` (the coordinator) ends (Linux 5.3+).

    Pool workers hold the forkserver's "alive" pipe, and the forkserver is their
    parent, so neither notices on its own that a coordinator was SIGKILLed: they
    would live on, holding its stdout and stderr. A daemon thread waits on a
    pidfd of the coordinator instead (no polling). Elsewhere this does nothing.
    """
    import select
    import threading

    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:  # already gone
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd here: nothing to wait on
        return

    def wait() -> None:
        select.select([fd], [], [])
        os._exit(1)

    threading.Thread(target=wait, name="die-with-coordinator", daemon=True).start()


def _default_context() -> str:
    import multiprocessing

    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


class ProcessBackend:
    """A local pool of ``workers`` processes (``forkserver`` or ``spawn``), started on first use."""

    name = "process"
    remote = True

    def __init__(
        self,
        workers: int,
        *,
        chunk_games: int = CHUNK_GAMES,
        device: str = "cpu",
        context: str | None = None,
    ):
        context = context or _default_context()
        if workers < 1:
            raise BackendError(f"--workers must be at least 1, got {workers}")
        if context not in ("spawn", "forkserver"):
            raise BackendError(
                f"context '{context}': use spawn or forkserver (fork copies torch and pyspiel state)"
            )
        self.workers = workers
        self.chunk_games = chunk_games
        self.device = device
        self.context = context
        self._pool = None
        self.restarts = 0
        """How many times a broken pool was restarted (a worker died)."""

    def _executor(self):
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            ctx = multiprocessing.get_context(self.context)
            if self.context == "forkserver":
                ctx.set_forkserver_preload(_PRELOAD)
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=ctx,
                initializer=die_with,
                initargs=(os.getpid(),),
            )
        return self._pool

    def play(self, game: Game, game_spec: str, matches: Sequence[Match]) -> list[MatchResult]:
        specs = [_specs(m, self.name) for m in matches]
        chunks = split(matches, self.chunk_games)
        spec = portable_spec(game_spec)
        calls = [(worker_task, (spec, c, self.device, *specs[c.match])) for c in chunks]
        return merge(matches, chunks, [_result(r) for r in self._map(calls)])

    def run(self, fn: Callable, tasks: Sequence) -> list:
        return self._map([(fn, (t,)) for t in tasks], attempt=True)

    def _map(self, calls: Sequence[tuple[Callable, tuple]], attempt: bool = False) -> list:
        """Every call's result, in order. A worker that dies (SIGKILL, out of memory)
        breaks the pool: it is restarted and the calls without a result are sent
        again (tasks are pure functions of their data, so a retry replays them),
        at most :data:`MAX_RESTARTS` times. ``attempt``: pass the try number last."""
        from concurrent.futures.process import BrokenProcessPool

        results: list = [None] * len(calls)
        todo = list(range(len(calls)))
        for tries in range(MAX_RESTARTS + 1):
            pool = self._executor()
            try:
                futures = {
                    i: pool.submit(calls[i][0], *calls[i][1], *((tries,) if attempt else ()))
                    for i in todo
                }
                left = []
                broken = False
                for i in todo:
                    try:
                        results[i] = futures[i].result()
                    except BrokenProcessPool:
                        broken = True
                        left.append(i)
            except BrokenProcessPool:  # broke while submitting
                broken, left = True, [i for i in todo if results[i] is None]
            except BaseException:  # a stop abort or an error: no worker outlives it
                self.terminate()
                raise
            if not broken:
                return results
            self.restarts += 1
            self.terminate()
            todo = left
        raise BackendError(
            f"the process pool broke {MAX_RESTARTS + 1} times in a row (a worker killed: "
            f"out of memory?); run with fewer --workers or --backend serial"
        )

    def terminate(self) -> None:
        """Stop the pool now: kill its workers (an abort or a broken pool)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        for proc in list(getattr(pool, "_processes", {}).values()):
            if proc.is_alive():
                proc.kill()
        pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Refuse a ``HOST:PORT`` Ray address that no server answers on within ``timeout``
    seconds (``ray.init`` would retry it for minutes). ``auto`` and ``ray://`` pass."""
    import socket

    if address == "auto" or "://" in address:
        return
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BackendError(
            f"--address {address}: expected HOST:PORT of a Ray head (e.g. 10.0.0.1:6379) or auto"
        )
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        raise BackendError(
            f"--address {address}: no Ray head answers there ({e.strerror or e}); start one with "
            f"'ray start --head --port {port}' on {host}, or pass --address auto on a cluster node"
        ) from None


ACTOR_START_S = 120.0
"""How long a new Ray worker actor may wait for a node with a free CPU before the backend gives up."""


class _Worker:
    """What a Ray actor runs: calls of module-level functions of plain data. The
    actor's process keeps its loaded games and rebuilt policies between calls,
    as a process-pool worker does."""

    def call(self, fn: Callable, *args):
        return fn(*args)

    def node(self) -> str:
        import ray

        return ray.get_runtime_context().get_node_id()


class RayBackend:
    """A pool of Ray actors (one CPU each) on the cluster at ``address``, or on a
    local Ray runtime of ``workers`` CPUs.

    Learners' rounds (:meth:`run`) and evaluation chunks (:meth:`play`) both go
    to the actors, which are started on first use (spread over the cluster's
    nodes) and live until :meth:`close`. An actor that dies (its process
    SIGKILLed, ``ray.kill``, its node lost) is replaced, and the calls that had
    no result are sent again with the next try number, at most
    :data:`MAX_RESTARTS` times in a row; calls are pure functions of their data,
    so a replay gives what the lost call would have.

    Joins a Ray runtime that is already initialised (and then leaves it
    running); otherwise starts or connects one and shuts it down in :meth:`close`.
    """

    name = "ray"
    remote = True

    def __init__(
        self,
        address: str | None = None,
        workers: int | None = None,
        *,
        chunk_games: int = CHUNK_GAMES,
        device: str = "cpu",
    ):
        try:
            import ray
        except ImportError:
            raise BackendError("--backend ray needs Ray: pip install 'arena[ray]'") from None
        self._ray = ray
        self.chunk_games = chunk_games
        self.device = device
        self._owner = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address is None:
                kwargs["num_cpus"] = workers or os.cpu_count() or 1
            if address is not None:
                _check_reachable(address)
            try:
                ray.init(address=address, **kwargs)
            except ConnectionError as e:
                raise BackendError(
                    f"--address {address}: no Ray cluster there ({str(e).splitlines()[0]}); "
                    f"start one with 'ray start --head' or leave --address out"
                ) from None
            self._owner = True
        cpus = int(ray.cluster_resources().get("CPU", 1))
        self.workers = min(workers, cpus) if workers else cpus
        self._actor = ray.remote(num_cpus=1, max_restarts=0)(_Worker)
        self._actors: dict[bool, list] = {}  # CPU actors (False) and GPU actors (True)
        self.restarts = 0
        """How many times dead actors were replaced."""

    def _pool(self, n: int, gpu: bool = False) -> list:
        """At least ``min(n, workers)`` live actors (one CPU each; with ``gpu``, one GPU too)."""
        actors = self._actors.setdefault(gpu, [])
        if gpu and self._ray.cluster_resources().get("GPU", 0) < 1:
            raise BackendError(
                "a learner on CUDA needs a Ray node with a GPU and the cluster has none; "
                "set its device to 'cpu' or add a GPU node (ray start --num-gpus 1)"
            )
        new = []
        while len(actors) + len(new) < min(n, self.workers):
            opts: dict[str, Any] = {"scheduling_strategy": "SPREAD"}
            if gpu:
                opts["num_gpus"] = 1
            new.append(self._actor.options(**opts).remote())
        if new:  # an actor holds its CPU while it lives: wait until each has one
            ready, pending = self._ray.wait(
                [a.node.remote() for a in new], num_returns=len(new), timeout=ACTOR_START_S
            )
            if pending:
                for a in new:
                    self._ray.kill(a)
                what = "a GPU and a CPU" if gpu else "a free CPU"
                raise BackendError(
                    f"{len(pending)} of {len(new)} Ray worker actors found no node with {what} "
                    f"in {ACTOR_START_S:.0f} s (other jobs hold the cluster's "
                    f"{self.workers} CPUs?); free them or add nodes"
                )
            actors += new
        return actors

    def actors(self) -> int:
        """How many worker actors are alive."""
        return sum(len(pool) for pool in self._actors.values())

    def nodes(self) -> set[str]:
        """The Ray node ids of the live actors (where the work ran)."""
        actors = [a for pool in self._actors.values() for a in pool]
        return set(self._ray.get([a.node.remote() for a in actors]))

    def play(self, game: Game, game_spec: str, matches: Sequence[Match]) -> list[MatchResult]:
        ray = self._ray
        specs = [_specs(m, self.name) for m in matches]
        refs: dict[str, Any] = {}
        for ss in specs:
            for s in ss:
                if s.key not in refs:
                    refs[s.key] = ray.put(s)  # once per policy, not once per chunk
        chunks = split(matches, self.chunk_games)
        spec = portable_spec(game_spec)
        calls = [
            (worker_task, (spec, c, self.device, *[refs[s.key] for s in specs[c.match]]))
            for c in chunks
        ]
        return merge(matches, chunks, [_result(r) for r in self._map(calls)])

    def run(self, fn: Callable, tasks: Sequence) -> list:
        """Tasks whose ``device`` is CUDA (a learner's round) go to actors with a GPU."""
        gpu = [str(getattr(t, "device", "cpu")).startswith("cuda") for t in tasks]
        if not any(gpu):
            return self._map([(fn, (t,)) for t in tasks], attempt=True)
        out: list = [None] * len(tasks)
        for flag in (False, True):
            idx = [i for i, g in enumerate(gpu) if g == flag]
            if idx:
                got = self._map([(fn, (tasks[i],)) for i in idx], attempt=True, gpu=flag)
                for i, r in zip(idx, got):
                    out[i] = r
        return out

    def _map(
        self, calls: Sequence[tuple[Callable, tuple]], attempt: bool = False, gpu: bool = False
    ) -> list:
        """Every call's result, in order, over the actor pool (see the class docstring).
        ``attempt``: pass the try number last; ``gpu``: on the actors with a GPU."""
        from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError

        lost = (RayActorError, ActorDiedError, ActorUnavailableError)
        ray = self._ray
        results: list = [None] * len(calls)
        todo = list(range(len(calls)))
        for tries in range(MAX_RESTARTS + 1):
            actors = self._pool(len(todo), gpu)
            refs = []
            for k, i in enumerate(todo):
                fn, args = calls[i]
                actor = actors[k % len(actors)]
                refs.append(
                    (i, actor, actor.call.remote(fn, *args, *((tries,) if attempt else ())))
                )
            left, dead = [], []
            try:
                for i, actor, ref in refs:
                    try:
                        results[i] = ray.get(ref)
                    except lost:
                        left.append(i)
                        if actor not in dead:
                            dead.append(actor)
            except BaseException as e:  # a stop abort or an error: no call outlives it
                self.terminate()  # killing the actors ends their calls
                cause = e.__cause__ or e.__context__
                if isinstance(e, SystemError) and isinstance(cause, BaseException):
                    if not isinstance(cause, Exception):  # a stop raised by a signal handler
                        raise cause from None  # inside ray.get, which Ray wraps as SystemError
                raise
            if not left:
                return results
            self.restarts += 1
            for actor in dead:
                ray.kill(actor)
                actors.remove(actor)
            todo = left
        raise BackendError(
            f"Ray actors died {MAX_RESTARTS + 1} times in a row (killed, out of memory, "
            f"or a node lost); run with fewer workers or --backend serial"
        )

    def terminate(self) -> None:
        """Kill every actor now (an abort)."""
        pools, self._actors = self._actors, {}
        for a in [a for pool in pools.values() for a in pool]:
            self._ray.kill(a)

    def close(self) -> None:
        self.terminate()
        if self._owner and self._ray.is_initialized():
            self._ray.shutdown()
        self._owner = False


def make_backend(
    name: str = "serial",
    workers: int = 1,
    address: str | None = None,
    *,
    chunk_games: int = CHUNK_GAMES,
    device: str = "cpu",
) -> Backend:
    """The backend of ``arena league run --backend NAME --workers N [--address ADDR]``.

    ``--workers N`` with N > 1 and the default backend means a process pool.
    """
    if name not in BACKENDS:
        raise BackendError(f"--backend {name}: use one of {', '.join(BACKENDS)}")
    if workers < 1:
        raise BackendError(f"--workers must be at least 1, got {workers}")
    if workers > MAX_WORKERS:
        raise BackendError(
            f"--workers {workers:,} is above the limit of {MAX_WORKERS:,} (each worker is a "
            f"process holding torch); give one per core, or a Ray cluster with --address"
        )
    if address is not None and name != "ray":
        raise BackendError(f"--address {address} is a Ray cluster address; add --backend ray")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise BackendError(f"workers on {device}: no CUDA device is available here; use cpu")
    if name == "serial" and workers > 1:
        name = "process"
    if name == "serial":
        return SerialBackend(chunk_games=chunk_games, device=device)
    if name == "process":
        return ProcessBackend(workers, chunk_games=chunk_games, device=device)
    return RayBackend(
        address, workers if workers > 1 else None, chunk_games=chunk_games, device=device
    )
