"""``workbench report``: an HTML report of a project's codebook, value distributions, scores and
run history, with its figures as PNG files beside it (templates/report.html, Jinja2).

What it shows: the codebook map (Fig. 4), each group's and source's top codes, the score table
with bootstrap intervals, biases and ceilings, the largest off-diagonal transport flows (which human values a source's
mass moves from, and to which of its values), documents with their codes (Fig. 6), and the history
of the build — S(C) and K per iteration, changes approved / rejected, annotators' agreement.

It reads what the services stored and computes none of it (issue 27): the figures of a scored
version (``measures/score_figures.py``, stored by ``score_project``), the reliability α and CV
(``measures/reliability.py``) and the stability summary. Only the map's 2-D UMAP layout is drawn
here, from the stored embeddings. What is not stored is named in one line with the command that
stores it.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from jinja2 import Environment, PackageLoader, Template, select_autoescape
from markupsafe import Markup, escape

from ..build.decisions import votes_text
from ..build.lines import TERMS, score_terms
from ..build.seed import describe_seed
from ..errors import WorkbenchError
from ..formatting import MISSING, fmt, local_time, percent
from ..llm.gateway import Gateway
from ..models import Codebook
from ..pipeline.corpus import load_corpus
from ..store import Store
from ..vocabulary import HUMAN, METHOD, RELIABILITY, RELIABILITY_RUNS, SCORE_FIGURES, STABILITY
from . import fonts, plots
from .terminal import score_csv

DOC_CHARS = 1500
MAX_PANELS = 12
CJK_FONT_FILE = "cjk-font.otf"


@dataclass
class ReportFiles:
    directory: Path
    files: list[Path]
    version: int
    font_note: str | None = None  # characters of code names the figures cannot draw, and the fix

    @property
    def index(self) -> Path:
        return self.directory / "index.html"


def _names(codebook: Codebook) -> list[str]:
    return [c.name or f"code {c.idx}" for c in codebook.codes]


def _document_views(documents: list[dict], names: list[str]) -> tuple[list[dict], list[set[int]]]:
    """The stored sample documents (``measures/score_figures``) as shown: each expression marked in
    the text with its code's current name."""
    views, active = [], []
    for doc in documents:
        text = doc["text"][:DOC_CHARS]
        marked = escape(text)
        for e in doc["expressions"]:
            snippet = escape(e["text"])
            if snippet and snippet in marked:
                marked = Markup(marked.replace(snippet, Markup(f'<mark title="{escape(names[e["code"]])}">{snippet}</mark>'), 1))
        views.append({
            "id": doc["id"], "label": doc["label"], "topic": doc["topic"] or "—",
            "text": marked, "truncated": len(doc["text"]) > DOC_CHARS,
            "expressions": [{"text": e["text"], "code": names[e["code"]], "p": e["p"]} for e in doc["expressions"]],
            "top_codes": [{"name": names[c["code"]], "p": c["p"]} for c in doc["top_codes"]],
        })
        active.append({e["code"] for e in doc["expressions"]})
    return views, active


def _agreement(store: Store) -> list[dict]:
    """App. C figures per annotation task and criterion, as ``workbench agreement`` computes them."""
    from ..annotate.agreement import agreement
    from ..annotate.tasks import TASKS

    labelled = {r["task"] for r in store.label_summary()}
    out = []
    for task in (t for t in TASKS if t in labelled):
        result = agreement(store, task)
        for criterion, rep in result.reports.items():
            if rep.n_items:
                out.append({"task": task, "criterion": criterion, "version": result.codebook_version,
                            "carried": result.carried_text(),
                            "n_items": rep.n_items, "raters": len(rep.raters), "kappa": rep.pairwise_kappa.mean,
                            "fleiss": rep.fleiss_kappa.kappa, "alpha": rep.krippendorff_alpha,
                            "agreement": rep.percent_agreement})
    return out


def _changes(store: Store) -> tuple[list[dict], dict]:
    rows = []
    totals: dict[str, int] = defaultdict(int)
    votes = store.decision_rows()
    for p in store.report_decisions():
        evidence = json.loads(p["evidence"] or "{}")
        target = f" → {evidence.get('target_name')}" if p["kind"] == "merge" else ""
        state = p["decision"] or "undecided"
        totals[state] += 1
        rows.append({"id": p["id"], "iteration": p["iteration"], "kind": p["kind"],
                     "code": f"{evidence.get('name')}{target}", "decision": state, "by": p["decider"] or "—",
                     "status": p["status"], "votes": votes_text(votes.get(p["id"], []), local_time, every=True)})
    return rows, dict(totals)


