"""PDFs: the renderer (the only code that imports WeasyPrint), the check of a PDF's own text,
the content-addressed cache, and the one path that gives a verified PDF (service.PdfService).

This package's own module is kept light: the `letters` command imports it before anything else.
"""

# What the fork server imports once, before it forks any worker (see pool.start_fork_server).
WORKER_MODULES = ("hmicfrs_letters.pdf.preload",)
# The environment variable that asks the fork server to lay out a page first, with the stylesheet and
# fonts of the templates folder it names (pdf.preload; service.start_worker_server sets it).
WARM_UP = "HMICFRS_LETTERS_WARM_UP"
# A letter takes a tenth of a second; one that takes a minute is stuck (a template that loops,
# a stylesheet that makes WeasyPrint spin): it fails alone and its worker is replaced.
LETTER_TIME_LIMIT = 60.0
# A worker process is replaced after this many documents, so that any memory WeasyPrint keeps
# between documents is handed back (GOV.UK Notify's renderer does the same).
TASKS_PER_WORKER = 500
# A letter's HTML alone (`--format html`) takes ~5 ms, a worker's start ten times that: a call that makes
# HTML only starts one worker for each this many documents.
HTML_DOCUMENTS_PER_WORKER = 20
# Stylesheets and fonts under templates/assets/: a font is a few hundred kilobytes; far more is not one of ours.
MAX_ASSET_BYTES = 20_000_000
ASSETS_SHOWN = "templates/assets"
