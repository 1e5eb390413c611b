"""The accuracy benchmark's counts, and the tables they print: recall per row, a summary per group, false
matches per kind of query, spreadtrace's most-missed references and false matches; as JSON too."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table

from benchmarks.corpus import Spec
from benchmarks.edits import GROUPS, ROWS_BY_KEY, Row
from benchmarks.jobs import CONTENDERS, Outcome, Query

SPREADTRACE = len(CONTENDERS) - 1
EDITED = "edited references (another reference)"
EXAMPLES = 20
KINDS = {"scene": "generated scenes", "texture": "periodic textures"}


def kind_of(reference: Spec) -> str:
    return "real" if reference.family in ("perception", "skimage") else "generated"


@dataclass
class Tally:
    """Everything counted over a run; `add` one judged query at a time."""

    rows: tuple[Row, ...]
    references: list[Spec]
    made: Counter[str] = field(default_factory=Counter)  # queries per row
    made_by_kind: Counter[tuple[str, str]] = field(default_factory=Counter)
    hits: Counter[tuple[str, int]] = field(default_factory=Counter)  # (row, contender)
    spreadtrace_hits_by_kind: Counter[tuple[str, str]] = field(default_factory=Counter)
    queries_by_source: Counter[str] = field(default_factory=Counter)
    false: Counter[tuple[str, int]] = field(default_factory=Counter)  # (source, contender)
    wrong_reviews: Counter[tuple[str, int]] = field(default_factory=Counter)
    true_reviews: Counter[int] = field(default_factory=Counter)
    missed: Counter[int] = field(default_factory=Counter)  # spreadtrace's misses per reference
    examples: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # workers' time, edited copies and distractors

    @property
    def queries(self) -> int:
        return sum(self.queries_by_source.values())

    @property
    def pairs(self) -> int:
        return self.queries * len(self.references)

    def false_total(self, contender: int) -> int:
        return sum(n for (_, c), n in self.false.items() if c == contender)

    def add(self, query: Query, outcome: Outcome, source: str) -> None:
        truth = query.truth
        source = EDITED if query.row is not None else source
        self.queries_by_source[source] += 1
        spent = EDITED if query.row is not None else "distractors"
        self.seconds[spent] = self.seconds.get(spent, 0.0) + outcome.seconds
        if outcome.error:
            self.errors.append(f"{_describe(query)}: {outcome.error}")
        if query.row is not None and truth is not None:
            kind = kind_of(self.references[truth])
            self.made[query.row] += 1
            self.made_by_kind[(query.row, kind)] += 1
            if truth not in outcome.matched[SPREADTRACE]:
                self.missed[truth] += 1
            else:
                self.spreadtrace_hits_by_kind[(query.row, kind)] += 1
        for contender, (matched, review) in enumerate(zip(outcome.matched, outcome.review, strict=True)):
            if query.row is not None and truth in matched:
                self.hits[(query.row, contender)] += 1
            self.false[(source, contender)] += len(matched - {truth})
            self.wrong_reviews[(source, contender)] += len(review - {truth})
            self.true_reviews[contender] += truth in review
        deciders = dict(outcome.decided_by)
        for wrong in sorted(outcome.matched[SPREADTRACE] - {truth}):
            if len(self.examples) < EXAMPLES:
                self.examples.append(f"{_describe(query)} -> {self.references[wrong].label} ({deciders.get(wrong, '?')})")

    # -- tables ---------------------------------------------------------------------------------------

    def recall_table(self, distractors: int) -> Table:
        kinds = Counter(KINDS.get(r.family, "real photographs") for r in self.references)
        described = ", ".join(f"{kinds[k]} {k}" for k in ("real photographs", *KINDS.values()) if kinds[k])
        table = Table(title=f"Recall per edit: {len(self.references)} references ({described}), {distractors:,} distractors")
        table.add_column("edit")
        table.add_column("copies", justify="right")
        for label in CONTENDERS:
            table.add_column(label, justify="right")
        group = None
        for row in self.rows:
            if row.key not in self.made:
                continue
            if group is not None and row.group != group:
                table.add_section()
            group = row.group
            table.add_row(row.label, str(self.made[row.key]), *(f"{self._recall([row.key], c):.0%}" for c in range(len(CONTENDERS))))
        return table

    def group_table(self) -> Table:
        table = Table(title="Per group: mean recall over its copies, spreadtrace's split and weakest row")
        table.add_column("group")
        table.add_column("rows", justify="right")
        table.add_column("copies", justify="right")
        for label in CONTENDERS:
            table.add_column(label, justify="right")
        table.add_column("spreadtrace: real / generated", justify="right")
        table.add_column("spreadtrace's weakest row")
        for group in GROUPS:
            keys = [r.key for r in self.rows if r.group == group and r.key in self.made]
            if not keys:
                continue
            weakest = min(keys, key=lambda k: self._recall([k], SPREADTRACE))
            split = " / ".join(self._kind_recall(keys, kind) for kind in ("real", "generated"))
            table.add_row(group, str(len(keys)), f"{sum(self.made[k] for k in keys):,}",
                          *(f"{self._recall(keys, c):.1%}" for c in range(len(CONTENDERS))), split,
                          f"{ROWS_BY_KEY[weakest].name} ({self._recall([weakest], SPREADTRACE):.0%})")  # fmt: skip
        return table

    def false_table(self) -> Table:
        table = Table(title="False matches (and wrong-reference reviews) per kind of query")
        table.add_column("queries")
        table.add_column("count", justify="right")
        for label in CONTENDERS:
            table.add_column(label, justify="right")
        for source, count in sorted(self.queries_by_source.items(), key=lambda item: (item[0] == EDITED, item[0])):
            cells = []
            for contender in range(len(CONTENDERS)):
                false, review = self.false[(source, contender)], self.wrong_reviews[(source, contender)]
                cells.append(f"{false}" + (f" (+{review} review)" if review else ""))
            table.add_row(source, f"{count:,}", *cells)
        return table

    def pairs_line(self) -> str:
        counts = ", ".join(f"{label} {self.false_total(c)}" for c, label in enumerate(CONTENDERS))
        return (f"pairs counted: {self.queries:,} queries x {len(self.references)} references = {self.pairs:,}; "
                f"false matches: {counts}")  # fmt: skip

    def review_line(self) -> str:
        wrong = [sum(n for (_, c), n in self.wrong_reviews.items() if c == k) for k in range(len(CONTENDERS))]
        return (f"needs review, spreadtrace (hashes only / full): true reference {self.true_reviews[2]} / "
                f"{self.true_reviews[3]}, wrong reference {wrong[2]} / {wrong[3]}")  # fmt: skip

    def cost_line(self) -> str:
        """Workers' time per query, so a run of other sizes can be foreseen."""
        edited = self.queries_by_source[EDITED]
        distractors = self.queries - edited
        each = [f"{kind} {1000 * self.seconds[key] / n:,.0f} ms each" for kind, key, n in
                (("edited copies", EDITED, edited), ("distractors", "distractors", distractors)) if n]  # fmt: skip
        return f"workers' time per query ({len(self.references)} references): " + ", ".join(each)

    def missed_lines(self, count: int = 8) -> list[str]:
        made = Counter[int]()
        for row in self.rows:
            refs = [i for i, r in enumerate(self.references) if (r.family == "texture") == row.textures]
            made.update(refs if row.key in self.made else [])
        return [f"  {self.references[i].label}: missed {n} of {made[i]} copies" for i, n in self.missed.most_common(count)]

    def as_json(self) -> dict[str, Any]:
        return {
            "references": [r.label for r in self.references],
            "queries": self.queries,
            "pairs": self.pairs,
            "contenders": list(CONTENDERS),
            "recall": {key: {c: self._recall([key], k) for k, c in enumerate(CONTENDERS)} for key in self.made},
            "false_matches": {c: self.false_total(k) for k, c in enumerate(CONTENDERS)},
            "false_matches_by_source": {s: {c: self.false[(s, k)] for k, c in enumerate(CONTENDERS)} for s in self.queries_by_source},
            "spreadtrace_misses": {self.references[i].label: n for i, n in self.missed.most_common()},
            "spreadtrace_false_examples": self.examples,
            "errors": self.errors,
        }

    def _recall(self, keys: list[str], contender: int) -> float:
        made = sum(self.made[k] for k in keys)
        return sum(self.hits[(k, contender)] for k in keys) / made if made else 0.0

    def _kind_recall(self, keys: list[str], kind: str) -> str:
        made = sum(self.made_by_kind[(k, kind)] for k in keys)
        return f"{sum(self.spreadtrace_hits_by_kind[(k, kind)] for k in keys) / made:.1%}" if made else "-"


def _describe(query: Query) -> str:
    return f"{query.picture.label}, {ROWS_BY_KEY[query.row].label}" if query.row else query.picture.label
