"""The annotators' library (DOVE App. C), one module per job: samples, the recognizer's codes per
document, labels with their provenance, agreement per task, adjudication, and renames from the
code-name audit.

The review TUI (:mod:`workbench.tui`) and the ``review`` / ``agreement`` / ``labels`` commands are
thin shells over these functions, so a notebook can do everything the screens do.

Tasks are the protocols in ``annotations/protocols/``: ``proposals`` (approve/reject the edits a
paused build proposes), ``code_quality`` (meaningful, redundant, name fits; App. C "codebook
quality") and ``mapping`` (Yes/No per document–code pair; App. C "mapping capability").

Rounds of a label: ``first`` (blind), ``reannotation`` (items the panel disagreed on, relabelled
with the protocol's detailed instruction, still blind), ``consensus`` (an even split settled in
discussion, with a note) and ``model`` (the recognizer's own Yes/No, one more rater on mapping).

Carried labels: a label row belongs to the codebook version it was made on and is never copied.
Mapping labels count on later versions at read time (``labels.version_labels``): a label made on
an ancestor of version V (its parent chain through applies and renames) on a code whose uid V
keeps counts on V, marked ``carried_from`` its version, so labels made on a paused version are not
redone on the final one; labels of codes split or merged away (new uids) do not carry.

Modules: ``tasks`` (task names, rounds, annotator checks), ``sampling`` (the task samples and the
recognizer's codes), ``views`` (a sampled document as shown, item titles; a code's view is
:mod:`workbench.pipeline.code_view`),
``labels`` (recording and reading labels, carried labels), ``agreement``, ``adjudication``,
``renames`` (the code-name audit) and ``label_files`` (CSV export and import). Decisions on a
paused build's proposals are the build service's (:mod:`workbench.build`).
"""
