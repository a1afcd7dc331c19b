"""The league report: every section and figure, empty leagues, the store, and a real browser."""

import base64
import io
import json
import os
import re
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

from arena.evaluation.metagame import analyze, metagame_from_table
from arena.report import (
    GapPoint,
    RatingPoint,
    ReportData,
    load_report_data,
    with_analysis,
    with_population,
    write_report,
)

SECTIONS = [
    "League summary",
    "Ratings over time",
    "NashConv and exploitability over time",
    "Payoff table (empirical meta-game)",
    "Meta-Nash support",
    "Top members by Nash averaging",
    "Dominance graph and intransitivity",
    "Notes: what is exact and what is a bound",
]
FIGURES = ["ratings.png", "nash_conv.png", "payoffs.png", "dominance.png"]
RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])


def _synthetic(kind="zero_sum") -> ReportData:
    """Rock, paper, scissors snapshots plus a random member that loses to all three."""
    table = np.zeros((4, 4))
    table[:3, :3] = RPS
    table[:3, 3], table[3, :3] = 0.6, -0.6
    if kind == "cooperative":
        table = np.array(
            [[1.0, 0.0, 0.2, 0.1], [0.0, 1.0, 0.1, 0.2], [0.2, 0.1, 0.9, 0.0], [0.1, 0.2, 0.0, 0.5]]
        )
    names = ["rock@1000", "paper@2000", "scissors@3000", "random"]
    meta = metagame_from_table(names, table, kind, stderr=np.full((4, 4), 0.05))
    ratings = [
        RatingPoint(step, m, system, 1200 + (i - 1.5) * step / 100)
        for step in range(0, 5001, 1000)
        for i, m in enumerate(names)
        for system in ("elo", "melo")
    ]
    gaps = [GapPoint(s, "learner", 1.0 / (1 + s / 1000), "exact") for s in range(0, 5001, 1000)]
    gaps += [
        GapPoint(s, "meta_nash", 0.5 / (1 + s / 1000), "exploiter_lower_bound")
        for s in range(0, 5001, 1000)
    ]
    data = ReportData(
        "matrix:rock_paper_scissors",
        kind,
        ["iql"],
        steps=5000,
        wall_seconds=42.0,
        matches=600,
        ratings=ratings,
        gaps=gaps,
        notes=["synthetic data"],
    )
    return with_analysis(data, analyze(meta))


def _decoded_pngs(html_text):
    from PIL import Image

    out = []
    for b64 in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html_text):
        out.append(Image.open(io.BytesIO(base64.b64decode(b64))).convert("L"))
    return out


def test_report_has_every_section_and_figure(tmp_path):
    html_path, md_path = write_report(_synthetic(), tmp_path)
    text = open(html_path, encoding="utf-8").read()
    md = open(md_path, encoding="utf-8").read()
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in text and f"## {title}" in md
    images = _decoded_pngs(text)
    assert len(images) == len(FIGURES)
    for img in images:  # real pictures, not blank canvases
        assert img.size[0] > 200 and np.asarray(img, dtype=float).std() > 10
    for name in FIGURES:
        assert f"]({name})" in md and os.path.getsize(tmp_path / name) > 1000
    # Self-contained: no external resources in the HTML.
    assert "http://" not in text and "https://" not in text and "<script" not in text
    # Content: the meta-Nash is uniform on the cycle and the cycle is listed; bounds are labelled.
    assert (
        text.count("0.3333") >= 3 and "rock@1000 → scissors@3000 → paper@2000 → rock@1000" in text
    )
    assert (
        "lower bound (exploiter)" in text and "Lower bounds: NashConv of meta-Nash mixture" in text
    )


def test_cooperative_report_adds_cross_play(tmp_path):
    html_path, md_path = write_report(_synthetic("cooperative"), tmp_path)
    text = open(html_path, encoding="utf-8").read()
    assert "<h2>Cross-play (cooperative game)</h2>" in text
    assert "](cross_play.png)" in open(md_path).read()
    assert len(_decoded_pngs(text)) == len(FIGURES) + 1
    # self-play mean 0.85, cross-play mean 0.1
    assert "0.8500" in text and "0.1000" in text


