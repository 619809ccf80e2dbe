"""A build's initial codebook C⁰ from a codebook the lab already has (``build --seed-codebook FILE``),
instead of UMAP → HDBSCAN (App. E.4 / F.1).

FILE is a REFI-QDA codebook (``.qdc``), a REFI-QDA project (``.qdpx``: its codebook), or a table
(CSV, TSV, JSON: columns ``name``, optional ``description``, ``examples`` separated by `` | ``, and
``guid``; the workbench's own CSV export has these). Each code's centroid is the mean embedding of
its example texts, or the embedding of ``name: description`` when it has none; the training
expressions are then members of the code with the highest q(z|x) (Eq. 15), and σ is measured on
these members as for a clustered C⁰. The EM loop proposes splits, merges and renames against it
through the same review. The seed is read once, when the build starts, and kept in the project, so
a resumed build needs no flag; C⁰'s info records the file and how each centroid was made.
"""
from __future__ import annotations

import hashlib
import json
import uuid
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import WorkbenchError
from ..llm.gateway import Gateway
from ..refi_qda.reader import flatten_codes, guid_key, read_qdpx
from ..tabular import read_rows

QDC_NS = "urn:QDA-XML:codebook:1.0"
EXAMPLE_SEPARATOR = " | "  # as the CSV export joins a code's central expressions
QDC_EXAMPLES = "\n\nExamples:\n"  # how the .qdc/.qdpx export appends them to a description
SEED_KEY = "build_seed:"  # meta key prefix, + the build thread


@dataclass
class SeedCode:
    uid: str
    name: str
    description: str = ""
    examples: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """What is embedded when the code has no examples."""
        return f"{self.name}: {self.description}" if self.description else self.name


@dataclass
class SeedCodebook:
    file: str
    sha256: str
    kind: str  # "qdc", "qdpx" or "table"
    codes: list[SeedCode]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> SeedCodebook:
        data = json.loads(text)
        return cls(**{**data, "codes": [SeedCode(**c) for c in data["codes"]]})


def _table_uid(path: Path, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"dove-workbench:seed:{path.name}:{name}"))


def split_examples(description: str) -> tuple[str, list[str]]:
    """(description, examples) of a description the workbench's .qdc export wrote ("…\\n\\nExamples:\\n- a")."""
    head, found, tail = description.partition(QDC_EXAMPLES)
    if not found:
        return description, []
    return head.strip(), [line[2:].strip() for line in tail.splitlines() if line.startswith("- ") and line[2:].strip()]


def _from_refi(codes) -> list[SeedCode]:
    seeds = []
    for code in codes:
        description, examples = split_examples(code.description)
        seeds.append(SeedCode(code.guid, code.name, description, examples))
    return seeds


def _read_qdc(path: Path) -> list[SeedCode]:
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, LookupError, ValueError) as exc:  # LookupError, ValueError: its declared encoding
        raise WorkbenchError(f"{path}: not well-formed XML ({exc}): export the codebook again as REFI-QDA (.qdc)") from None
    except OSError as exc:
        raise WorkbenchError(f"{path}: cannot read the codebook ({exc.strerror})") from None
    if root.tag != f"{{{QDC_NS}}}CodeBook":
        raise WorkbenchError(f"{path}: the root element is {root.tag}, expected CodeBook in namespace {QDC_NS}: "
                             "give a REFI-QDA codebook (.qdc)")
    try:
        codes, _ = flatten_codes(root.find(f"{{{QDC_NS}}}Codes"), QDC_NS)
    except (ValueError, AttributeError, TypeError):
        raise WorkbenchError(f"{path}: a Code has no valid guid: export the codebook again as REFI-QDA (.qdc)") from None
    return _from_refi(codes)


def _read_table(path: Path) -> list[SeedCode]:
    seeds = []
    for line, row in read_rows(path, ("name",), "seed codebook"):
        name = str(row.get("name") or "").strip()
        if not name:
            raise WorkbenchError(f"{path}:{line}: the code's name is empty: give every code a name")
        examples = [e.strip() for e in str(row.get("examples") or "").split(EXAMPLE_SEPARATOR) if e.strip()]
        guid = str(row.get("guid") or "").strip()
        try:
            uid = guid_key(guid) if guid else _table_uid(path, name)
        except ValueError:
            raise WorkbenchError(f"{path}:{line}: guid {guid!r} is not a GUID: fix it or leave the column empty") from None
        seeds.append(SeedCode(uid, name, str(row.get("description") or "").strip(), examples))
    return seeds


def read_seed(path: str | Path) -> SeedCodebook:
    """The codes of a seed file (see the module docstring); one line naming the file and the fix
    when it holds none, or holds one code twice."""
    path = Path(path)
    if not path.is_file():
        raise WorkbenchError(f"{path}: no such file: give a .qdc, a .qdpx, or a CSV of name, description[, examples]")
    suffix = path.suffix.lower()
    if suffix == ".qdpx":
        kind, codes = "qdpx", _from_refi(read_qdpx(path).codes)
    elif suffix == ".qdc":
        kind, codes = "qdc", _read_qdc(path)
    else:
        kind, codes = "table", _read_table(path)
    if not codes:
        raise WorkbenchError(f"{path}: the codebook holds no codable code: give at least one")
    for what, key in (("name", lambda c: c.name.casefold()), ("GUID", lambda c: c.uid)):
        seen: set = set()
        for code in codes:
            if key(code) in seen:
                raise WorkbenchError(f"{path}: two codes share the {what} {code.name!r}: "
                                     "give every code its own")
            seen.add(key(code))
    return SeedCodebook(str(path), hashlib.sha256(path.read_bytes()).hexdigest(), kind, codes)


def seed_centroids(gateway: Gateway, seed: SeedCodebook) -> tuple[np.ndarray, dict[str, int]]:
    """(K, d) unit centroids: the mean embedding of a code's examples, else of ``name: description``;
    and how many codes were made each way."""
    texts = [t for c in seed.codes for t in (c.examples or [c.text])]
    vectors = gateway.embed(texts)
    rows, at = [], 0
    for code in seed.codes:
        n = len(code.examples) or 1
        mean = vectors[at:at + n].mean(axis=0)
        rows.append(mean / (np.linalg.norm(mean) or 1.0))
        at += n
    made = {"examples": sum(bool(c.examples) for c in seed.codes),
            "name + description": sum(not c.examples for c in seed.codes)}
    return np.stack(rows).astype(np.float32), made


def seed_record(seed: SeedCodebook, made: dict[str, int]) -> dict:
    """What C⁰'s info says of its seed (``status`` and the report print it)."""
    return {"file": seed.file, "sha256": seed.sha256, "kind": seed.kind, "codes": len(seed.codes),
            "centroids": made}


def describe_seed(record: dict) -> str:
    """'seeded from lab.qdc (REFI-QDA codebook, 11 codes; centroids: 3 from examples, 8 from name + description)'."""
    kinds = {"qdc": "REFI-QDA codebook", "qdpx": "REFI-QDA project's codebook", "table": "table"}
    made = ", ".join(f"{n} from {how}" for how, n in record.get("centroids", {}).items() if n)
    return (f"seeded from {record.get('file')} ({kinds.get(record.get('kind'), record.get('kind'))}, "
            f"{record.get('codes')} codes; centroids: {made})")
