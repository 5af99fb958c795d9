"""What the fork server imports once for every worker: the worker's code, and WeasyPrint.

The fork server stops at an import that fails with anything but ImportError; WeasyPrint without
its system libraries raises OSError. Such a failure is left here for each worker to meet again,
with its reason, when it starts (pdf.worker.start).

A fork server that will fork many workers (the preview's, the test run's) also lays out one page
with a templates folder's stylesheet and fonts (service.start_worker_server names it in WARM_UP),
then checks its text: each worker forked after it finds fonts, stylesheets and the PDF reader
loaded and renders its first letter ~0.14 s sooner. A one-off build does not: its fork server is
ready sooner without the page, and it forks two workers.
"""

import contextlib
import os
from pathlib import Path

import hmicfrs_letters.pdf.verify
import hmicfrs_letters.pdf.worker
from hmicfrs_letters.pdf import WARM_UP

with contextlib.suppress(Exception):
    import hmicfrs_letters.pdf.engine  # noqa: F401

# Babel's CLDR data for the letters' dates, read once here rather than by each worker (~40 ms).
with contextlib.suppress(Exception):
    import datetime

    from hmicfrs_letters.core.languages import long_date

    long_date(datetime.date(2000, 1, 1))

_PAGE = (
    '<!DOCTYPE html><html lang="en-GB"><head><meta charset="utf-8"><title>Warm-up</title></head><body>'
    "<h1>Warm-up</h1><p>One page laid out <strong>once</strong>, <em>before</em> any worker starts.</p>"
    "<ul><li>A list item</li></ul></body></html>"
)


def warm_up(templates_dir: Path) -> int:
    """Lay out the warm-up page with this folder's stylesheet and fonts and check its text; its page count."""
    from hmicfrs_letters.pdf.engine import PdfRenderer
    from hmicfrs_letters.pdf.verify import check_rendered

    rendered = PdfRenderer(templates_dir / "assets").render(_PAGE)
    check_rendered(_PAGE, rendered.data)
    return rendered.pages


if templates := os.environ.get(WARM_UP):
    with contextlib.suppress(Exception):  # a page that fails here fails again, with its reason, in a worker
        warm_up(Path(templates))
