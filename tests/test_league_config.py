"""League TOML config: defaults, round trips and one-line errors that name the key."""

import dataclasses
import json
import re
import shutil
from pathlib import Path

import pytest

from leagues.config import (
    SECTIONS,
    ConfigError,
    LeagueConfig,
    algorithm_fields,
    config_from_dict,
    config_json,
    config_to_dict,
    load_config,
    parse_toml,
)

REPO = Path(__file__).resolve().parents[1]

FULL = """
[league]
name = "rps"
game = "matrix:rock_paper_scissors"
seed = 3
steps = 20000

[[learner]]
name = "main"
algorithm = "mappo"
matchmaking = "pfsp"
[learner.config]
lr_actor = 0.001
hidden = [32, 32]

[[learner]]
name = "exploiter"
algorithm = "ippo"
role = "main_exploiter"
matchmaking = "pfsp"
reset_every = 5000
reset_to = "main"

[snapshots]
every_steps = 2000
win_rate_threshold = 0.7
eviction = "lowest_rating"

[matchmaking]
pfsp_weighting = "var"

[[reference]]
name = "uniform"
policy = "random"
"""


def _write(tmp_path: Path, text: str, name: str = "league.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_full_config_loads(tmp_path):
    cfg = load_config(_write(tmp_path, FULL))
    assert cfg.league.seed == 3 and cfg.league.steps == 20000 and cfg.league.batch == 64
    assert [lc.name for lc in cfg.learners] == ["main", "exploiter"]
    assert cfg.learners[0].config == {"lr_actor": 0.001, "hidden": [32, 32]}
    assert cfg.learner("exploiter").reset_to == "main"
    assert cfg.snapshots.win_rate_threshold == 0.7
    assert cfg.matchmaking.pfsp_weighting == "var"
    assert cfg.references[0].policy == "random"
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.league.seed = 4


def test_defaults_run_and_round_trip(tmp_path):
    assert config_from_dict({}) == LeagueConfig()
    assert load_config(_write(tmp_path, "")) == LeagueConfig()
    assert LeagueConfig().snapshots.win_rate_threshold is None
    cfg = load_config(_write(tmp_path, FULL))
    assert config_from_dict(config_to_dict(cfg)) == cfg
    assert config_from_dict(json.loads(config_json(cfg))) == cfg


def test_relative_game_file_resolves_against_the_config(tmp_path):
    shutil.copy(REPO / "examples" / "games" / "prisoners_dilemma.toml", tmp_path / "pd.toml")
    (tmp_path / "sub").mkdir()
    cfg = load_config(_write(tmp_path / "sub", '[league]\ngame = "../pd.toml"\n'))
    assert cfg.league.game == str((tmp_path / "pd.toml").resolve())


def test_reference_checkpoint_must_fit_the_game(tmp_path):
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "spec.json").write_text(json.dumps({"game": "matrix:rock_paper_scissors"}))
    cfg = load_config(_write(tmp_path, '[[reference]]\nname = "old"\npolicy = "ckpt"\n'))
    assert cfg.references[0].policy == str(ckpt.resolve())
    (ckpt / "spec.json").write_text(json.dumps({"game": "kuhn_poker"}))
    with pytest.raises(
        ConfigError, match=r"reference\[0\]\.policy: the checkpoint was trained on 'kuhn_poker'"
    ):
        load_config(_write(tmp_path, '[[reference]]\nname = "old"\npolicy = "ckpt"\n'))


def test_hyperparameter_names_come_from_the_algorithm_config():
    fields = algorithm_fields("mappo")
    assert fields["lr_actor"] is float and fields["hidden"] == tuple[int, ...]
    assert "lr" in algorithm_fields("iql")  # inherited from the shared QConfig