def _fmt(x: float | None, digits: int = 4) -> str:
    return fmt(x, digits, MISSING)


def _percent(x: float | None) -> str:
    return percent(x, missing=MISSING)  # as the TUI and 'workbench agreement' print a share: 66.7%


def report_template() -> Template:
    """The report page's Jinja template (``templates/report.html``)."""
    env = Environment(loader=PackageLoader("workbench.report", "templates"), autoescape=select_autoescape())
    env.filters["fmt"] = _fmt
    env.filters["percent"] = _percent
    return env.get_template("report.html")


def _command(store: Store, command: str, version: int) -> str:
    """The command that stores what a version lacks (``--version`` unless it is the latest)."""
    flag = "" if version == store.latest_version() else f" --version {version}"
    return escape(f"workbench {command} {store.path}{flag}")


def _reliability(store: Store, version: int) -> tuple[list[dict], str | None]:
    """α and CV that ``workbench reliability`` stored for this version, and the line to show when
    runs are stored without them (run before the report read them)."""
    stored = store.version_result(version, RELIABILITY)
    if stored is None and store.has_scores_like(RELIABILITY_RUNS, version):
        return [], (f"Reliability runs are stored for v{version} but not their α and CV (run before they were stored): "
                    f"run <code>{_command(store, 'reliability', version)}</code> again.")
    return stored or [], None


