"""Each LLM role has only its own settings (issue 27 item 7); configs stored before still open."""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from workbench.cli import main
from workbench.config import ROLES, WorkbenchConfig
from workbench.store import create_project, open_project

# The config a project on main stored before issue 27 (the demo's, written by `workbench demo`):
# every role-specific setting under every role.
OLD_CONFIG = Path(__file__).parent / "fixtures" / "configs" / "before_issue27_demo.json"
OWN = {"decoder": {"distortion", "offline_decoder", "logprob_reduce"},
       "embedder": {"representation", "max_input_tokens"}}


def test_each_role_specific_setting_is_under_its_role_only():
    roles = WorkbenchConfig().model_dump()["roles"]
    specific = set().union(*OWN.values())
    for role in ROLES:
        assert set(roles[role]) & specific == OWN.get(role, set()), role


def _old_project(tmp_path, edit) -> str:
    data = json.loads(OLD_CONFIG.read_text())
    assert data["roles"]["extractor"]["representation"] is None  # the old layout, as stored
    edit(data["roles"])
    path = str(tmp_path / "old.db")
    create_project(path).set_meta("config", json.dumps(data))
    return path


def test_an_old_stored_config_opens_with_the_owning_roles_values(tmp_path):
    def edit(roles):
        roles["decoder"] |= {"distortion": "logprob", "logprob_reduce": "sum"}
        roles["embedder"] |= {"representation": "raw", "max_input_tokens": 256}

    config = open_project(_old_project(tmp_path, edit)).config()
    decoder, embedder = config.role("decoder"), config.role("embedder")
    assert (decoder.distortion, decoder.logprob_reduce) == ("logprob", "sum")
    assert (embedder.representation, embedder.max_input_tokens) == ("raw", 256)
    assert not hasattr(config.role("extractor"), "representation")
    assert config.warnings() == []  # the defaults under other roles had no effect: nothing to say
    assert config.em.tau1 == json.loads(OLD_CONFIG.read_text())["em"]["tau1"]


def test_a_value_set_under_a_role_that_never_read_it_is_dropped_with_a_note(tmp_path):
    def edit(roles):
        roles["extractor"]["representation"] = "raw"
        roles["generator"]["offline_decoder"] = "lm"

    store = open_project(_old_project(tmp_path, edit))
    config = store.config()
    # The old code read these only from the embedder and the decoder: keeping their values there
    # keeps what the project computed.
    assert config.role("embedder").representation is None
    assert config.role("decoder").offline_decoder == "latent"
    notes = config.warnings()
    assert len(notes) == 2
    assert "roles.extractor.representation = raw" in notes[0] and "roles.embedder" in notes[0]
    assert "roles.generator.offline_decoder = lm" in notes[1] and "roles.decoder" in notes[1]
    result = CliRunner().invoke(main, ["config", str(store.path)])
    assert result.exit_code == 0 and "dropped from the stored config" in result.stderr
    CliRunner().invoke(main, ["config", str(store.path), "em.seed", "0"])  # saving stores the new layout
    assert open_project(str(store.path)).config().warnings() == []


def test_a_setting_under_a_role_that_does_not_own_it_is_refused_naming_the_owner(tmp_path):
    path = str(tmp_path / "p.db")
    create_project(path)
    result = CliRunner().invoke(main, ["config", path, "roles.extractor.representation", "raw"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: extractor has no setting 'representation': it is the embedder's, 'roles.embedder.representation'"]
    assert open_project(path).config().role("embedder").representation is None  # nothing written
    assert CliRunner().invoke(main, ["config", path, "roles.embedder.representation", "raw"]).exit_code == 0
    assert CliRunner().invoke(main, ["config", path, "roles.decoder.offline_decoder", "lm"]).exit_code == 0
    config = open_project(path).config()
    assert (config.role("embedder").representation, config.role("decoder").offline_decoder) == ("raw", "lm")
    result = CliRunner().invoke(main, ["config", path, "roles.namer.nonsense", "1"])
    assert result.exit_code == 1 and "unknown setting 'roles.namer.nonsense'" in result.output
    # the same setting inside a role's whole object is refused too, not stored and dropped
    result = CliRunner().invoke(main, ["config", path, "roles.decoder", '{"max_input_tokens": 5000}'])
    assert result.exit_code == 1 and "roles.decoder.max_input_tokens = 5000" in result.output
    assert open_project(path).config().role("decoder").offline_decoder == "lm"  # nothing written


def test_init_points_every_chat_role_and_the_embedder_at_the_endpoint(tmp_path):
    path = str(tmp_path / "p.db")
    result = CliRunner().invoke(main, ["init", path, "--base-url", "http://127.0.0.1:9/v1", "--model", "m"])
    assert result.exit_code == 0, result.output
    config = open_project(path).config()
    for role in ("extractor", "namer", "decoder", "generator"):
        assert (config.role(role).provider, config.role(role).model, config.role(role).base_url) == (
            "openai", "m", "http://127.0.0.1:9/v1")
    assert config.role("embedder").provider == "offline"  # no --embedding-model
    config = WorkbenchConfig().with_endpoint(embedding_model="e")
    assert (config.role("embedder").model, config.role("embedder").base_url) == ("e", None)
    assert config.role("extractor").provider == "offline"
