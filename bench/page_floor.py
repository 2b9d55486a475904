"""How close a parent page could come to the bare view if its template cost
nothing: each page's Python function calls split into its template's own
work and the rest (the view, its queries, the middleware), against the bare
view of bench/inprocess.py.

A call counts as the template's when it runs inside `Template.render` and
not inside a query: a queryset's fetch (`_fetch_all`, which builds the
rows' objects), a compiler's `execute_sql` (which compiles the SQL and runs
it), or the database driver. A query a template triggers, through a lazy
queryset or a tag that reads the family's account, stays the page's data
work. Everything else a template runs counts as the template's: building
a queryset in a tag, summing rows, a choice's label, a model's `pk`. So the
floor below is, if anything, too low: a page would cost at least that
much, and the best ratio printed is, if anything, too high.

For each page it prints its calls, the calls its template adds beyond the
bare view's (which renders the same shell, base.html), and the floor: the
page's calls with a template no dearer than the bare view's. The ratio of
the bare view's calls to the floor is the best calls ratio that page could
reach by work on its template alone; in CPU time the ratio runs a few
hundredths lower (docs/PERFORMANCE.md). Writes nothing.

Usage, after `bench/generate.py` (see there):
  export DATABASE_URL=postgres://postgres@127.0.0.1:5432/portail_bench_data
  .venv/bin/python bench/page_floor.py
"""

import os
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import setup_django  # noqa: E402
from inprocess import parent_pages  # noqa: E402

# Where a query runs: the driver and Django's database backends, and the
# two functions every ORM query goes through to reach them.
DATA_FILES = (
    os.path.join(os.sep, "django", "db", "backends", ""),
    os.path.join(os.sep, "psycopg", ""),
)
DATA_FUNCTIONS = {
    (os.path.join("django", "db", "models", "query.py"), "_fetch_all"),
    (os.path.join("django", "db", "models", "sql", "compiler.py"), "execute_sql"),
}


def runs_a_query(code: CodeType) -> bool:
    if any(part in code.co_filename for part in DATA_FILES):
        return True
    return any(
        code.co_name == name and code.co_filename.endswith(path)
        for path, name in DATA_FUNCTIONS
    )


class CallSplit:
    """Counts calls (Python and built-in, as cProfile does) by where they
    run: `template`, `data` or `other`."""

    def __init__(self, render: CodeType) -> None:
        self.render = render
        self.stack = ["other"]
        self.counts: Counter[str] = Counter()

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        top = self.stack[-1]
        if event == "call":
            code = frame.f_code
            if top == "data" or runs_a_query(code):
                kind = "data"
            elif code is self.render:
                kind = "template"
            else:
                kind = top
            self.stack.append(kind)
            self.counts[kind] += 1
        elif event == "return":
            if len(self.stack) > 1:
                self.stack.pop()
        elif event == "c_call":
            self.counts[top] += 1


def main() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.pages_settings"
    static_root = tempfile.mkdtemp(prefix="portail-bench-static-")
    os.environ["DJANGO_STATIC_ROOT"] = static_root
    try:
        measure()
    finally:
        shutil.rmtree(static_root, ignore_errors=True)


def measure() -> None:
    setup_django()
    from django.template.base import Template

    parent, client, pages = parent_pages()
    split: dict[str, Counter[str]] = {}
    for name, path in pages.items():
        client.get(path, secure=True)  # a second time: caches as warm as can be
        counter = CallSplit(Template.render.__code__)
        sys.setprofile(counter)
        status = client.get(path, secure=True).status_code
        sys.setprofile(None)
        if status != 200:
            sys.exit(f"{name} ({path}) answered {status} when measured")
        split[name] = counter.counts
    bare = split["baseline"]
    bare_total = sum(bare.values())
    print(f"parent with {parent.invoices} invoices; calls of one request")
    print(
        f"{'page':>16}  {'calls':>6} {'ratio':>5}  {'template':>8} "
        f"{'beyond bare':>11}  {'floor':>6} {'ratio':>5}"
    )
    for name, counts in split.items():
        total = sum(counts.values())
        beyond = counts["template"] - bare["template"]
        floor = total - max(beyond, 0)
        print(
            f"{name:>16}  {total:6d} {bare_total / total:5.2f}  "
            f"{counts['template']:8d} {beyond:11d}  "
            f"{floor:6d} {bare_total / floor:5.2f}"
        )


if __name__ == "__main__":
    main()
