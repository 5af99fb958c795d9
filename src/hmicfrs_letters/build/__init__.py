"""The bulk build: every letter made in parallel and written, with its index, the national
overview, the audit manifest, and the page counts that `check` and `approve` take from it."""
