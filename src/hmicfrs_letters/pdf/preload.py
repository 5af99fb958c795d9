"""What the fork server imports once for every worker: the worker's code, and WeasyPrint.

The fork server stops at an import that fails with anything but ImportError; WeasyPrint without
its system libraries raises OSError. Such a failure is left here for each worker to meet again,
with its reason, when it starts (pdf.worker.start).
"""

import contextlib

import hmicfrs_letters.pdf.worker

with contextlib.suppress(Exception):
    import hmicfrs_letters.pdf.engine  # noqa: F401

# Babel's CLDR data for the letters' dates, read once here rather than by each worker (~40 ms).
with contextlib.suppress(Exception):
    import datetime

    from hmicfrs_letters.core.languages import long_date

    long_date(datetime.date(2000, 1, 1))
