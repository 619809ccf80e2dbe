"""``workbench report``: an HTML report of a project's codebook, value distributions, scores and
run history, with its figures as PNG files beside it (templates/report.html, Jinja2).

What it shows: the codebook map (Fig. 4), each group's and source's top codes, the score table
with bootstrap intervals, biases and ceilings, the largest off-diagonal transport flows (which human values a source's
mass moves from, and to which of its values), documents with their codes (Fig. 6), and the history
of the build — S(C) and K per iteration, changes approved / rejected, annotators' agreement.
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

from ..alignment.scoring import mean_posterior
from ..build.decisions import votes_text
from ..build.seed import describe_seed
from ..codebook.assignment import soft_assign
from ..errors import WorkbenchError
from ..formatting import MISSING, fmt, local_time, percent
from ..measures.score import ProjectPosteriors, load_posteriors, transport_flows
from ..measures.validate import stored_reliability, validate
from ..store import Store
from ..vocabulary import HUMAN, METHOD, STABILITY
from . import fonts, plots
from .terminal import score_csv

DOC_CHARS = 1500
MAX_PANELS = 12
MAX_DOCS = 6
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


def _names(post: ProjectPosteriors) -> list[str]:
    return [c.name or f"code {c.idx}" for c in post.codebook.codes]


def _panels(post: ProjectPosteriors) -> dict[str, np.ndarray]:
    """Histograms a of every human group, then every model source (halves are not shown)."""
    labels = post.labels()
    order = post.human_groups() + sorted({lab for lab in labels if lab not in post.human_groups()})
    out = {}
    for label in order[:MAX_PANELS]:
        rows = [i for i, lab in enumerate(labels) if lab == label]
        out[label] = mean_posterior(post.q_docs[rows])
    return out


def _pick_documents(post: ProjectPosteriors) -> list[int]:
    """A pair on a shared topic (a human and a model document if there is one, else two groups'
    human documents), then one document of every other group/source; at most MAX_DOCS."""
    c = post.corpus
    labels = post.labels()
    by_topic: dict[str, dict[str, int]] = defaultdict(dict)
    for i, topic in enumerate(c.doc_topics):
        if topic:
            by_topic[topic].setdefault(labels[i], i)
    pair: list[int] = []
    for want_model in (True, False):
        for topic in sorted(by_topic):
            docs = by_topic[topic]
            humans = [i for lab, i in docs.items() if c.doc_sources[i] == HUMAN]
            others = [i for lab, i in docs.items() if c.doc_sources[i] != HUMAN]
            if want_model and humans and others:
                pair = [humans[0], others[0]]
            elif not want_model and len(humans) >= 2:
                pair = humans[:2]
            if pair:
                break
        if pair:
            break
    chosen = list(pair)
    seen = {labels[i] for i in chosen}
    for i, lab in enumerate(labels):
        if len(chosen) >= MAX_DOCS:
            break
        if lab not in seen:
            chosen.append(i)
            seen.add(lab)
    return chosen


def _document_views(post: ProjectPosteriors, docs: list[int], names: list[str]) -> tuple[list[dict], list[set[int]]]:
    c = post.corpus
    centroids = post.codebook.centroids
    labels = post.labels()
    views, active = [], []
    for d in docs:
        expr = np.flatnonzero(c.expr_doc == d)
        q_expr = soft_assign(c.expr_emb[expr], centroids, post.sigma) if expr.size else np.zeros((0, len(names)))
        codes = q_expr.argmax(axis=1) if expr.size else np.array([], dtype=int)
        text = c.doc_texts[d][:DOC_CHARS]
        marked = escape(text)
        for e, k in zip(expr, codes):
            snippet = escape(c.expr_texts[e])
            if snippet and snippet in marked:
                marked = Markup(marked.replace(snippet, Markup(f'<mark title="{escape(names[k])}">{snippet}</mark>'), 1))
        q = post.q_docs[d]
        top = np.argsort(-q, kind="stable")[:5]
        views.append({
            "id": c.doc_ids[d], "label": labels[d], "topic": c.doc_topics[d] or "—",
            "text": marked, "truncated": len(c.doc_texts[d]) > DOC_CHARS,
            "expressions": [{"text": c.expr_texts[e], "code": names[k], "p": float(q_expr[n, k])}
                            for n, (e, k) in enumerate(zip(expr, codes))],
            "top_codes": [{"name": names[k], "p": float(q[k])} for k in top],
        })
        active.append({int(k) for k in codes})
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


def _reliability(store: Store, version: int) -> list[dict]:
    """α and CV of the reliability runs stored for this version (``workbench reliability``)."""
    runs = stored_reliability(store, version)
    return validate([], reliability=runs).reliability if runs else []


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
    post = load_posteriors(store, version, show_progress=show_progress)
    codebook, names = post.codebook, _names(post)
    files: list[Path] = []

    idx, expr_xy, code_xy = plots.codebook_layout(post.corpus.expr_emb, codebook.centroids, seed=config.em.seed)
    usage = post.q_docs.sum(axis=0)
    files.append(plots.codebook_map(out / "codebook_map.png", expr_xy, code_xy, usage, names,
                                    title=f"codebook version {codebook.version}: K = {codebook.K} codes, "
                                          f"{len(idx):,} value expressions (2-D UMAP)"))
    panels = _panels(post)
    files.append(plots.distributions(out / "distributions.png", panels, names, top_codes))

    scores = store.load_scores(METHOD, codebook.version)
    flows = []
    groups = post.human_groups()
    for g in groups:
        for s in panels:
            if s != g:
                for f in transport_flows(post, g, s, config.alignment, k=n_flows):
                    flows.append({"group": g, "source": s, "from": f.source_code, "to": f.target_code, "mass": f.mass})

    docs = _pick_documents(post)
    views, active = _document_views(post, docs, names)
    if len(views) >= 2:
        files.append(plots.document_pair(out / "document_codes.png", code_xy, active[:2],
                                         [views[0]["label"], views[1]["label"]], names))
    iterations = store.iterations()
    if iterations:
        files.append(plots.history(out / "history.png", iterations))
    changes, change_totals = _changes(store)

    if scores:
        (out / "scores.csv").write_text(score_csv(scores), "utf-8")  # the header and rows of score --csv
        (out / "scores.json").write_text(json.dumps(scores, indent=2) + "\n", "utf-8")
        files += [out / "scores.csv", out / "scores.json"]

    font_note = fonts.missing_font_note(names)
    agreement = _agreement(store)
    offline = config.role("extractor").provider == "offline"
    initial = store.initial_version_of(codebook.version)[1]  # what the build recorded on C⁰
    context = dict(
        project=store.path.name, version=codebook.version, K=codebook.K, sigma=post.sigma,
        trained_on=initial.get("train_sources", [HUMAN]),
        seeded=describe_seed(initial["seeded"]) if initial.get("seeded") else None,
        created=time.strftime("%Y-%m-%d %H:%M"), offline=offline, embedder=post.embedder,
        n_docs=len(post.corpus.doc_ids), n_expr=len(post.corpus.expr_ids), alignment=config.alignment,
        scores=scores, score_config=json.loads(scores[0]["config"]) if scores else None,
        codes=sorted(({"name": names[k], "usage": float(usage[k]), "size": codebook.codes[k].size,
                       "named_by": codebook.codes[k].name_source or "—"} for k in range(codebook.K)),
                     key=lambda c: -c["usage"]),
        panels=list(panels), top_codes=min(top_codes, codebook.K), font_note=font_note, flows=flows, views=views,
        iterations=iterations, changes=changes, change_totals=change_totals, agreement=agreement,
        reliability=_reliability(store, codebook.version), stability=json.loads(store.get_meta(STABILITY) or "null"),
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