ERRORS = [
    # (TOML text, the start of the message after the file name, a piece of the fix)
    (
        '[[learner]]\nmatchmaking = "pfs"\n',
        "learner[0].matchmaking: 'pfs' is not one of uniform, latest, self_play, pfsp, nash",
        "did you mean pfsp?",
    ),
    ("[league]\nseeed = 3\n", "league.seeed: unknown key", "did you mean seed?"),
    ("[leage]\nseed = 3\n", "leage: unknown section", "did you mean league?"),
    (
        '[league]\nseed = "3"\n',
        "league.seed: expected an integer, got '3'",
        "write seed = 3 (no quotes)",
    ),
    (
        "[league]\nsteps = 1e5\n",
        "league.steps: expected an integer, got 100000.0",
        "write steps = 100000",
    ),
    ("[league]\nbatch = 0\n", "league.batch: 0 is out of range", "give a value in [1, 65536]"),
    ('[league]\ndevice = "gpu"\n', "league.device: 'gpu' is not a torch device", "use 'cpu'"),
    ('[league]\ngame = "kuhn_pokr"\n', "league.game: unknown game 'kuhn_pokr'", "kuhn_poker"),
    (
        '[league]\ngame = "matrix:rock_paper_sissors"\n',
        "league.game: unknown matrix game",
        "rock_paper_scissors",
    ),
    (
        '[[learner]]\nalgorithm = "mapo"\n',
        "learner[0].algorithm: 'mapo' is not one of iql",
        "did you mean mappo?",
    ),
    (
        '[[learner]]\nrole = "exploiter"\n',
        "learner[0].role: 'exploiter' is not one of main, main_exploiter, league_exploiter",
        "did you mean",
    ),
    (
        "[[learner]]\n[learner.config]\nlr = 0.1\n",
        "learner[0].config.lr: not a hyperparameter of mappo",
        "lr_actor",
    ),
    (
        '[[learner]]\n[learner.config]\nlr_actor = "fast"\n',
        "learner[0].config.lr_actor: expected a number, got 'fast'",
        "without quotes",
    ),
    (
        "[[learner]]\n[learner.config]\nhidden = 64\n",
        "learner[0].config.hidden: expected a list of integers",
        "hidden = [64, 64]",
    ),
    ("[[learner]]\nconfig = 3\n", "learner[0].config: expected a table", "[learner.config]"),
    (
        "[[learner]]\nreset_every = 100\n",
        "learner[0].reset_every: a main learner never resets",
        'role = "main_exploiter"',
    ),
    (
        '[[learner]]\n[[learner]]\nname = "x"\nrole = "main_exploiter"\nreset_to = "mian"\n',
        "learner[1].reset_to: 'mian' is neither 'initial' nor a main learner",
        "did you mean main?",
    ),
    (
        '[[learner]]\nname = "a"\n[[learner]]\nname = "a"\n',
        "learner[1].name: 'a' is already the name of learner[0]",
        "unique",
    ),
    ('[[learner]]\nname = "a@1"\n', "learner[0].name: 'a@1' is not a usable name", "without '@'"),
    (
        '[[learner]]\n[[reference]]\nname = "main"\n',
        "reference[0].name: 'main' is already the name of learner[0]",
        "unique",
    ),
    (
        '[[reference]]\nname = "old"\npolicy = "nowhere"\n',
        "reference[0].policy: 'nowhere' is neither 'random' nor a checkpoint directory",
        "'arena train'",
    ),
    (
        '[[learner]]\nrole = "main_exploiter"\n',
        "learner[0].role: a main_exploiter needs a main learner to exploit",
        'role = "main"',
    ),
    ("learner = []\n", "learner: no learners", "add a [[learner]] table"),
    ('[learner]\nname = "x"\n', "learner: expected an array of tables", "write [[learner]]"),
    ('league = "x"\n', "league: expected a table", "write [league]"),
    (
        "[snapshots]\nwin_rate_threshold = 0\n",
        "snapshots.win_rate_threshold: 0.0 is out of range",
        "(0, 1]",
    ),
    (
        '[snapshots]\neviction = "random"\n',
        "snapshots.eviction: 'random' is not one of oldest, lowest_rating",
        "pick one of",
    ),
    (
        "[snapshots]\nkeep_first = 1\n",
        "snapshots.keep_first: expected true or false, got 1",
        "keep_first = true",
    ),
    ("[matchmaking]\npast_prob = 1.5\n", "matchmaking.past_prob: 1.5 is out of range", "[0, 1]"),
    (
        "[matchmaking]\npayoff_decay = 0\n",
        "matchmaking.payoff_decay: 0.0 is out of range",
        "(0, 1]",
    ),
    (
        '[matchmaking]\npfsp_weighting = "variance"\n',
        "matchmaking.pfsp_weighting: 'variance' is not one of hard, var",
        "did you mean",
    ),
    ("[ratings]\nelo_k = -1\n", "ratings.elo_k: -1.0 is out of range", "(0, inf]"),
    (
        "[evaluation]\ngames_per_pair = 0\n",
        "evaluation.games_per_pair: 0 is out of range",
        "[1, 1000000]",
    ),
]


@pytest.mark.parametrize("text,start,fix", ERRORS, ids=[e[1].split(":")[0] for e in ERRORS])
def test_errors_are_one_line_naming_the_key(tmp_path, text, start, fix):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}: {start}"), msg
    assert fix in msg, msg


@pytest.mark.parametrize(
    "text,line,col",
    [
        ("[league]\nseed = \n", 2, 8),
        ("[league\nseed = 1\n", 1, 8),
        ('[league]\nname = "x\n', 2, 10),
    ],
)
def test_malformed_toml_names_file_line_and_column(tmp_path, text, line, col):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}:{line}:{col}: malformed TOML: ")
    assert f"line {line}, column {col}" in msg


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="no such file; pass the path of a league TOML file"):
        load_config(tmp_path / "nope.toml")


def test_docs_cover_every_key_and_their_examples_load():
    doc = (REPO / "docs" / "league_config.md").read_text()
    for toml_name, (_field, cls, _array) in SECTIONS.items():
        header = f"### `[[{toml_name}]]`" if _array else f"### `[{toml_name}]`"
        assert header in doc, header
        part = doc.split(header, 1)[1].split("\n### ", 1)[0]
        for f in dataclasses.fields(cls):
            key = f"[{toml_name}.{f.name}]" if f.name == "config" else f.name
            assert f"| `{key}` |" in part, (toml_name, f.name)
    blocks = re.findall(r"```toml\n(.*?)```", doc, re.S)
    assert len(blocks) == 2
    for block in blocks:
        config_from_dict(parse_toml(block, "docs"), "docs", base_dir=REPO)