def test_one_member_no_match_report_says_so(tmp_path):
    html_path, md_path = write_report(ReportData("kuhn_poker", members=["main"]), tmp_path)
    text = open(html_path, encoding="utf-8").read()
    assert "one member (main) and 0 matches" in text
    assert "No ratings yet" in text and "No NashConv or exploitability measurements yet" in text
    assert "<img" not in text and "## League summary" in open(md_path).read()


def test_load_report_data_from_a_league_store(tmp_path):
    from leagues.pool import Member
    from leagues.store import Store

    db = tmp_path / "league.db"
    with Store.open(db, create=True) as store:
        store.set_config(
            "",
            {
                "league": {"name": "rps", "game": "matrix:rock_paper_scissors"},
                "learner": [{"name": "main", "algorithm": "iql"}],
            },
        )
        for i, name in enumerate(["rock", "paper", "scissors"]):
            store.add_member(
                Member(i + 1, name, "snapshot", algorithm="iql", step=100 * i, created=1000.0 + i)
            )
        step = 0
        for a in range(3):
            for b in range(a + 1, 3):
                for seat in range(2):
                    ret = float(RPS[a, b])
                    seats, rets = (
                        ([a + 1, b + 1], [ret, -ret])
                        if seat == 0
                        else ([b + 1, a + 1], [-ret, ret])
                    )
                    store.add_match(step, seats, rets, seed=step, tag="eval", created=1010.0 + step)
                    step += 1
        store.add_ratings(5, "elo", {1: 1200.0, 2: 1210.0, 3: 1190.0})
        # The report reads the stored population evaluation, not the matches.
        store.add_evaluation(5, "league", _rps_record().to_json(), created=1020.0)
        store.add_evaluation(
            5, "nash_gap", {"who": "learner", "nash_conv": 0.25, "method": "exact"}, created=1025.0
        )
    data = load_report_data(db)
    assert data.game == "matrix:rock_paper_scissors" and data.kind == "zero_sum"
    assert (
        data.algorithms == ["iql"]
        and data.matches == 6
        and data.members == ["rock", "paper", "scissors"]
    )
    assert np.asarray(data.payoffs) == pytest.approx(RPS)
    assert data.meta_nash == list(_rps_record().meta_nash)
    assert data.table_method == "exact"
    assert data.intransitive == [[0, 2, 1]]
    assert [(g.who, g.value, g.method) for g in data.gaps] == [("learner", 0.25, "exact")]
    assert data.wall_seconds == pytest.approx(25.0)  # first member created to last evaluation
    html_path, _ = write_report(data, tmp_path / "out")
    assert "League report: rps on matrix:rock_paper_scissors" in open(html_path).read()


def _rps_record(learners=()):
    from arena.evaluation.record import Gap, PopulationEvaluation

    return PopulationEvaluation(
        step=5,
        game="matrix:rock_paper_scissors",
        kind="zero_sum",
        members=("rock", "paper", "scissors"),
        member_kinds=("snapshot",) * 3,
        payoffs=tuple(tuple(float(x) for x in r) for r in RPS),
        stderr=((0.0,) * 3,) * 3,
        table_method="exact",
        meta_nash=(1 / 3,) * 3,
        meta_method="lp",
        nash_averaging=(0.0,) * 3,
        nash_averaging_weights=(1 / 3,) * 3,
        nash_averaging_note=None,
        dominance_edges=((0, 2), (1, 0), (2, 1)),
        cycles=((0, 2, 1),),
        components=((0, 1, 2),),
        meta_nash_gap=Gap(0.0, 0.0, (0.0, 0.0), "exact"),
        learners=tuple(learners),
    )


def test_population_record_round_trips_and_rejects_bad_payloads():
    from arena.evaluation.record import PopulationEvaluation, PopulationFormatError

    rec = _rps_record()
    payload = json.loads(json.dumps(rec.to_json(), allow_nan=False))
    assert PopulationEvaluation.from_json(payload) == rec
    bad = [
        ({k: v for k, v in payload.items() if k != "version"}, "older evaluation format"),
        ({**payload, "version": 99}, "newer than this arena reads"),
        ({**payload, "payoffs": [[0.0]]}, "payoffs is not 3 x 3"),
        ({**payload, "meta_nash": "uniform"}, "meta_nash is not a list"),
        ({**payload, "cycles": [[0, 7]]}, "bad member index"),
        ([], "not a JSON object"),
    ]
    for d, words in bad:
        with pytest.raises(PopulationFormatError, match=words) as err:
            PopulationEvaluation.from_json(d)
        assert "\n" not in str(err.value)


