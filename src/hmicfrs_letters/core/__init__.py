"""The core: a project's YAML read into typed records, every problem collected, and a letter's HTML.

It knows nothing of WeasyPrint, typer or Starlette (import-linter holds that): the PDF, the
bulk build, the workflow, the command line and the preview are layers above it.
"""
