"""Survey simulation against a loopback fake OpenAI-compatible server: DEF persona, configuration
and memory reach the requests and can each be switched off; answers are stored, scored (KL / JS
per country, diversity) and a re-run makes no new calls.

The fake respondent answers from a FIXED distribution per country (read from the prompt), drawing
with the fake server's ``request_rng`` — like a seed-honouring sampling API: a request with a seed
gets the same answer for the same seed and prompt, one without a seed a fresh sample. So the
answers are draws from the country's distribution and the expected KL is known, with DEF on or
off; only a server that ignores sampling (or one seed sent by everyone) gives zero diversity.
"""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import use_llm
from fake_openai import Reply, request_rng
from workbench.cli import main
from workbench.errors import WorkbenchError
from workbench.survey.config import DefConfig
from workbench.survey.importer import import_survey
from workbench.survey.memory import ConversationMemory
from workbench.survey.metrics import js_distance, kl_divergence
from workbench.survey.personas import cities_for
from workbench.survey.run_scores import bootstrap_mean_ci, diversity_table, score_run
from workbench.survey.simulate import respondent_rngs, respondent_seed, run_survey

PROMPT_RE = re.compile(r"citizen from (?P<country>.+?), living in (?P<city>.+?)\. You should .*?"
                       r"Request: (?P<question>[^\n]*)", re.S)
OPTIONS = ["Agree", "Neutral", "Disagree"]
COUNTRIES = {"US": "United States", "JP": "Japan", "KR": "South Korea", "CN": "China"}
# The fake's answer distribution per country (over OPTIONS; no share below 0.2, so that with 40
# answers an option is rarely missed, 0.8**40 = 1e-4, and the smoothing seldom dominates) ...
FAKE = {"United States": [0.6, 0.2, 0.2], "Japan": [0.2, 0.6, 0.2], "South Korea": [0.2, 0.2, 0.6],
        "China": [1 / 3, 1 / 3, 1 / 3]}
# ... and the human distributions of the test survey, per country and question (q1..q4).
HUMAN = {
    "United States": [[0.5, 0.3, 0.2], [0.5, 0.2, 0.3], [0.6, 0.2, 0.2], [0.4, 0.3, 0.3]],
    "Japan": [[0.6, 0.3, 0.1], [0.7, 0.2, 0.1], [0.6, 0.2, 0.2], [0.7, 0.25, 0.05]],
    "South Korea": [[0.8, 0.15, 0.05], [0.85, 0.1, 0.05], [0.9, 0.05, 0.05], [0.8, 0.15, 0.05]],
    "China": [[0.98, 0.01, 0.01], [0.01, 0.98, 0.01], [0.01, 0.01, 0.98], [0.98, 0.01, 0.01]],
}
DIMENSIONS = ["TDI", "TDI", "EVI", None]


def question_text(i: int) -> str:
    return f"Statement {i}: should people follow custom number {i}?"


class FixedDistributionRespondent:
    """The fake model: option i with probability FAKE[country][i]; replies to the questions in
    ``invalid`` with text that names no option."""

    def __init__(self, dists=FAKE, invalid=()):
        self.dists = dists
        self.invalid = set(invalid)

    def __call__(self, body: dict) -> str:
        m = PROMPT_RE.search(body["messages"][-1]["content"])
        rng = request_rng(body)
        if m["question"] in self.invalid:
            return "I would rather not say."
        i = rng.choice(3, p=self.dists[m["country"]])
        return f"Answer: {'ABC'[i]}\nExplanation: that is what most people in {m['city']} think."


def write_survey(tmp_path, n_questions=4, countries=tuple(HUMAN)) -> str:
    questions = [{"id": f"q{i}", "text": question_text(i), "type": "single", "options": OPTIONS,
                  **({"dimension": DIMENSIONS[(i - 1) % 4]} if DIMENSIONS[(i - 1) % 4] else {})}
                 for i in range(1, n_questions + 1)]
    human = {c: {f"q{i}": dict(zip(OPTIONS, HUMAN[c][(i - 1) % 4])) for i in range(1, n_questions + 1)}
             for c in countries}
    path = tmp_path / "survey.json"
    path.write_text(json.dumps({"name": "test survey", "questions": questions, "human": human}))
    return str(path)