def test_report_shows_the_stored_population_and_learners_outside_the_meta_game(tmp_path):
    """Known answer: a learner (pure rock), frozen rock/paper/scissors snapshots and a uniform
    reference in rock-paper-scissors. The learner has no meta-Nash weight (it is not in the
    frozen table at all), the report's mixture is the stored one exactly, and league eval and
    the report label the table the same way (exact)."""
    import games
    from agents.baselines import FixedMixed
    from arena.evaluation import evaluate_population, population_lines
    from leagues.pool import Member
    from leagues.store import Store

    spec = "matrix:rock_paper_scissors"
    game = games.load(spec)
    eye = np.eye(3)
    names = ["rock@1", "paper@2", "scissors@3", "uniform", "main"]
    kinds = ["snapshot"] * 3 + ["reference", "learner"]
    policies = [FixedMixed(eye[0]), FixedMixed(eye[1]), FixedMixed(eye[2])]
    policies += [FixedMixed(np.full(3, 1 / 3)), FixedMixed(eye[0])]
    rec = evaluate_population(game, spec, names, kinds, policies, 100, 8, seed=0)
    assert rec.members == ("rock@1", "paper@2", "scissors@3", "uniform")
    assert rec.table_method == "exact" and "main" not in rec.members
    (row,) = rec.learners
    assert row.name == "main" and row.returns == pytest.approx((0.0, -1.0, 1.0, 0.0))
    assert row.gap.nash_conv == pytest.approx(2.0) and row.gap.method == "exact"
    assert rec.meta_nash_gap.nash_conv == pytest.approx(0.0, abs=1e-9)
    assert row.vs_meta_nash == pytest.approx(0.0, abs=1e-9)

    db = tmp_path / "planted.db"
    with Store.open(db, create=True) as store:
        store.set_config("", {"league": {"name": "planted", "game": spec}, "learner": []})
        for i, (n, k) in enumerate(zip(names, kinds)):
            store.add_member(Member(i + 1, n, k, created=1.0 + i))
        store.add_evaluation(100, "league", rec.to_json(), created=10.0)
        for g in rec.gap_rows():
            store.add_evaluation(100, "nash_gap", g, created=10.0)
    data = load_report_data(db)
    assert data.members == list(rec.members) and "main" not in data.members
    assert data.meta_nash == list(rec.meta_nash)  # exactly the stored mixture
    assert data.table_method == rec.table_method == "exact"
    assert [r.name for r in data.learners] == ["main"]
    html_path, md_path = write_report(data, tmp_path / "out")
    md = open(md_path, encoding="utf-8").read()
    support = md.split("## Meta-Nash support")[1].split("## ")[0]
    assert "| main |" not in support and "| rock@1 | 0.3333 |" in support
    assert "## Learners against the frozen pool" in md and "| main |" in md
    assert "are exact: computed from exact expected returns" in md and "estimated" not in md
    assert any(line.startswith("payoff table: exact;") for line in population_lines(rec))


def test_sampled_tables_are_labelled_estimated_by_league_eval_and_report(tmp_path):
    import games
    from agents.baselines import UniformRandom
    from arena.evaluation import evaluate_population, population_lines

    game = games.load("kuhn_poker")
    names, kinds = ["a", "b", "main"], ["reference", "snapshot", "learner"]
    policies = [UniformRandom(), UniformRandom(), UniformRandom()]
    # max_states=5: too small for an exact table or NashConv, so sampled and None with a reason
    rec = evaluate_population(game, "kuhn_poker", names, kinds, policies, 7, 16, max_states=5)
    assert rec.table_method.startswith("sampled: 16 games per pair, no pair deterministic")
    assert not rec.exact
    assert rec.learners[0].method.startswith("sampled: 16 games per frozen member, 0 of 2 pairs")
    assert rec.learners[0].gap.nash_conv is None
    assert "decision nodes" in rec.learners[0].gap.note
    assert any(
        "payoff table: estimated, sampled: 16 games per pair" in x for x in population_lines(rec)
    )
    data = with_population(ReportData("kuhn_poker", "zero_sum", matches=3), rec)
    _, md_path = write_report(data, tmp_path)
    md = open(md_path, encoding="utf-8").read()
    assert "estimated from sampled matches (16 games per pair, no pair deterministic" in md
    assert "are exact" not in md


