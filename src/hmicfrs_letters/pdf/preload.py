"""What the fork server imports once for every worker: the worker's code, and WeasyPrint.

The fork server stops at an import that fails with anything but ImportError; WeasyPrint without
its system libraries raises OSError. Such a failure is left here for each worker to meet again,
with its reason, when it starts (pdf.worker.start).
"""

import contextlib

import hmicfrs_letters.pdf.worker

with contextlib.suppress(Exception):
    import hmicfrs_letters.pdf.engine  # noqa: F401

# A page laid out, written and read back once here, with no project's stylesheet: fontconfig, Pango
# and PDFium start in the fork server, and every worker forked from it starts warm (its own warm-up
# with the project's assets then takes ~0.07 s, not ~0.13 s).
with contextlib.suppress(Exception):
    from weasyprint import HTML

    from hmicfrs_letters.pdf.verify import pdf_text

    pdf_text(HTML(string='<html lang="en"><title>-</title><p>Warm <b>up</b> <i>1</i></p></html>').write_pdf())

# Babel's CLDR data for the letters' dates, read once here rather than by each worker (~40 ms).
with contextlib.suppress(Exception):
    import datetime

    from hmicfrs_letters.core.languages import long_date

    long_date(datetime.date(2000, 1, 1))