def write_report(store: Store, out: str | Path, version: int | None = None, show_progress: bool = True,
                 top_codes: int = 8, n_flows: int = 5) -> ReportFiles:
    """Write ``index.html`` and its PNGs (plus the scores as CSV and JSON) into ``out``.

    They are written into a temporary folder and moved into ``out`` (created only then) once all
    are written: a report that fails leaves no empty folder, and no half report in a folder of the
    user's, whose other files are never touched."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise WorkbenchError(f"{out} is a file: give a folder for the report")
    with tempfile.TemporaryDirectory(prefix="workbench-report-") as staging:
        written = _write_report_files(store, Path(staging), version, show_progress, top_codes, n_flows)
        out.mkdir(parents=True, exist_ok=True)
        for f in written.files:
            shutil.move(f, out / f.name)
    return replace(written, directory=out, files=[out / f.name for f in written.files])


def _write_report_files(store: Store, out: Path, version: int | None, show_progress: bool, top_codes: int,
                        n_flows: int) -> ReportFiles:
    config = store.config()
    codebook = store.load_codebook(version)
    names = _names(codebook)
    files: list[Path] = []
    # What 'workbench score' (and the build, which ends by scoring) stored of this version.
    figures = store.version_result(codebook.version, SCORE_FIGURES)
    missing = None if figures is not None else (
        f"Codebook v{codebook.version} has no stored figures (usage, distributions, flows, documents): it was scored "
        f"before they were stored, or not at all; run <code>{_command(store, 'score', codebook.version)}</code> to store them.")
    panels, flows, views, usage = {}, [], [], np.zeros(codebook.K)
    if figures is not None:
        usage = np.asarray(figures["usage"])
        panels = {label: np.asarray(a) for label, a in list(figures["distributions"].items())[:MAX_PANELS]}
        flows = _flows(figures, panels, names, n_flows)
        views, active = _document_views(figures["documents"], names)
        files += _figure_files(store, codebook, out, usage, panels, views, active, top_codes, show_progress)

    scores = store.load_scores(METHOD, codebook.version)
    iterations = [{**r, "terms": score_terms(r, MISSING)} for r in store.iterations()]
    if iterations:
        files.append(plots.history(out / "history.png", iterations))
    changes, change_totals = _changes(store)

    if scores:
        (out / "scores.csv").write_text(score_csv(scores), "utf-8")  # the header and rows of score --csv
        (out / "scores.json").write_text(json.dumps(scores, indent=2) + "\n", "utf-8")
        files += [out / "scores.csv", out / "scores.json"]

    font_note = fonts.missing_font_note(names)
    agreement = _agreement(store)
    reliability, reliability_missing = _reliability(store, codebook.version)
    offline = config.role("extractor").provider == "offline"
    initial = store.initial_version_of(codebook.version)[1]  # what the build recorded on C⁰
    stored = figures or {}
    context = dict(
        project=store.path.name, version=codebook.version, K=codebook.K, sigma=stored.get("sigma"),
        trained_on=initial.get("train_sources", [HUMAN]),
        seeded=describe_seed(initial["seeded"]) if initial.get("seeded") else None,
        # what produced the codebook: the build's representation (an older build's: raw) and extraction
        representation=initial.get("representation", "raw") or "the embedder's own",
        strategies=store.extraction_strategies(),
        created=time.strftime("%Y-%m-%d %H:%M"), offline=offline, embedder=stored.get("embedder", MISSING),
        n_docs=stored.get("n_docs", MISSING), n_expr=stored.get("n_expr", MISSING), alignment=config.alignment,
        missing=Markup(missing) if missing else None,
        scores=scores, score_config=json.loads(scores[0]["config"]) if scores else None,
        codes=sorted(({"name": names[k], "usage": float(usage[k]), "size": codebook.codes[k].size,
                       "named_by": codebook.codes[k].name_source or "—"} for k in range(codebook.K)),
                     key=lambda c: -c["usage"]),
        panels=list(panels), top_codes=min(top_codes, codebook.K), font_note=font_note, flows=flows, views=views,
        terms=TERMS, iterations=iterations, changes=changes, change_totals=change_totals, agreement=agreement,
        reliability=reliability, reliability_missing=Markup(reliability_missing) if reliability_missing else None,
        stability=json.loads(store.get_meta(STABILITY) or "null"),
        has_pair=len(views) >= 2, title=store.path.stem,
        other_versions=sorted({a["version"] for a in agreement if a["version"] not in (None, codebook.version)}))
    template = report_template()
    page = template.render(**context, files=[f.name for f in files], cjk_font=None)
    # Browsers without a CJK font show boxes: the page carries the characters it uses.
    cjk_chars = fonts.write_cjk_subset(page, out / CJK_FONT_FILE)
    if cjk_chars:
        files.append(out / CJK_FONT_FILE)
        page = template.render(**context, files=[f.name for f in files], cjk_font=CJK_FONT_FILE,
                               cjk_range=fonts.unicode_range(cjk_chars))
    (out / "index.html").write_text(page, encoding="utf-8")
    return ReportFiles(out, [out / "index.html", *files], codebook.version, font_note)


def _figure_files(store: Store, codebook: Codebook, out: Path, usage: np.ndarray, panels: dict, views: list[dict],
                  active: list[set[int]], top_codes: int, show_progress: bool) -> list[Path]:
    """The codebook map (its 2-D layout drawn here from the stored embeddings), the distributions and
    the first two documents' codes (Fig. 4, Sec. 3.3, Fig. 6)."""
    config = store.config()
    names = _names(codebook)
    corpus = load_corpus(store, Gateway(store, config), show_progress)
    idx, expr_xy, code_xy = plots.codebook_layout(corpus.expr_emb, codebook.centroids, seed=config.em.seed)
    files = [plots.codebook_map(out / "codebook_map.png", expr_xy, code_xy, usage, names,
                                title=f"codebook version {codebook.version}: K = {codebook.K} codes, "
                                      f"{len(idx):,} value expressions (2-D UMAP)"),
             plots.distributions(out / "distributions.png", panels, names, top_codes)]
    if len(views) >= 2:
        files.append(plots.document_pair(out / "document_codes.png", code_xy, active[:2],
                                         [views[0]["label"], views[1]["label"]], names))
    return files


def _flows(figures: dict, panels: dict, names: list[str], n_flows: int) -> list[dict]:
    """The stored flows of each human group to each other panel, the ``n_flows`` largest of each."""
    shown: dict[tuple[str, str], int] = defaultdict(int)
    out = []
    for f in figures["flows"]:
        cell = (f["group"], f["source"])
        if f["source"] in panels and shown[cell] < n_flows:
            shown[cell] += 1
            out.append({"group": f["group"], "source": f["source"], "from": names[f["from"]], "to": names[f["to"]],
                        "mass": f["mass"]})
    return out
