"""``phis mpi_fit``: fit the MPI's Fellegi–Sunter model without labels and write the
configuration file (docs/modules/mpi.md "Tuning").

Input: a CSV in the linkage CLI's format (``record_id,name,sex,birth_date,id_number,phone,
address``), e.g. an export of source records, or ``--synthetic N`` synthetic persons with
realistic duplicate errors (``phis.algorithms.linkage.synthetic``).
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from phis.algorithms.linkage import PERSON_FIELDS
from phis.core.people.mpi_engine import DEFAULT_MODEL_FILE, DEFAULTS, fit_engine


class Command(BaseCommand):
    help = "拟合主索引匹配模型 / Fit the MPI matching model and write its configuration file"

    def add_arguments(self, parser: CommandParser) -> None:
        src = parser.add_mutually_exclusive_group(required=True)
        src.add_argument("--input", help="CSV: record_id,name,sex,birth_date,id_number,"
                                         "phone,address (UTF-8)")
        src.add_argument("--synthetic", type=int, metavar="N",
                         help="fit on N synthetic persons (with duplicates)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--output", default=str(DEFAULT_MODEL_FILE))
        parser.add_argument("--match-threshold", type=float,
                            default=DEFAULTS["match_threshold"])
        parser.add_argument("--possible-threshold", type=float,
                            default=DEFAULTS["possible_threshold"])
        parser.add_argument("--max-candidates", type=int, default=DEFAULTS["max_candidates"])

    def handle(self, *args, **opts) -> None:
        if not 0 < opts["possible_threshold"] <= opts["match_threshold"] < 1:
            raise CommandError("need 0 < --possible-threshold <= --match-threshold < 1")
        if opts["synthetic"] is not None:
            if opts["synthetic"] < 100:
                raise CommandError("--synthetic needs at least 100 persons")
            from phis.algorithms.linkage.synthetic import make_linkage_dataset

            records = make_linkage_dataset(opts["synthetic"], seed=opts["seed"]).records()
            note = f"synthetic population: {opts['synthetic']} persons, seed {opts['seed']}"
        else:
            records = _read_csv(opts["input"])
            note = f"{Path(opts['input']).name}: {len(records)} records"
        config = fit_engine(records, match_threshold=opts["match_threshold"],
                            possible_threshold=opts["possible_threshold"],
                            max_candidates=opts["max_candidates"], note=note)
        out = Path(opts["output"])
        fd, tmp = tempfile.mkstemp(dir=out.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(config, fh, ensure_ascii=False, indent=1)
            fh.write("\n")
        os.replace(tmp, out)
        self.stdout.write(f"wrote {out} ({note})")


def _read_csv(path: str) -> list[dict[str, str]]:
    header = ["record_id", *PERSON_FIELDS]
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            first = next(reader, None)
            if first != header:
                raise CommandError(f"{path}:1: the header must be {','.join(header)}")
            rows = []
            for line, row in enumerate(reader, start=2):
                if len(row) != len(header):
                    raise CommandError(f"{path}:{line}: expected {len(header)} columns, "
                                       f"found {len(row)}")
                rows.append(dict(zip(header, row, strict=True)))
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"{path}: {exc}") from None
    if len(rows) < 100:
        raise CommandError(f"{path}: at least 100 records are needed to fit the model")
    return rows
