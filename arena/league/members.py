"""Member loading, in one place: a stored member (reference, snapshot or learner) -> its policy.

CFR references (``policy = "cfr_plus(iterations=N)"``, :mod:`games.cfr`) are
solved once, when the league creates its members (:func:`write_reference_table`),
and kept as a safetensors table in the league's files folder with a snapshot
row (path and sha256), so verification, orphan removal and moving the league
treat them like snapshots; loading checks the sha256 first
(:func:`reference_table_bytes`).
"""

from __future__ import annotations

from pathlib import Path

import games
from leagues.pool import LEARNER, REFERENCE, Member
from leagues.store import Store, StoreError

TABLE_FILE = "cfr_table.safetensors"
"""A CFR reference's table, in the member's snapshot folder."""


def is_cfr_reference(m: Member) -> bool:
    """Whether ``m`` is a reference whose policy is a CFR spec."""
    from games.cfr import ALGORITHMS

    return m.kind == REFERENCE and m.policy.split("(", 1)[0].strip() in ALGORITHMS


def write_reference_table(store: Store, m: Member, game) -> str:
    """Solve CFR reference ``m`` on ``game`` and write its table; returns the relative path.

    Claims and writes the file (outside any batch, so a kill before the
    member's rows leaves an orphan the next open removes); the caller records
    it with ``store.add_snapshot(m.id, path, 0)``.
    """
    from agents.tabular import cfr_policy

    table = cfr_policy(game, m.policy, where=f"reference '{m.name}'")
    return store.write_file(f"{store.snapshot_dir(m)}/{TABLE_FILE}", table.to_bytes())


def reference_table_bytes(store: Store, m: Member) -> bytes:
    """The stored table of CFR reference ``m``, after checking its sha256 against the store.

    Raises:
        StoreError: no row, a missing file, or a file that changed since it was written.
    """
    import hashlib

    row = store.snapshot(m.id)
    if row is None:
        raise StoreError(
            f"reference '{m.name}' ({m.policy}) has no table file recorded; the league store is incomplete"
        )
    path = store.resolve(row.path)
    if not path.is_file():
        raise StoreError(
            f"{path}: table of reference '{m.name}' is missing; the league folder is incomplete"
        )
    from agents.tabular import MAX_TABLE_BYTES

    if path.stat().st_size > MAX_TABLE_BYTES:
        raise StoreError(
            f"{path}: {path.stat().st_size:,} bytes, above the limit of {MAX_TABLE_BYTES:,} for the table of reference '{m.name}'"
        )
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise StoreError(
            f"{path}: sha256 does not match the store; the table of reference '{m.name}' was modified or corrupted"
        )
    return data


def reference_table(store: Store, m: Member, info):
    """CFR reference ``m``'s :class:`agents.tabular.TabularPolicy` (sha256, contents and fit checked)."""
    from agents.tabular import TabularPolicy

    data = reference_table_bytes(store, m)
    table = TabularPolicy.from_bytes(data, str(store.resolve(store.snapshot(m.id).path)))
    table.check_fits(info)
    return table


def member_policy(store: Store, m: Member, info, learner_cfgs: dict, device: str = "cpu"):
    """Rebuild a frozen member's policy from its files (never unpickles)."""
    if m.kind == REFERENCE:
        if m.policy == "random":
            from agents.baselines import UniformRandom

            return UniformRandom()
        if is_cfr_reference(m):
            return reference_table(store, m, info)
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
