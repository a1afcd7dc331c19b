"""Member loading, in one place: a stored member (reference, snapshot or learner) -> its policy."""

from __future__ import annotations

from pathlib import Path

import games
from leagues.pool import LEARNER, REFERENCE, Member
from leagues.store import Store, StoreError


def member_policy(store: Store, m: Member, info, learner_cfgs: dict, device: str = "cpu"):
    """Rebuild a frozen member's policy from its files (never unpickles)."""
    if m.kind == REFERENCE:
        if m.policy == "random":
            from agents.baselines import UniformRandom

            return UniformRandom()
        from agents.checkpoint import load_checkpoint

        return load_checkpoint(m.policy, device=device).freeze()
    from agents.checkpoint import WEIGHTS, sha256_file, tensors_from_bytes
    from agents.registry import make_learner

    if m.kind == LEARNER:
        state = store.learner_state(m.name)
        if state is None:
            raise StoreError(f"learner '{m.name}' has no checkpoint yet; run the league first")
        path = store.resolve(state.path)
        path = path / WEIGHTS if path.is_dir() else path
    else:
        row = store.snapshot(m.id)
        if row is None:
            raise StoreError(f"member '{m.name}' has no snapshot file recorded")
        path = store.resolve(row.path)
        if not path.exists():
            raise StoreError(
                f"{path}: snapshot file of '{m.name}' is missing; the league folder is incomplete"
            )
        if sha256_file(path) != row.sha256:
            raise StoreError(
                f"{path}: sha256 does not match the store; the snapshot file of '{m.name}' was modified or corrupted"
            )
    parent = m.name if m.kind == LEARNER else m.name.split("@", 1)[0]
    lc = learner_cfgs.get(parent)
    overrides = dict(lc.config) if lc is not None else {}
    learner = make_learner(m.algorithm, info, seed=0, device=device, **overrides)
    learner.load_state_dict(tensors_from_bytes(path.read_bytes(), str(path)))
    return learner.freeze()


def load_member_policy(db: str | Path, member: str, game_spec: str, device: str = "cpu"):
    """The policy of ``DB:MEMBER`` (a name like ``main@4096`` or a numeric id)."""
    from leagues.config import config_from_dict

    store = Store.open(db, readonly=True)
    try:
        stored = store.config()
        if stored is None:
            raise StoreError(f"{db}: the league has no config yet; run it first")
        cfg = config_from_dict(stored[1], str(db), check_game=False)
        if not games.same_spec(cfg.league.game, game_spec):
            raise StoreError(
                f"{db}: the league plays '{cfg.league.game}', not '{game_spec}'; pass --game '{cfg.league.game}'"
            )
        members = store.members()
        found = [m for m in members if m.name == member or str(m.id) == member]
        if not found:
            names = ", ".join(m.name for m in members[:30])
            raise StoreError(f"{db}: no member '{member}'; members are: {names}")
        info = games.load(cfg.league.game).info
        return member_policy(store, found[0], info, {lc.name: lc for lc in cfg.learners}, device)
    finally:
        store.close()