def test_report_without_a_stored_evaluation_says_so(tmp_path):
    from leagues.pool import Member
    from leagues.store import Store

    db = tmp_path / "none.db"
    with Store.open(db, create=True) as store:
        store.set_config("", {"league": {"name": "n", "game": "kuhn_poker"}, "learner": []})
        store.add_member(Member(1, "a", "reference", policy="random", created=1.0))
        store.add_member(Member(2, "b", "reference", policy="random", created=2.0))
        store.add_match(1, [1, 2], [1.0, -1.0], seed=0, tag="eval", created=3.0)
        store.add_evaluation(1, "league", {"members": ["a", "b"], "meta_nash": [1, 0]})
    data = load_report_data(db)
    assert data.meta_nash is None  # nothing invented from the matches
    assert any("older evaluation format" in n for n in data.notes)
    other = tmp_path / "empty.db"
    with Store.open(other, create=True) as store:
        store.set_config("", {"league": {"name": "n", "game": "kuhn_poker"}, "learner": []})
        store.add_member(Member(1, "a", "reference", policy="random", created=1.0))
        store.add_member(Member(2, "b", "reference", policy="random", created=2.0))
        store.add_match(1, [1, 2], [1.0, -1.0], seed=0, tag="eval", created=3.0)
    data = load_report_data(other)
    assert data.payoffs is None
    assert any(
        "No population evaluation stored yet; run arena league eval" in n for n in data.notes
    )


def test_report_command_writes_next_to_the_database(tmp_path, capsys):
    from arena.cli import main
    from leagues.pool import Member
    from leagues.store import Store

    db = tmp_path / "one.db"
    with Store.open(db, create=True) as store:
        store.set_config("", {"league": {"name": "solo", "game": "kuhn_poker"}, "learner": []})
        store.add_member(Member(1, "main", "learner", algorithm="mappo", created=1.0))
    assert main(["report", str(db)]) == 0
    out_dir = tmp_path / "one_report"
    assert (out_dir / "report.html").exists() and (out_dir / "report.md").exists()
    assert "one member (main)" in (out_dir / "report.html").read_text()
    assert str(out_dir / "report.html") in capsys.readouterr().out


# ---------------------------------------------------------------------------
# A real browser


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _run_chromium(*args, timeout=90):
    exe = _chromium()
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        cmd = [
            exe,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=5000",
            *args,
        ]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.skipif(
    _chromium() is None, reason="chromium is not installed (apt-get install -y chromium)"
)
def test_report_renders_in_headless_chromium(tmp_path):
    from PIL import Image

    html_path, _ = write_report(_synthetic(), tmp_path)
    # A copy with a probe script: after load it writes every image's decoded size into the title.
    text = open(html_path, encoding="utf-8").read()
    probe = (
        "<script>window.addEventListener('load', () => { document.title = 'PROBE' + JSON.stringify("
        "[...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight])); });</script>"
    )
    probe_path = tmp_path / "probe.html"
    probe_path.write_text(text.replace("</body>", probe + "</body>"), encoding="utf-8")
    dom = _run_chromium("--dump-dom", probe_path.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = re.search(r"<title>PROBE(.*?)</title>", dom.stdout)
    assert found, "the probe script did not run: " + dom.stdout[:500]
    images = json.loads(found.group(1).replace("&quot;", '"'))
    assert len(images) == len(FIGURES)
    assert all(done and w > 200 and h > 200 for done, w, h in images), images

    # A screenshot of the report itself: text, tables and figures, not a blank page.
    shot = tmp_path / "shot.png"
    res = _run_chromium(
        "--window-size=1100,2400", f"--screenshot={shot}", (tmp_path / "report.html").as_uri()
    )
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=float)
    assert pixels.shape[0] >= 2000 and pixels.std() > 20
    non_white = (pixels.min(axis=-1) < 200).mean()
    colourful = (pixels.max(axis=-1) - pixels.min(axis=-1) > 60).mean()  # plotted lines and heatmap
    assert non_white > 0.03 and colourful > 0.005, (non_white, colourful)
