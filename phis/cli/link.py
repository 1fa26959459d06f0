"""``phis link``: record linkage without a database.

    phis link dedupe   --input persons.csv --output clusters.csv [--possible-output pairs.csv]
                       [--threshold-match 0.9] [--threshold-possible 0.5] [--workers N]
    phis link evaluate --clusters clusters.csv --truth truth.csv
    phis link synth    --n 10000 --seed 1 --output persons.csv --truth truth.csv

Input of ``dedupe`` (UTF-8, header exactly ``record_id,name,sex,birth_date,id_number,phone,
address``; sex per GB/T 2261.1: 1, 2, or 0/9 for unknown/unspecified; any field but
record_id may be empty). Output ``record_id,cluster_id`` for every input record, written
atomically; the cluster ID is the smallest record ID of the cluster (numeric IDs by value).
Bad input: a message naming the line and column on stderr, exit status 2, no output file.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HEADER = ("record_id", "name", "sex", "birth_date", "id_number", "phone", "address")
SEX_CODES = {"", "0", "1", "2", "9"}
PROGRESS_MIN_RECORDS = 20_000


class InputError(Exception):
    """Bad input file: the message names the file, line and column."""


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise InputError(f"{path}:{line}: not valid UTF-8 (byte {col} of the line)") from None
    return text.removeprefix("\ufeff")


def read_persons(path: str | os.PathLike) -> dict[str, list[str]]:
    """Read and validate a persons CSV; columns as lists of strings."""
    from phis.algorithms.linkage.text import parse_date

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    reader = csv.reader(io.StringIO(_decode(p), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{p}:1: empty file; expected the header {','.join(HEADER)}") from None
    except csv.Error as e:
        raise InputError(f"{p}:1: {e}") from None
    if tuple(h.strip() for h in header) != HEADER:
        raise InputError(f"{p}:1: wrong header {','.join(header)!r}; expected "
                         f"{','.join(HEADER)}")
    cols: dict[str, list[str]] = {h: [] for h in HEADER}
    seen: dict[str, int] = {}
    line = 1
    try:
        for row in reader:
            line = reader.line_num
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(HEADER):
                raise InputError(f"{p}:{line}: {len(row)} columns, expected {len(HEADER)}")
            rid = row[0].strip()
            if not rid:
                raise InputError(f"{p}:{line}: column record_id: empty")
            if rid in seen:
                raise InputError(f"{p}:{line}: column record_id: duplicate {rid!r} "
                                 f"(first on line {seen[rid]})")
            seen[rid] = line
            sex = row[2].strip()
            if sex not in SEX_CODES:
                raise InputError(f"{p}:{line}: column sex: {sex!r} is not a GB/T 2261.1 code "
                                 "(1 male, 2 female, 0 unknown, 9 unspecified, or empty)")
            bd = row[3].strip()
            if bd:
                try:
                    parse_date(bd)
                except ValueError:
                    raise InputError(f"{p}:{line}: column birth_date: {bd!r} is not a date "
                                     "(YYYY-MM-DD)") from None
            cols["record_id"].append(rid)
            for h, v in zip(HEADER[1:], row[1:], strict=True):
                cols[h].append(v.strip())
    except csv.Error as e:
        raise InputError(f"{p}:{reader.line_num}: {e}") from None
    return cols


def _atomic_write(path: str | os.PathLike, write: Callable[[csv.writer], None]) -> None:
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            write(csv.writer(fh))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _Progress:
    """Progress bar (tqdm, stderr) over the stages of a run."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bar = None
        self.stage = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=total, desc=f"link {stage}", file=sys.stderr, leave=False,
                            unit="", dynamic_ncols=True)
        assert self.bar is not None
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _dedupe(args: argparse.Namespace) -> int:
    from phis.algorithms.linkage import Linker, chinese_person_schema

    cols = read_persons(args.input)
    n = len(cols["record_id"])
    show = args.progress if args.progress is not None else n >= PROGRESS_MIN_RECORDS
    progress = _Progress(show)
    linker = Linker(chinese_person_schema(), match_threshold=args.threshold_match,
                    possible_threshold=args.threshold_possible, workers=args.workers,
                    seed=args.seed, progress=progress)
    try:
        result = linker.dedupe(cols)
    finally:
        progress.close()

    def write_clusters(w) -> None:
        w.writerow(("record_id", "cluster_id"))
        w.writerows(zip(result.record_ids, result.cluster_ids, strict=True))

    if args.possible_output:
        pairs = result.possible_pairs()

        def write_pairs(w) -> None:
            w.writerow(("record_id_a", "record_id_b", "match_probability", "match_weight"))
            w.writerows((a, b, f"{p:.6f}", f"{wt:.3f}") for a, b, p, wt in pairs)

        _atomic_write(args.possible_output, write_pairs)
    _atomic_write(args.output, write_clusters)
    st = result.stats
    print(f"{st['records']} records, {st['candidate_pairs']} candidate pairs, "
          f"{st['matches']} matching pairs, {st['clusters']} clusters "
          f"({st['seconds']:.1f} s)", file=sys.stderr)
    return 0