@pytest.fixture
def sim(project, fake_openai, tmp_path):
    """A project with the test survey and the generator role on the fake server."""
    import_survey(project, write_survey(tmp_path))
    use_llm(project, fake_openai.base_url, roles=("generator",), concurrency=16)
    fake_openai.chat = FixedDistributionRespondent()
    return project


def requests_of(fake, country: str | None = None) -> list[dict]:
    out = []
    for r in fake.chat_requests():
        body = r["body"]
        m = PROMPT_RE.search(body["messages"][-1]["content"])
        if country is None or m["country"] == country:
            out.append({**body, "_country": m["country"], "_city": m["city"], "_question": m["question"]})
    return out


def run(store, countries=("US",), respondents=6, **kwargs):
    return run_survey(store, None, countries=countries, respondents=respondents, show_progress=False, **kwargs)


# -- DEF components ------------------------------------------------------------------------------


def test_persona_cities_vary_across_respondents_and_stay_within_one(sim, fake_openai):
    report = run(sim, respondents=12)

    assert report.valid == 12 * 4 and report.failed == 0
    rows = sim.db.execute("select respondent, city, prompt from survey_responses").fetchall()
    by_respondent: dict[int, set[str]] = {}
    for respondent, city, prompt in rows:
        assert f"citizen from United States, living in {city}." in prompt
        by_respondent.setdefault(respondent, set()).add(city)
    assert all(len(cities) == 1 for cities in by_respondent.values())  # one persona per conversation
    cities = {c for cs in by_respondent.values() for c in cs}
    assert cities <= set(cities_for("United States")) and len(cities) >= 5
    assert {r["_city"] for r in requests_of(fake_openai)} == cities


def test_sampled_generation_parameters_reach_the_requests(sim, fake_openai):
    run(sim, respondents=5)

    bodies = requests_of(fake_openai)
    assert len(bodies) == 20
    assert not any("seed" in b for b in bodies)  # no seed unless the user gives one
    sent = {(b["temperature"], b["top_p"]) for b in bodies}
    assert len(sent) == 20  # every request has its own draw
    cfg = DefConfig()
    assert all(cfg.temperature_range[0] <= t <= cfg.temperature_range[1] <= 1.0 for t, _ in sent)
    assert all(cfg.top_p_range[0] <= p <= cfg.top_p_range[1] for _, p in sent)
    stored = {(p["temperature"], p["top_p"])
              for p in (json.loads(r[0]) for r in sim.db.execute("select params from survey_responses"))}
    assert stored == sent


