"""Terminal output of the build: per-node progress lines, the run's status and codebooks."""
from __future__ import annotations

import json

import numpy as np
from rich.console import Console
from rich.table import Table

from .formatting import fmt
from .naming import central_texts
from .store import Store

console = Console()

_NODE_LINES = {
    "extract": lambda v: f"extract: {v['extract_report']['documents']} new documents, "
                         f"{v['extract_report']['expressions']} expressions",
    "embed": lambda v: f"embed: {v['n_documents']} documents, {v['n_expressions']} expressions",
    "init_codebook": lambda v: f"init_codebook: version {v['version']}",
    "name_codes": lambda v: f"name_codes: {v['named']} codes named",
    "recognize": lambda v: f"recognize: K = {v['K']}, σ = {v['sigma']:.4f}",
    "reconstruct": lambda v: f"reconstruct: {len(v['reconstruction']['docs'])} documents "
                             f"({v['reconstruction']['decoder']})",
    "score": lambda v: "score: " + ", ".join(f"S(C) = {h['S']:.4f} [{h['S_low']:.4f}, {h['S_high']:.4f}], "
                                             f"K = {h['K']}" for h in v["history"])
                       + (f" — stop: {v['stop_reason']}" if v.get("stop_reason") else ""),
    "propose": lambda v: proposed_line(v),
    "review": lambda v: "review: " + ", ".join(f"{d['decision']}" for d in v["decisions"].values()),
    "apply": lambda v: f"apply: codebook version {v['version']}",
    "finalize": lambda v: f"finalize: final version {v['summary']['final_version']}",
    "score_alignment": lambda v: f"score_alignment: {v['alignment']['n_rows']} group × source scores "
                                 f"on version {v['alignment']['version']}",
}


def proposed_line(values: dict) -> str:
    """What ``propose`` put forward and what it held back, with why."""
    held = values.get("held_back") or []
    return (f"propose: {len(values.get('proposal_ids', []))} proposal(s)"
            + (f"; {len(held)} held back: " + "; ".join(held) if held else ""))


def llm_counts(s: dict) -> str:
    """The LLM accounting of a run, as one clause of a summary line."""
    return (f"LLM calls {s['calls']} (cache hits {s['cache_hits']}, failures {s['failures']}: invalid outputs "
            f"{s['invalid_outputs']}, refusals {s.get('refusals', 0)}, timeouts {s.get('timeouts', 0)}; HTTP retries "
            f"{s['http_retries']}), tokens {s['tokens_in']}+{s['tokens_out']}")


def llm_errors(s: dict) -> list[str]:
    """One line per kind of failed LLM call: how many, and the first error of that kind (the reason)."""
    return [f"  {e['count']} × {e['first']}" for e in s.get("errors", {}).values()]


def print_node_update(node: str, values: dict) -> None:
    line = _NODE_LINES.get(node)
    console.print(f"[dim]▸[/dim] {line(values) if line else node}")


def score_terms(row: dict) -> list[str]:
    """An iteration's S(C) as its three terms and σ, formatted (NaN/absent before schema v6)."""
    terms = [-row["distortion"], row.get("beta1_term"), row.get("beta2_term"), row.get("sigma")]
    return [fmt(v, 4) for v in terms]


def print_build_status(store: Store, status) -> None:
    if status.state == "new":
        console.print("build: not started (run 'workbench build PROJECT')")
        return
    rows = [r for r in store.iterations(status.thread_id)]
    if rows:
        table = Table(title=f"build {status.thread_id}: S(C) = −d̄ + β1·M·H(z|x) − β2·M·Ĥ(z|C) per iteration")
        for col in ("t", "version", "K", "S(C)", "95% CI", "−d̄", "+β1·M·H(z|x)", "−β2·M·Ĥ(z|C)", "σ", "decoder"):
            table.add_column(col)
        for r in rows:
            table.add_row(str(r["iteration"]), str(r["version"]), str(r["K"]), f"{r['S']:.4f}",
                          f"[{r['S_low']:.4f}, {r['S_high']:.4f}]", *score_terms(r), r["decoder"])
        console.print(table)
    record = store.build_record(status.thread_id)
    if record is not None:
        console.print(f"codebook trained on source(s): {', '.join(record.get('train_sources', ['human']))} "
                      f"({record.get('n_train_documents', '?')} documents); every other source is only mapped onto "
                      f"it · σ of Eq. 15 fixed at {fmt(record.get('sigma'), 4)} for the build · documents embedded "
                      f"from their {record.get('document_input', 'first 2,000 characters')}")
    if status.state == "paused":
        waiting = len(status.proposal_ids)
        console.print(f"[bold]paused for review:[/bold] {waiting} proposal(s) wait, {len(status.undecided)} undecided. "
                      f"Review them with 'workbench review {store.path} --annotator NAME', or decide with "
                      f"'workbench decide {store.path} --approve-all --by NAME', then run 'workbench build {store.path}'.")
        for p in store.proposals(status.proposal_ids):
            ev = json.loads(p["evidence"])
            target = f" into '{ev.get('target_name')}'" if p["kind"] == "merge" else ""
            names = json.loads(p["names"]) if p["names"] else []
            console.print(f"  #{p['id']} {p['kind']} '{ev.get('name')}'{target}: n_k = {ev['n_k']:.1f}, "
                          f"z = {ev['z']:.2f}" + (f" → {names}" if names else ""))
    elif status.state == "finished":
        summary = store.db.execute("select summary from build_summaries where thread_id = ?",
                                   [status.thread_id]).fetchone()
        info = json.loads(summary[0]) if summary else {}
        changes = ", ".join(f"{n} {state}" for state, n in info.get("changes", {}).items()) or "none"
        console.print(f"build finished: codebook version {status.version}, {status.stop_reason}; "
                      f"changes: {changes}")
    elif status.state == "running":
        console.print(f"build {status.running_line}")
    else:
        console.print(f"build interrupted before {status.next_nodes}: run 'workbench build {store.path}' to continue")
    if status.llm.get("calls") or status.llm.get("failures"):
        console.print(f"this run: {llm_counts(status.llm)}")
        for line in llm_errors(status.llm):
            console.print(line, markup=False, highlight=False)


def print_codebook(store: Store, version: int | None, top: int) -> None:
    codebook = store.load_codebook(version)
    texts = dict(store.db.execute("select id, text from expressions").fetchall())
    usage = {}
    row = store.db.execute("select per_code from em_iterations where version = ? order by created desc limit 1",
                           [codebook.version]).fetchone()
    if row:
        usage = {c["uid"]: c["n_k"] for c in json.loads(row[0])}
    table = Table(title=f"codebook version {codebook.version}: K = {codebook.K}")
    for col in ("#", "name", "named by", "size", "usage n_k", "central expressions"):
        table.add_column(col, overflow="fold")
    from .llm.gateway import Gateway

    gateway = Gateway(store, store.config())
    for code in codebook.codes:
        ids = codebook.expression_ids[codebook.labels == code.idx]
        member_texts = [texts[int(i)] for i in ids if int(i) in texts]
        emb = gateway.embed(member_texts) if member_texts else np.zeros((0, code.centroid.size))
        central = central_texts(member_texts, emb, code.centroid, top) if member_texts else []
        table.add_row(str(code.idx), code.name or "—", code.name_source or "—", str(code.size),
                      f"{usage[code.uid]:.1f}" if code.uid in usage else "—", "\n".join(central))
    console.print(table)