def read_clusters(path: str | os.PathLike, *, what: str) -> dict[str, str]:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    reader = csv.reader(io.StringIO(_decode(p), newline=""))
    header = [h.strip() for h in next(reader, [])]
    if len(header) != 2 or header[0] != "record_id" or header[1] not in (
            "cluster_id", "entity_id"):
        raise InputError(f"{p}:1: wrong header {','.join(header)!r}; expected "
                         "record_id,cluster_id (or record_id,entity_id)")
    out: dict[str, str] = {}
    for row in reader:
        if not row:
            continue
        if len(row) != 2:
            raise InputError(f"{p}:{reader.line_num}: {len(row)} columns, expected 2")
        rid = row[0].strip()
        if rid in out:
            raise InputError(f"{p}:{reader.line_num}: column record_id: duplicate {rid!r}")
        out[rid] = row[1].strip()
    if not out:
        raise InputError(f"{p}: no {what} rows")
    return out


def _evaluate(args: argparse.Namespace) -> int:
    from phis.algorithms.linkage.evaluate import pairwise_scores

    pred = read_clusters(args.clusters, what="cluster")
    truth = read_clusters(args.truth, what="truth")
    s = pairwise_scores(pred, truth)
    if s.records == 0:
        raise InputError("no record_id appears in both files")
    missing = len(set(truth) ^ set(pred))
    print(f"records    {s.records}" + (f" ({missing} in only one file, ignored)"
                                        if missing else ""))
    print(f"precision  {s.precision:.6f}")
    print(f"recall     {s.recall:.6f}")
    print(f"f1         {s.f1:.6f}")
    print(f"pairs      true positive {s.true_positives}, predicted {s.predicted_pairs}, "
          f"true {s.true_pairs}")
    return 0


def _synth(args: argparse.Namespace) -> int:
    from phis.algorithms.linkage.synthetic import make_linkage_dataset

    ds = make_linkage_dataset(args.n, seed=args.seed, duplicate_share=args.duplicate_share)

    def write_persons(w) -> None:
        w.writerow(HEADER)
        w.writerows(zip(*(ds.columns[c] for c in HEADER), strict=True))

    _atomic_write(args.output, write_persons)
    if args.truth:
        def write_truth(w) -> None:
            w.writerow(("record_id", "entity_id"))
            w.writerows((r, ds.truth[r]) for r in ds.columns["record_id"])

        _atomic_write(args.truth, write_truth)
    print(f"{len(ds)} records of {len(set(ds.truth.values()))} persons", file=sys.stderr)
    return 0


def _probability(text: str) -> float:
    v = float(text)
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1 (exclusive)")
    return v


def _positive(text: str) -> int:
    v = int(text)
    if v < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return v


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="phis link", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dedupe", help="find duplicate person records and cluster them")
    d.add_argument("--input", required=True)
    d.add_argument("--output", required=True)
    d.add_argument("--possible-output", help="CSV of pairs for steward review")
    d.add_argument("--threshold-match", type=_probability, default=0.9,
                   help="match probability for an automatic link (default 0.9)")
    d.add_argument("--threshold-possible", type=_probability, default=0.5,
                   help="match probability for steward review (default 0.5)")
    d.add_argument("--workers", type=_positive, default=1,
                   help="threads for string comparisons (default 1)")
    d.add_argument("--seed", type=int, default=0, help="seed of the random-pair sample")
    g = d.add_mutually_exclusive_group()
    g.add_argument("--progress", dest="progress", action="store_true", default=None)
    g.add_argument("--no-progress", dest="progress", action="store_false")
    e = sub.add_parser("evaluate", help="pairwise precision, recall and F1 against a truth")
    e.add_argument("--clusters", required=True)
    e.add_argument("--truth", required=True)
    s = sub.add_parser("synth", help="synthetic persons with duplicates and truth")
    s.add_argument("--n", type=_positive, default=10_000, help="number of persons")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--duplicate-share", type=float, default=0.35)
    s.add_argument("--output", required=True)
    s.add_argument("--truth")
    return ap


def main(argv: list[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    if args.command == "dedupe" and args.threshold_possible > args.threshold_match:
        print("phis link: --threshold-possible must not exceed --threshold-match",
              file=sys.stderr)
        return 2
    try:
        return {"dedupe": _dedupe, "evaluate": _evaluate, "synth": _synth}[args.command](args)
    except InputError as e:
        print(f"phis link: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"phis link: {e}", file=sys.stderr)
        return 1
