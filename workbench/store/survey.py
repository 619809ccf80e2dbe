"""SQL of the survey tables (see schema.py ``_m4``) and of the survey methods' rows in ``scores``;
mixed into :class:`workbench.store.Store`.

A simulated run is named (``run_name``); its settings are kept in ``meta`` under
``survey_run:NAME`` so that a resumed run cannot silently mix configurations. Responses are
upserted per (run_name, respondent, question_id): a killed run re-done writes the same rows again.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

import sqlite_utils

from ..errors import WorkbenchError
from ..vocabulary import SURVEY_METHODS
from .scores import SCORE_SELECT

SURVEY_SCORE_METHODS = tuple(SURVEY_METHODS.values())
_RUN_KEY = "survey_run:"


class SurveyStoreMixin:
    db: sqlite_utils.Database

    # -- surveys ------------------------------------------------------------------------------
    def save_survey(self, name: str, file: str, sha256: str, definition: str, warnings: Sequence[str]) -> int:
        """Insert one validated survey (its JSON ``definition``) in one transaction; returns its id."""
        with self.transaction():
            return self.db["surveys"].insert(
                {"name": name, "file": file, "sha256": sha256, "definition": definition,
                 "warnings": json.dumps(list(warnings), ensure_ascii=False), "created": time.time()}
            ).last_pk

    def surveys(self) -> list[dict]:
        """Every imported survey without its definition, oldest first."""
        return list(self.db.query("select id, name, file, sha256, warnings, created from surveys order by id"))

    def survey_row(self, survey: int | str | None) -> dict:
        """A survey by id, by name, or (``None``) the latest one; raises :class:`WorkbenchError`."""
        if survey is None:
            rows = list(self.db.query("select * from surveys order by id desc limit 1"))
            if not rows:
                raise WorkbenchError("no survey in this project: import one with 'workbench survey import PROJECT FILE'")
            return rows[0]
        if isinstance(survey, int) or (isinstance(survey, str) and survey.isdigit()):
            rows = list(self.db.query("select * from surveys where id = ?", [int(survey)]))
        else:
            rows = list(self.db.query("select * from surveys where name = ? order by id desc limit 1", [survey]))
        if not rows:
            known = "; ".join(f"#{r['id']} {r['name']!r}" for r in self.surveys()) or "none"
            raise WorkbenchError(f"no survey {survey!r} in this project (surveys: {known}) — give its id or name")
        return rows[0]

    def survey_by_sha256(self, sha256: str) -> dict | None:
        rows = list(self.db.query("select * from surveys where sha256 = ? order by id limit 1", [sha256]))
        return rows[0] if rows else None

    # -- runs ---------------------------------------------------------------------------------
    def survey_run_settings(self, run_name: str) -> dict | None:
        text = self.get_meta(_RUN_KEY + run_name)  # type: ignore[attr-defined]
        return json.loads(text) if text else None

    def save_survey_run_settings(self, run_name: str, settings: dict) -> None:
        self.set_meta(_RUN_KEY + run_name, json.dumps(settings, sort_keys=True))  # type: ignore[attr-defined]

    def survey_runs(self) -> list[tuple[str, dict]]:
        """(run name, settings) of every simulated run, in the order they were started."""
        rows = self.db.execute("select key, value from meta where key like ? order by rowid",
                               [_RUN_KEY + "%"]).fetchall()
        return [(k[len(_RUN_KEY):], json.loads(v)) for k, v in rows]

    # -- responses ----------------------------------------------------------------------------
    def save_survey_response(self, row: dict[str, Any]) -> None:
        """Upsert one answer; ``row`` has the columns of ``survey_responses`` except id/created."""
        with self.transaction():
            self.db.execute(
                """insert into survey_responses (survey_id, run_name, model, country, respondent, question_id,
                       city, params, prompt, raw, parsed, valid, created)
                   values (:survey_id, :run_name, :model, :country, :respondent, :question_id, :city, :params,
                       :prompt, :raw, :parsed, :valid, :created)
                   on conflict (run_name, respondent, question_id) do update set
                       survey_id = excluded.survey_id, model = excluded.model, country = excluded.country,
                       city = excluded.city, params = excluded.params, prompt = excluded.prompt,
                       raw = excluded.raw, parsed = excluded.parsed, valid = excluded.valid,
                       created = excluded.created""",
                {**row, "created": time.time()},
            )

    def answered_questions(self, run_name: str) -> dict[int, set[str]]:
        """respondent -> question ids that have a reply (a failed call has none and is re-asked)."""
        out: dict[int, set[str]] = {}
        for respondent, qid in self.db.execute(
                "select respondent, question_id from survey_responses where run_name = ? and raw is not null",
                [run_name]):
            out.setdefault(respondent, set()).add(qid)
        return out

    def survey_responses(self, run_name: str, countries: Iterable[str] | None = None) -> list[dict]:
        """A run's responses ordered by country, respondent and question order of insertion."""
        sql = "select * from survey_responses where run_name = ?"
        params: list[Any] = [run_name]
        if countries is not None:
            countries = list(countries)
            sql += f" and country in ({','.join('?' * len(countries))})"
            params += countries
        return list(self.db.query(sql + " order by country, respondent, id", params))

    # -- scores -------------------------------------------------------------------------------
    def replace_survey_scores(self, run_name: str, rows: Sequence[dict[str, Any]]) -> None:
        """Replace a run's rows of methods ``survey-KL``/``survey-JS`` in ``scores`` (one transaction).

        ``rows`` carry method, group_name, source, value, ci_low, ci_high, n_group, n_source and a
        ``config`` dict, which must name the run as ``config["run"]``. A cell (method, group, source)
        holds one row: rows of other runs in the same cells are replaced too.
        """
        marks = ",".join("?" * len(SURVEY_SCORE_METHODS))
        with self.transaction():
            self.db.execute(
                f"delete from scores where method in ({marks}) and json_extract(config, '$.run') = ?",
                [*SURVEY_SCORE_METHODS, run_name])
            for row in rows:
                if row["method"] not in SURVEY_SCORE_METHODS or row["config"].get("run") != run_name:
                    raise ValueError(f"not a survey score row of run {run_name!r}: {row['method']}")
                # One row per (method, group, source) cell, as for every method (store/scores.py):
                # another run that scored the same cell gives way to this one.
                self.db.execute("delete from scores where method = ? and codebook_version is null and "
                                "group_name = ? and source = ?", [row["method"], row["group_name"], row["source"]])
                self.db["scores"].insert({
                    "method": row["method"], "codebook_version": None, "group_name": row["group_name"],
                    "source": row["source"], "value": row["value"], "raw": row.get("raw"),
                    "ci_low": row.get("ci_low"), "ci_high": row.get("ci_high"), "n_group": row.get("n_group"),
                    "n_source": row.get("n_source"),
                    "config": json.dumps(row["config"], sort_keys=True, ensure_ascii=False), "created": time.time(),
                })

    def survey_scores(self, run_name: str | None = None) -> list[dict]:
        """Stored rows of the survey methods, optionally of one run, with the fields of ``load_scores``."""
        marks = ",".join("?" * len(SURVEY_SCORE_METHODS))
        sql = f"select {SCORE_SELECT} from scores where method in ({marks})"
        params: list[Any] = list(SURVEY_SCORE_METHODS)
        if run_name is not None:
            sql += " and json_extract(config, '$.run') = ?"
            params.append(run_name)
        return list(self.db.query(sql + " order by id", params))
