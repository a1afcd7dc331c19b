"""Property test: league TOML files with hostile values, generated from the config schema.

Every section and key of :mod:`leagues.config` (walked from its dataclasses)
gets values such as NaN, inf, 10**12, negatives, wrong types, unicode and empty
strings. ``load_config`` must either raise a one-line ConfigError (and then
``arena league run`` exits 2 with exactly one line and creates no store) or
return a config whose values lie within the documented bounds.
"""

from __future__ import annotations

import dataclasses
import math
import typing

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arena.cli import main
from leagues import config as lc

BASE = {
    "league": {"game": "matrix:rock_paper_scissors", "steps": 64},
    "learner": [{"name": "main", "algorithm": "mappo"}],
}


def _schema() -> list[tuple[str, str, object]]:
    """(TOML section, key, type hint) for every field of every section dataclass."""
    out = []
    for toml_name, (_field, cls, _is_array) in lc.SECTIONS.items():
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            out.append((toml_name, f.name, hints[f.name]))
    return out


SCHEMA = _schema()
HYPER_KEYS = ["hidden", "lr_actor", "lr_critic", "gamma", "clip", "epochs", "minibatches", "activation", "adam_eps", "ent_coef"]  # fmt: skip

HOSTILE = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 10**12, -(10**12), 2**70, -1, 0, -0.5, 1e308]),
    st.sampled_from(["", " ", "ü", "名前", "a/b", "..", "\x00", "nan", "💥", "cuda:7", "mps"]),
    st.sampled_from([True, False, [], [1, -2], [10**9], {}, {"x": 1}]),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        out = []
        for c in v:
            if c in '"\\' or ord(c) < 32 or ord(c) == 127 or 0xD800 <= ord(c) <= 0xDFFF:
                out.append(f"\\u{ord(c):04x}" if not 0xD800 <= ord(c) <= 0xDFFF else "?")
            else:
                out.append(c)
        return '"' + "".join(out) + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def _dump(doc: dict) -> str:
    lines = []
    for section, body in doc.items():
        tables = body if isinstance(body, list) else [body]
        for t in tables:
            lines.append(f"[[{section}]]" if isinstance(body, list) else f"[{section}]")
            for k, v in t.items():
                if isinstance(v, dict) and k == "config":
                    continue
                lines.append(f"{k} = {_toml_value(v)}")
            if isinstance(t.get("config"), dict):
                lines.append(f"[{section}.config]")
                lines.extend(f"{k} = {_toml_value(x)}" for k, x in t["config"].items())
    return "\n".join(lines) + "\n"


@st.composite
def hostile_docs(draw):
    doc = {"league": dict(BASE["league"]), "learner": [dict(BASE["learner"][0])]}
    for _ in range(draw(st.integers(1, 3))):
        if draw(st.integers(0, 4)) == 0:
            cfg = doc["learner"][0].setdefault("config", {})
            cfg[draw(st.sampled_from(HYPER_KEYS))] = draw(HOSTILE)
            continue
        section, key, _hint = draw(st.sampled_from(SCHEMA))
        if key == "config":
            continue
        table = doc.setdefault(section, [{}] if lc.SECTIONS[section][2] else {})
        table = table[0] if isinstance(table, list) else table
        table[key] = draw(HOSTILE)
    return doc


def _within_bounds(cfg: lc.LeagueConfig) -> None:
    for toml_name, (field, _cls, is_array) in lc.SECTIONS.items():
        parts = getattr(cfg, field)
        for part in parts if is_array else (parts,):
            for f in dataclasses.fields(part):
                v = getattr(part, f.name)
                if isinstance(v, float):
                    assert math.isfinite(v), (toml_name, f.name, v)
                bounds = lc._RANGES.get((toml_name, f.name))
                if bounds is not None and v is not None:
                    lo, hi, _, _ = bounds
                    assert lo is None or v >= lo, (toml_name, f.name, v)
                    assert hi is None or v <= hi, (toml_name, f.name, v)


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(doc=hostile_docs())
def test_hostile_league_configs_fail_in_one_line_or_stay_in_bounds(tmp_path, capsys, doc):
    path = tmp_path / "league.toml"
    path.write_text(_dump(doc), encoding="utf-8")
    db = tmp_path / "x.db"
    try:
        cfg = lc.load_config(path)
    except lc.ConfigError as e:
        assert "\n" not in str(e)
        capsys.readouterr()
        rc = main(["league", "run", str(path), "--db", str(db), "--quiet", "--no-report"])
        err = capsys.readouterr().err
        assert rc == 2, err
        assert "Traceback" not in err
        assert len(err.strip().splitlines()) == 1, err
        assert not db.exists()
        return
    _within_bounds(cfg)
