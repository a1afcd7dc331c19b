"""Hostile and careless input, one table: every case is one line on stderr and exit 2.

Each case builds its files in a fresh folder, runs the CLI in this process and
checks what the trust promise says: exit status 2, exactly one line on stderr
(``arena: error: ...``), no traceback, no file anywhere in the folder created,
changed or removed, and where a league store is involved its integrity and
every sha256 intact and its table unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from arena.cli import main
from leagues.store import Store

LEAGUE = """
[league]
name = "{name}"
game = "{game}"
seed = 0
steps = {steps}
batch = {batch}
rollout_len = {rollout_len}
round_steps = 128
{league_extra}

[[learner]]
name = "main"
algorithm = "{algorithm}"
{learner_extra}

[snapshots]
every_steps = 128

[evaluation]
games_per_pair = {games_per_pair}
{evaluation_extra}

[matchmaking]
{matchmaking_extra}

[ratings]
{ratings_extra}
"""

MARKER = "/tmp/arena-hostile-marker"
HOSTILE_GAME = f"pettingzoo:os.system(command='touch {MARKER}')"


def league_toml(folder: Path, file="l.toml", **kw) -> Path:
    values = dict(
        name="l",
        game="matrix:rock_paper_scissors",
        steps=256,
        batch=16,
        rollout_len=4,
        games_per_pair=8,
        algorithm="mappo",
        league_extra="",
        learner_extra="",
        evaluation_extra="",
        matchmaking_extra="",
        ratings_extra="",
    )
    values.update(kw)
    path = folder / file
    path.write_text(LEAGUE.format(**values))
    return path


@pytest.fixture(scope="module")
def base_league(tmp_path_factory) -> Path:
    """A finished tiny league (its folder holds l.toml, l.db and its files)."""
    folder = tmp_path_factory.mktemp("base")
    cfg = league_toml(folder)
    assert main(["league", "run", str(cfg), "--quiet", "--no-report"]) == 0
    return folder


def tree(folder: Path) -> dict[str, tuple]:
    """Every entry under ``folder``: kind, and a file's sha256 (symlinks by target)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_symlink():
            out[rel] = ("link", os.readlink(p))
        elif p.is_dir():
            out[rel] = ("dir",)
        elif p.name.endswith(("-wal", "-shm", ".lock")):
            out[rel] = ("sqlite side file",)  # SQLite's and the lock's own bookkeeping
        else:
            out[rel] = ("file", hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def store_table(db: Path):
    s = Store.open(db, readonly=True)
    try:
        s.verify()
        return (
            [(m.id, m.name, m.kind, m.step, m.active) for m in s.members()],
            [(r.step, r.seats, r.returns, r.seed, r.tag) for r in s.matches()],
            [(r.member, r.sha256) for r in s.snapshots()],
        )
    finally:
        s.close()


# ---------------------------------------------------------------- the cases
# Each builds what it needs under ``d`` (a fresh folder; ``b`` is a copy of the
# finished base league inside it) and returns the arguments of one command.
Case = Callable[[Path], list[str]]


def _toml(**kw) -> Case:
    kw.setdefault("name", "h")
    return lambda d: ["league", "run", str(league_toml(d, file="h.toml", **kw)), "--quiet"]


def _checkpoint(spec) -> Case:
    def make(d: Path) -> list[str]:
        ck = d / "ck"
        ck.mkdir()
        (ck / "spec.json").write_text(spec if isinstance(spec, str) else json.dumps(spec))
        (ck / "weights.safetensors").write_bytes(b"")
        return ["eval", str(ck), "--game", "kuhn_poker", "--games", "10"]

    return make


def _good_checkpoint(d: Path) -> Path:
    out = d / "run"
    assert (
        main(["train", "iql", "matrix:rock_paper_scissors", "--steps", "64", "--out", str(out)])
        == 0
    )
    return out


def _spec_edit(**changes) -> Case:
    def make(d: Path) -> list[str]:
        ck = _good_checkpoint(d)
        spec = json.loads((ck / "spec.json").read_text())
        spec.setdefault("config", {}).update(changes)
        (ck / "spec.json").write_text(json.dumps(spec))
        return ["eval", str(ck), "--game", "matrix:rock_paper_scissors", "--games", "10"]

    return make


def _weights_dev_zero(d: Path) -> list[str]:
    ck = _good_checkpoint(d)
    w = next(p for p in ck.iterdir() if p.suffix == ".safetensors")
    w.unlink()
    w.symlink_to("/dev/zero")
    return ["eval", str(ck), "--game", "matrix:rock_paper_scissors", "--games", "10"]


def _game_toml(text: str) -> Case:
    def make(d: Path) -> list[str]:
        (d / "g.toml").write_text(text)
        return ["solve", str(d / "g.toml")]

    return make


def _deep_toml(d: Path) -> list[str]:
    depth = 100_000
    (d / "deep.toml").write_text("x = " + "[" * depth + "]" * depth + "\n")
    return ["league", "run", str(d / "deep.toml"), "--quiet"]


def _deep_game_toml(d: Path) -> list[str]:
    depth = 100_000
    (d / "deep.toml").write_text("payoffs = " + "[" * depth + "]" * depth + "\n")
    return ["solve", str(d / "deep.toml")]


def _db_with_game(game: str) -> Case:
    """A crafted store (copy of the base league) whose config names ``game``."""

    def make(d: Path) -> list[str]:
        import sqlite3

        db = d / "b" / "l.db"
        con = sqlite3.connect(db)
        row = json.loads(con.execute("SELECT json FROM config").fetchone()[0])
        row["league"]["game"] = game
        con.execute("UPDATE config SET json = ?", (json.dumps(row),))
        con.commit()
        con.close()
        return ["league", "ratings", str(db), "--system", "bt"]

    return make


def _files_is_a_file(d: Path) -> list[str]:
    cfg = league_toml(d, file="f.toml", name="f")
    (d / "f.files").write_text("not a folder")
    return ["league", "run", str(cfg), "--quiet"]


def _files_folder_not_ours(d: Path) -> list[str]:
    cfg = league_toml(d, file="f.toml", name="f")
    (d / "f.files").mkdir()
    (d / "f.files" / "thesis.tex").write_text("a user's own file")
    return ["league", "run", str(cfg), "--quiet"]


def _resume_changed_config(d: Path) -> list[str]:
    cfg = d / "b" / "l.toml"
    cfg.write_text(cfg.read_text().replace("seed = 0", "seed = 1"))
    return ["league", "run", str(cfg), "--quiet"]


def _edited(d: Path, old: str, new: str) -> list[str]:
    """A league TOML with one text replaced (for values the template cannot hold)."""
    cfg = league_toml(d, file="h.toml", name="h")
    cfg.write_text(cfg.read_text().replace(old, new))
    return ["league", "run", str(cfg), "--quiet"]


def _file(path: Path, data: bytes | str = "x") -> Path:
    if isinstance(data, str):
        path.write_text(data)
    else:
        path.write_bytes(data)
    return path


def _db(d: Path) -> str:
    return str(d / "b" / "l.db")


def _train(*args: str) -> Case:
    return lambda d: ["train", *args, "--out", str(d / "o")]


def _eval_random(*args: str) -> Case:
    return lambda d: ["eval", "random", "--game", "kuhn_poker", *args]


def _show(spec: str) -> Case:
    return lambda d: ["games", "show", spec]


REPEATED = (
    'name = "r"\nplayers = 2\nactions = [2, 2]\nzero_sum_payoff = [[1, -1], [-1, 1]]\n'
    "[repeated]\nhorizon = 1000000000\n"
)

# case: (what the one line must name, the command)
CASES: dict[str, tuple[str, Case]] = {
    # unknown things and missing paths
    "unknown game": ("kuhn_poker", _show("kuhn_pokr")),
    "missing league config": ("nope.toml", lambda d: ["league", "run", str(d / "nope.toml")]),
    "missing db": ("nope.db", lambda d: ["league", "ratings", str(d / "nope.db")]),
    "db is a text file": (
        "not an SQLite file",
        lambda d: ["league", "status", str(_file(d / "t.db", "hello"))],
    ),
    "empty db file for eval": (
        "empty file",
        lambda d: ["league", "eval", str(_file(d / "e.db", b""))],
    ),
    "no such member": (
        "nobody",
        lambda d: ["eval", f"{_db(d)}:nobody", "--game", "matrix:rock_paper_scissors"],
    ),
    "malformed toml": (
        "malformed TOML",
        lambda d: ["league", "run", str(_file(d / "m.toml", "[league\nname = 1\n"))],
    ),
    # code from data
    "pettingzoo os.system on the CLI": ("ARENA_PETTINGZOO_MODULES", _show(HOSTILE_GAME)),
    "pettingzoo os.system in a league TOML": ("ARENA_PETTINGZOO_MODULES", _toml(game=HOSTILE_GAME)),
    "pettingzoo os.system in a crafted db": (
        "ARENA_PETTINGZOO_MODULES",
        _db_with_game(HOSTILE_GAME),
    ),
    # algorithms that do not fit the game
    "train qmix on tic_tac_toe": ("cooperative", _train("qmix", "tic_tac_toe")),
    "train vdn on kuhn_poker": ("cooperative", _train("vdn", "kuhn_poker")),
    "train mappo on control:rendezvous": ("maddpg", _train("mappo", "control:rendezvous")),
    "league qmix on rps": ("learner[0].algorithm", _toml(algorithm="qmix")),
    # hyperparameters
    "hidden=[-4]": ("hidden", _toml(learner_extra="config = { hidden = [-4] }")),
    "hidden too big for memory": (
        "parameters",
        _toml(learner_extra="config = { hidden = [8192, 8192, 8192] }"),
    ),
    "lr_actor=-1": ("lr_actor", _toml(learner_extra="config = { lr_actor = -1.0 }")),
    "lr_actor=nan": ("lr_actor", _toml(learner_extra="config = { lr_actor = nan }")),
    "activation=sigmoid": (
        "activation",
        _toml(learner_extra='config = { activation = "sigmoid" }'),
    ),
    "iql batch_size=0": (
        "batch_size",
        _toml(algorithm="iql", learner_extra="config = { batch_size = 0 }"),
    ),
    "iql loss=l7": ("loss", _toml(algorithm="iql", learner_extra='config = { loss = "l7" }')),
    # non-finite and absurd numbers
    "past_prob=nan": ("past_prob", _toml(matchmaking_extra="past_prob = nan")),
    "initial=inf": ("initial", _toml(ratings_extra="initial = inf")),
    "elo_k=nan": ("elo_k", _toml(ratings_extra="elo_k = nan")),
    "payoff_decay=-inf": ("payoff_decay", _toml(matchmaking_extra="payoff_decay = -inf")),
    "games_per_pair=10**12": ("games_per_pair", _toml(games_per_pair=10**12)),
    "batch=10**12": ("league.batch", _toml(batch=10**12)),
    "rollout_len=10**8": ("league.rollout_len", _toml(rollout_len=10**8)),
    "one rollout too big for memory": ("GiB", _toml(rollout_len=100_000, batch=65_536)),
    "steps=-5": ("league.steps", _toml(steps=-5)),
    "device cuda:0": ("league.device", _toml(league_extra='device = "cuda:0"')),
    "device mps": ("league.device", _toml(league_extra='device = "mps"')),
    "actor_device cuda": ("league.actor_device", _toml(league_extra='actor_device = "cuda"')),
    "a learner on cuda": ("learner[0].device", _toml(learner_extra='device = "cuda"')),
    "a learner on gpu7": ("learner[0].device", _toml(learner_extra='device = "gpu7"')),
    "--workers 10**9": (
        "--workers",
        lambda d: [*_toml()(d), "--workers", str(10**9), "--backend", "ray"],
    ),
    "league name with a slash": ("league.name", _toml(name="a/b")),
    "league name ..": ("league.name", _toml(name="..")),
    "league name empty": ("league.name", _toml(name="")),
    "league name with NUL": ("league.name", _toml(name="a\\u0000b")),
    "deeply nested league TOML": ("nested too deeply", _deep_toml),
    # games
    "goofspiel(num_cards=100000)": ("limit", _show("goofspiel(num_cards=100000)")),
    "blotto(coins=100000)": ("actions", _show("blotto(coins=100000)")),
    "openspiel parameter of the wrong type": ("integer", _show("kuhn_poker(players=x)")),
    "openspiel parameter out of range": ("kuhn_poker", _show("kuhn_poker(players=99)")),
    "catalog game too big": ("limit", _show("matrix:pure_coordination(n=100000)")),
    "catalog horizon 10**9": (
        "horizon",
        _show("matrix:iterated_prisoners_dilemma(horizon=1000000000)"),
    ),
    "repeated game horizon 10**9": ("horizon", _game_toml(REPEATED)),
    "deeply nested game TOML": ("nested too deeply", _deep_game_toml),
    # train and eval arguments
    "train --steps 0": ("--steps", _train("iql", "tic_tac_toe", "--steps", "0")),
    "train --batch 10**11": ("--batch", _train("iql", "tic_tac_toe", "--batch", str(10**11))),
    "train --batch -3": ("--batch", _train("iql", "tic_tac_toe", "--batch", "-3")),
    "train on cuda:0": ("CUDA", _train("iql", "tic_tac_toe", "--device", "cuda:0")),
    "train --out /etc/passwd": (
        "not a folder",
        lambda d: ["train", "iql", "tic_tac_toe", "--out", "/etc/passwd"],
    ),
    "eval --games 0": ("--games", _eval_random("--games", "0")),
    "eval --games -5": ("--games", _eval_random("--games", "-5")),
    "eval --games 10**12": ("--games", _eval_random("--games", str(10**12))),
    "eval --budget nan": ("--budget", _eval_random("--nash", "--budget", "nan")),
    "league eval --games 0": ("--games", lambda d: ["league", "eval", _db(d), "--games", "0"]),
    "league eval --games 10**12": (
        "--games",
        lambda d: ["league", "eval", _db(d), "--games", str(10**12)],
    ),
    "a number that is not one": ("invalid int value", _eval_random("--games", "many")),
    "an unknown command": ("invalid choice", lambda d: ["bogus"]),
    # checkpoints
    "spec.json is a list": ("not an object", _checkpoint([1, 2])),
    "spec.json is a string": ("not an object", _checkpoint('"mappo"')),
    "spec.json is a number": ("not an object", _checkpoint("3")),
    "spec.json misses keys": ("lacks", _checkpoint({"algorithm": "mappo"})),
    "spec.json config is a list": (
        "spec",
        _checkpoint({"format": 1, "algorithm": "iql", "config": [], "game": "g", "info": {}}),
    ),
    "spec.json hidden=[200000,200000]": ("hidden", _spec_edit(hidden=[200000, 200000])),
    "weights symlinked to /dev/zero": ("not a regular file", _weights_dev_zero),
    # stores and their folders
    "files folder is a regular file": ("not a folder", _files_is_a_file),
    "files folder holds a user's files": ("did not make", _files_folder_not_ours),
    "resume with another config": ("differs", _resume_changed_config),
    "report --out is a file": (
        "not a folder",
        lambda d: ["report", _db(d), "--out", str(_file(d / "out.txt"))],
    ),
    # the viewer checks its screenshot path before opening a window
    "screenshot into a file's folder": (
        "not a folder",
        lambda d: ["play", "tic_tac_toe", "--screenshot", str(_file(d / "plain") / "s.png")],
    ),
    "screenshot is a folder": (
        ".png",
        lambda d: ["watch", "tic_tac_toe", "random", "random", "--screenshot", str(d)],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_input_is_one_line_and_exit_2(case, base_league, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    shutil.copytree(base_league, tmp_path / "b")
    if os.path.exists(MARKER):
        os.remove(MARKER)
    needle, build = CASES[case]
    argv = build(tmp_path)
    before_store = store_table(tmp_path / "b" / "l.db")
    before = tree(tmp_path)
    capsys.readouterr()

    try:
        rc = main(argv)
    except SystemExit as e:  # argparse's own errors exit from inside main
        rc = e.code

    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert rc == 2, f"{case}: exit {rc}, stderr {err!r}"
    assert len(lines) == 1 and lines[0].startswith("arena: error: "), f"{case}: {err!r}"
    assert "Traceback" not in err
    assert needle in lines[0], f"{case}: the line does not name {needle!r}: {lines[0]}"
    after = tree(tmp_path)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"{case}: files changed: {changed[:5]}"
    assert not os.path.exists(MARKER), f"{case}: code ran from a game spec"
    assert store_table(tmp_path / "b" / "l.db") == before_store


def test_a_closed_pipe_ends_quietly():
    """``arena games show chess | head -1``: no BrokenPipeError traceback, exit 141.

    The reader is gone before the first write (its end of the pipe is closed
    before the command starts), so the write fails whatever the output's size."""
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "arena.cli", "games", "show", "chess"],
            stdout=write_end,
            stderr=subprocess.PIPE,
        )
    finally:
        os.close(write_end)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert err == "", err


def test_a_report_of_a_crafted_db_runs_no_code(base_league, tmp_path, monkeypatch):
    """``arena report DB`` where the stored config names a hostile game: it may
    report or refuse, but never imports the module."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(base_league, tmp_path / "b")
    if os.path.exists(MARKER):
        os.remove(MARKER)
    argv = _db_with_game(HOSTILE_GAME)(tmp_path)
    assert main(["report", argv[2], "--out", str(tmp_path / "rep")]) in (0, 2)
    assert not os.path.exists(MARKER)


def test_weights_over_the_size_limit_are_refused_before_reading(tmp_path, capsys, monkeypatch):
    import agents.checkpoint

    ck = _good_checkpoint(tmp_path)
    monkeypatch.setattr(agents.checkpoint, "MAX_WEIGHTS_BYTES", 16)
    capsys.readouterr()
    assert main(["eval", str(ck), "--game", "matrix:rock_paper_scissors", "--games", "4"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "limit" in lines[0]