def test_memory_is_bounded_forgets_at_random_and_drops_invalid_answers(project, fake_openai, tmp_path):
    import_survey(project, write_survey(tmp_path, n_questions=7))
    use_llm(project, fake_openai.base_url, roles=("generator",), concurrency=16)
    fake_openai.chat = FixedDistributionRespondent(invalid={question_text(3)})
    cfg = DefConfig(max_memory=2)

    report = run(project, respondents=10, def_config=cfg)

    assert report.unparseable == 10 and report.valid == 60
    bodies = requests_of(fake_openai)
    assert len(bodies) == 70
    remembered_at_q7 = set()
    for b in bodies:
        history = b["messages"][:-1]
        assert len(history) <= 2 * cfg.max_memory
        assert [m["role"] for m in history] == ["user", "assistant"] * (len(history) // 2)
        asked = [PROMPT_RE.search(m["content"])["question"] for m in history[::2]]
        assert question_text(3) not in asked  # the turn without a valid answer was dropped
        # only the request and the answer are kept: no explanation
        assert all(re.fullmatch(r"Answer: (Agree|Neutral|Disagree)", m["content"]) for m in history[1::2])
        if b["_question"] == question_text(7):
            remembered_at_q7.add(tuple(asked))
    # oldest-first forgetting would always remember q5, q6 before q7
    assert len(remembered_at_q7) > 1 and remembered_at_q7 != {(question_text(5), question_text(6))}

    # the forgetting is exactly the seeded memory of each respondent replayed
    rows = project.db.execute("select respondent, question_id, valid, prompt, parsed, params from survey_responses "
                              "order by respondent, question_id").fetchall()
    sent = {(b["temperature"], b["top_p"]): b["messages"][:-1] for b in bodies}  # each request its own draw
    for k in range(10):
        memory = ConversationMemory(cfg.max_memory, respondent_rngs(cfg, "United States", k)[2])
        mine = [r for r in rows if r[0] == k]
        assert len(mine) == 7
        for _, qid, valid, prompt, parsed, params in mine:
            expected = [{"content": text, "role": role} for role, text in memory.messages()]
            params = json.loads(params)
            assert sent[params["temperature"], params["top_p"]] == expected
            memory.add(prompt, "Answer: " + ", ".join(json.loads(parsed)["options"] or []), bool(valid))
        assert len(memory.forgotten) == 6 - 2  # six valid answers, two remembered at the end


@pytest.mark.parametrize("switch", ["persona", "sample_generation_config", "memory"])
def test_each_def_component_can_be_switched_off(sim, fake_openai, switch):
    cfg = DefConfig(**{switch: False})

    report = run(sim, respondents=6, def_config=cfg)

    assert report.run_name == {"persona": "fake-model/DEF-no-persona", "sample_generation_config":
                               "fake-model/DEF-no-config", "memory": "fake-model/DEF-no-memory"}[switch]
    bodies = requests_of(fake_openai)
    cities = {b["_city"] for b in bodies}
    params = {(b["temperature"], b["top_p"], b.get("seed")) for b in bodies}
    longest = max(len(b["messages"]) for b in bodies)
    if switch == "persona":
        assert cities == {"United States"}  # "living in United States": no city
        assert {r[0] for r in sim.db.execute("select city from survey_responses")} == {None}
    else:
        assert len(cities) > 1
    if switch == "sample_generation_config":
        assert params == {(1.0, 1.0, None)}
    else:
        assert len(params) == len(bodies)
    if switch == "memory":
        assert longest == 1
    else:
        assert longest == 2 * 3 + 1  # three remembered pairs before the fourth question


# -- seeds and answer diversity -------------------------------------------------------------------


def test_the_fake_server_honours_seeds():
    body = {"messages": [{"role": "user", "content": "Request: q1"}], "temperature": 1.0, "top_p": 1.0}
    draw = lambda b: int(request_rng(b).integers(2**62))  # noqa: E731
    assert len({draw({**body, "seed": 3}) for _ in range(5)}) == 1  # same seed and prompt: same answer
    assert draw({**body, "seed": 4}) != draw({**body, "seed": 3})
    assert draw({**body, "seed": 3, "messages": [{"role": "user", "content": "Request: q2"}]}) != draw({**body, "seed": 3})
    assert len({draw(body) for _ in range(5)}) == 5  # no seed: sampled


def _answers_by_question(store, run_name: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for qid, parsed in store.db.execute("select question_id, parsed from survey_responses where run_name = ? "
                                        "order by respondent", [run_name]):
        out.setdefault(qid, []).append(json.loads(parsed)["options"][0])
    return out


def test_without_def_respondents_differ_on_a_seed_honouring_server(sim, fake_openai):
    report = run(sim, countries=["CN"], respondents=12, def_config=DefConfig.baseline())

    bodies = requests_of(fake_openai)
    assert len(bodies) == 48 and len({json.dumps(b["messages"]) for b in bodies}) == 4  # everyone asks alike
    assert not any("seed" in b for b in bodies) and {b["temperature"] for b in bodies} == {1.0}
    answers = _answers_by_question(sim, report.run_name)
    assert all(len(set(a)) > 1 for a in answers.values())  # China: uniform over 3 options, 12 draws
    assert report.scores.warnings() == [] and report.scores.zero_diversity_countries == []

    # with a user seed each respondent sends its own seed on each of its requests
    cfg = DefConfig.baseline(seed=7)
    seeded = run(sim, countries=["CN"], respondents=12, def_config=cfg)
    assert seeded.run_name == "fake-model/no-DEF-seed7"
    sent = {b["seed"] for b in requests_of(fake_openai)[48:]}
    stored = {}
    for respondent, params in sim.db.execute("select respondent, params from survey_responses where run_name = ?",
                                             [seeded.run_name]):
        stored.setdefault(respondent, set()).add(json.loads(params)["seed"])
    assert stored == {k: {respondent_seed(cfg, "China", k)} for k in range(12)}
    assert sent == {seed for seeds in stored.values() for seed in seeds} and len(sent) == 12
    assert all(len(set(a)) > 1 for a in _answers_by_question(sim, seeded.run_name).values())
    assert respondent_seed(DefConfig.baseline(seed=8), "China", 0) != respondent_seed(cfg, "China", 0)
    assert respondent_seed(DefConfig.baseline(), "China", 0) is None


def test_a_run_without_answer_diversity_prints_a_warning(sim, fake_openai):
    sampled = FixedDistributionRespondent()
    # a server that ignores sampling for Japan: every Japanese respondent gets the same answer
    fake_openai.chat = lambda body: ("Answer: A\nExplanation: always." if "citizen from Japan" in
                                     body["messages"][-1]["content"] else sampled(body))
    runner = CliRunner()
    args = ["survey", "run", str(sim.path), "--country", "CN", "--country", "JP", "--no-persona",
            "--no-config-sampling", "--no-memory", "--quiet"]

    result = runner.invoke(main, [*args, "--respondents", "6"])

    assert result.exit_code == 0, result.output
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("warning: run 'fake-model/no-DEF' has zero answer diversity in Japan: every "
                                    "respondent gave the same answer to each question, so its KL (ε = 1e-6) "
                                    "compares one answer")
    assert "KL (ε = 1e-6)" in result.stdout and "China" not in result.stderr
    data = json.loads(runner.invoke(main, ["survey", "scores", str(sim.path), "--json"]).stdout)
    (only,) = data["runs"]
    assert only["kl_label"] == "KL (ε = 1e-6)" and only["epsilon"] == 1e-6
    assert len(only["warnings"]) == 1 and "Japan" in only["warnings"][0]
    again = runner.invoke(main, ["survey", "scores", str(sim.path)])
    assert again.stderr == result.stderr

    # one respondent per country has no diversity to measure: no warning
    single = runner.invoke(main, [*args, "--respondents", "1", "--run-name", "single"])
    assert single.exit_code == 0 and single.stderr == ""


# -- scores ---------------------------------------------------------------------------------------


def _expected_kl_interval(country: str, n: int, reps: int = 20000) -> tuple[float, float]:
    """Where the mean KL over the survey's 4 questions falls with probability 0.999 when n answers
    per question are drawn from the fake's distribution: simulated, with the smoothing written out
    (the estimator is biased upwards by about (k - 1) / 2n, so KL(human || fake) alone would be
    the wrong target)."""
    eps = 1e-6
    draws = np.random.default_rng(12345).multinomial(n, FAKE[country], size=(reps, 4))  # (reps, q, k)
    model = (draws / n + eps) / (1 + 3 * eps)
    human = np.array(HUMAN[country])[None]
    means = (human * np.log(human / model)).sum(axis=2).mean(axis=1)
    return float(np.quantile(means, 0.0005)), float(np.quantile(means, 0.9995))


def test_kl_per_country_with_and_without_def_matches_the_fixed_distributions(sim, fake_openai):
    from scipy.stats import chisquare

    n = 40
    with_def = run(sim, countries=list(COUNTRIES), respondents=n)
    without = run(sim, countries=list(COUNTRIES), respondents=8, def_config=DefConfig.baseline())

    assert with_def.run_name == "fake-model/DEF" and without.run_name == "fake-model/no-DEF"
    assert with_def.valid == 4 * n * 4 and without.valid == 4 * 8 * 4
    scores = {c.country: c for c in with_def.scores.countries}
    assert list(scores) == list(COUNTRIES.values())
    for country in FAKE:
        low, high = _expected_kl_interval(country, n)
        assert low <= scores[country].kl <= high, (country, scores[country].kl, (low, high))
        assert scores[country].questions == 4 and scores[country].valid == 4 * n
        # the answers of a country fit its own distribution and no other country's (chi-square, 160
        # answers): a mixed-up country could not pass
        counts = np.zeros(3)
        for (parsed,) in sim.db.execute("select parsed from survey_responses where run_name = 'fake-model/DEF' "
                                        "and country = ?", [country]):
            counts[OPTIONS.index(json.loads(parsed)["options"][0])] += 1
        for other, dist in FAKE.items():
            p = chisquare(counts, np.array(dist) * counts.sum()).pvalue
            assert (p > 0.001) if other == country else (p < 0.001), (country, other, p)

    # without DEF every respondent sends the same request but no seed, so the seed-honouring server
    # samples: respondents differ, and KL is that of their answer shares against the humans, with
    # the model side smoothed (epsilon 1e-6, k = 3)
    eps = 1e-6
    assert not any("seed" in r["body"] for r in fake_openai.chat_requests())
    for c in without.scores.countries:
        counts = {}
        for qid, parsed in sim.db.execute("select question_id, parsed from survey_responses where run_name = ? "
                                          "and country = ?", [without.run_name, c.country]):
            counts.setdefault(qid, np.zeros(3))[OPTIONS.index(json.loads(parsed)["options"][0])] += 1
        kls = []
        for qid, n_chosen in sorted(counts.items()):
            h = HUMAN[c.country][int(qid[1:]) - 1]
            m = [(x / n_chosen.sum() + eps) / (1 + 3 * eps) for x in n_chosen]
            kls.append(sum(hi * math.log(hi / mi) for hi, mi in zip(h, m)))
        assert c.kl == pytest.approx(np.mean(kls), rel=1e-12)
        assert c.entropy > 0 and c.distinct > 1
    assert without.scores.warnings() == [] and with_def.scores.warnings() == []

    # the diversity ablation compares each run with the run without DEF; this fake ignores cities
    # and temperatures, so both runs are draws from the same distributions
    table = {row.run_name: row for row in diversity_table([with_def.scores, without.scores])}
    assert table["fake-model/DEF"].baseline == "fake-model/no-DEF"
    assert table["fake-model/no-DEF"].distinct > 1.5 and table["fake-model/DEF"].distinct > 2.5

    # the scores table holds both runs in DOVE's format: the DEF run as the model, the ablation under
    # its run name, one row per (method, country, source)
    rows = sim.db.execute("select method, group_name, source, value, n_group, n_source, config from scores "
                          "where method = 'survey-KL' order by id").fetchall()
    assert len(rows) == 8
    stored = {(r[2], r[1]): r for r in rows}
    assert {json.loads(r[6])["run"] for r in rows} == {"fake-model/DEF", "fake-model/no-DEF"}
    assert {(json.loads(r[6])["epsilon"], json.loads(r[6])["kl"]) for r in rows} == {
        (1e-6, "KL (ε = 1e-6): KL(human || smoothed model), nats")}
    us = stored[("fake-model", "United States")]
    assert json.loads(us[6])["run"] == "fake-model/DEF"
    assert us[3] == pytest.approx(scores["United States"].kl) and us[4] == 4 and us[5] == 4 * n
    base = {c.country: c.kl for c in without.scores.countries}
    assert stored[("fake-model/no-DEF", "China")][3] == pytest.approx(base["China"])

    # resume: a second run of both makes no new calls
    before = len(fake_openai.chat_requests())
    again = run(sim, countries=list(COUNTRIES), respondents=n)
    run(sim, countries=list(COUNTRIES), respondents=8, def_config=DefConfig.baseline())
    assert len(fake_openai.chat_requests()) == before
    assert again.skipped_respondents == 4 * n and again.answered == 0
    assert sim.count("scores", "method like 'survey-%'") == 16  # replaced, not duplicated


def test_a_killed_run_resumes_where_it_stopped(sim, fake_openai):
    use_llm(sim, fake_openai.base_url, roles=("generator",), max_retries=0, concurrency=4)
    good = FixedDistributionRespondent()
    count = {"n": 0}

    def flaky(body):
        count["n"] += 1
        return Reply(status=500) if count["n"] % 7 == 0 else good(body)  # every 7th call fails

    fake_openai.chat = flaky
    first = run(sim, respondents=8)
    assert first.failed > 0 and first.valid + first.failed == 32
    # with memory on, a failed question changes every later question of that respondent: those
    # are the calls to make again; the earlier ones come from the cache
    rows = sim.db.execute("select respondent, question_id, raw is null from survey_responses").fetchall()
    first_failure = {}
    for respondent, qid, failed in rows:
        if failed:
            first_failure[respondent] = min(first_failure.get(respondent, 9), int(qid[1:]))
    expected_new = sum(4 - q + 1 for q in first_failure.values())

    fake_openai.chat = good
    before = len(fake_openai.chat_requests())
    second = run(sim, respondents=8)

    assert len(fake_openai.chat_requests()) - before == expected_new == second.stats["calls"]
    assert second.skipped_respondents == 8 - len(first_failure)
    assert second.failed == 0
    assert sim.count("survey_responses", "raw is null") == 0 and sim.count("survey_responses") == 32


def test_unparseable_answers_are_counted_stored_raw_and_excluded(sim, fake_openai):
    fake_openai.chat = FixedDistributionRespondent(invalid={question_text(2)})

    report = run(sim, respondents=4)

    assert report.unparseable == 4 and report.valid == 12
    raw, valid, parsed = sim.db.execute("select raw, valid, parsed from survey_responses where question_id = 'q2' "
                                        "limit 1").fetchone()
    assert raw == "I would rather not say." and valid == 0 and json.loads(parsed)["options"] is None
    us = report.scores.countries[0]
    assert us.unparseable == 4 and us.questions == 3 and us.valid == 12
    assert {q.question_id for q in report.scores.questions if q.n > 0} == {"q1", "q3", "q4"}


def test_kl_and_js_equal_hand_computed_values(sim):
    """Stored answers with known counts: q1 answered Agree, Agree, Neutral, Disagree by four respondents
    (model shares 1/2, 1/4, 1/4) against the humans' 0.5, 0.3, 0.2; q2 Neutral by all four against 0.5,
    0.2, 0.3; q3 and q4 unanswered."""
    assert HUMAN["United States"][:2] == [[0.5, 0.3, 0.2], [0.5, 0.2, 0.3]]
    sim.save_survey_run_settings("hand", {"survey_id": 1, "model": "m", "def": DefConfig().model_dump(mode="json"),
                                          "countries": ["United States"]})
    answers = {"q1": ["Agree", "Agree", "Neutral", "Disagree"], "q2": ["Neutral"] * 4}
    for qid, chosen in answers.items():
        for r, option in enumerate(chosen):
            sim.save_survey_response({
                "survey_id": 1, "run_name": "hand", "model": "m", "country": "United States", "respondent": r,
                "question_id": qid, "city": None, "params": "{}", "prompt": "p", "raw": f"Answer: {option}",
                "parsed": json.dumps({"options": [option], "reason": "label"}), "valid": 1})

    scores = score_run(sim, "hand")

    eps, k = 1e-6, 3
    sm = lambda p: [(x + eps) / (1 + k * eps) for x in p]  # noqa: E731
    kl1 = sum(h * math.log(h / m) for h, m in zip([0.5, 0.3, 0.2], sm([0.5, 0.25, 0.25])))
    kl2 = sum(h * math.log(h / m) for h, m in zip([0.5, 0.2, 0.3], sm([0.0, 1.0, 0.0])))
    # the smoothing barely moves q1; q2 pays 0.5 ln(0.5 / 1e-6) + 0.3 ln(0.3 / 1e-6) for the options never chosen
    assert kl1 == pytest.approx(0.3 * math.log(0.3 / 0.25) + 0.2 * math.log(0.2 / 0.25), abs=1e-5)
    assert kl2 == pytest.approx(0.5 * math.log(0.5e6) + 0.2 * math.log(0.2) + 0.3 * math.log(0.3e6), abs=1e-4)

    def js(p, q):
        mid = [(a + b) / 2 for a, b in zip(p, q)]
        div = lambda a, b: sum(x * math.log2(x / y) for x, y in zip(a, b) if x > 0)  # noqa: E731
        return math.sqrt((div(p, mid) + div(q, mid)) / 2)

    (us,) = scores.countries
    assert us.kl == pytest.approx((kl1 + kl2) / 2, rel=1e-9)
    assert us.js == pytest.approx((js([0.5, 0.3, 0.2], [0.5, 0.25, 0.25]) + js([0.5, 0.2, 0.3], [0, 1, 0])) / 2,
                                  rel=1e-9)
    assert us.questions == 2 and us.valid == 8 and us.respondents == 4
    by_q = {q.question_id: q for q in scores.questions}
    assert by_q["q1"].entropy == pytest.approx(1.5) and by_q["q1"].distinct == 3
    assert by_q["q2"].entropy == 0 and by_q["q2"].distinct == 1
    assert scores.dimensions["TDI"].kl == pytest.approx((kl1 + kl2) / 2)  # q1 and q2 are TDI
    assert "EVI" not in scores.dimensions  # q3 unanswered
    assert us.kl_ci[0] <= us.kl <= us.kl_ci[1]
    rows = sim.db.execute("select method, value, ci_low, ci_high, n_group, n_source from scores order by method"
                          ).fetchall()
    assert [r[0] for r in rows] == ["survey-JS", "survey-KL"]
    assert rows[1][1] == pytest.approx(us.kl) and rows[1][4:] == (2, 8)

    # another full-DEF run of the same model takes over the (method, country, model) cells
    sim.save_survey_run_settings("hand again", sim.survey_run_settings("hand"))
    sim.db.execute("insert into survey_responses (survey_id, run_name, model, country, respondent, question_id, "
                   "params, prompt, raw, parsed, valid) select survey_id, 'hand again', model, country, respondent, "
                   "question_id, params, prompt, raw, parsed, valid from survey_responses where question_id = 'q1'")
    score_run(sim, "hand again")
    rows = sim.db.execute("select method, group_name, source, value, json_extract(config, '$.run') from scores "
                          "order by method").fetchall()
    assert rows == [("survey-JS", "United States", "m", pytest.approx(js([0.5, 0.3, 0.2], [0.5, 0.25, 0.25])),
                     "hand again"),
                    ("survey-KL", "United States", "m", pytest.approx(kl1), "hand again")]


def test_bootstrap_ci_is_a_point_when_every_respondent_answers_alike_and_widens_otherwise():
    h = [np.array([0.6, 0.3, 0.1])]
    same = [np.tile([1.0, 0.0, 0.0], (10, 1))]
    low, high = bootstrap_mean_ci(h, same, kl_divergence)
    assert low == pytest.approx(kl_divergence(h[0], [1, 0, 0])) == pytest.approx(high)
    mixed = [np.eye(3)[[0, 1, 2, 0, 1, 0, 0, 2, 1, 0]]]
    low, high = bootstrap_mean_ci(h, mixed, js_distance)
    assert low < js_distance(h[0], mixed[0].sum(0)) < high


# -- errors and the CLI -----------------------------------------------------------------------------


def test_bad_requests_are_one_line_errors_and_leave_no_run_behind(sim, monkeypatch):
    with pytest.raises(WorkbenchError, match="no human answers for country 'France'"):
        run(sim, countries=["France"])
    run(sim, respondents=1)
    with pytest.raises(WorkbenchError, match="made with def.seed null, not 1 — give this run another --run-name"):
        run(sim, respondents=1, def_config=DefConfig(seed=1), run_name="fake-model/DEF")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    sim.save_config(sim.config().with_settings({"roles.generator.base_url": "null"}))
    with pytest.raises(WorkbenchError, match="no API key: set OPENAI_API_KEY"):
        run(sim, respondents=1, model="other-model")
    sim.save_config(sim.config().with_settings({"roles.generator.provider": "offline"}))
    with pytest.raises(WorkbenchError, match="generator role is offline"):
        run(sim, respondents=1)
    sim.save_config(sim.config().with_settings({"roles.generator.model": "null"}))
    with pytest.raises(WorkbenchError) as raised:  # an endpoint without a model: one line
        run(sim, respondents=1, base_url="http://127.0.0.1:9/v1")
    assert str(raised.value) == "generator settings: provider 'openai' needs a model name (give --model NAME)"
    assert [name for name, _ in sim.survey_runs()] == ["fake-model/DEF"]


def test_cli_run_and_scores(sim, fake_openai, tmp_path):
    runner = CliRunner()
    path = str(sim.path)
    result = runner.invoke(main, ["survey", "run", path, "--model", "fake-model", "--country", "US",
                                  "--country", "jp", "--respondents", "3", "--no-memory", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "survey run 'fake-model/DEF-no-memory': 2 countries × 3 respondents × 4 questions" in result.output
    assert "United States" in result.output and "Japan" in result.output
    result = runner.invoke(main, ["survey", "scores", path, "--json"])
    data = json.loads(result.output)
    (only,) = data["runs"]
    assert set(only["countries"]) == {"United States", "Japan"} and only["def"]["memory"] is False
    assert data["diversity"][0]["baseline"] is None
    bad = runner.invoke(main, ["survey", "run", path, "--country", "Atlantis"])
    assert bad.exit_code == 1 and bad.output.count("\n") == 1 and "Error: " in bad.output
