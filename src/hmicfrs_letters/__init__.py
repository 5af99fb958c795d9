"""hmicfrs-letters: standard letters from YAML data, rendered to HTML and PDF."""

__version__ = "0.1.0"
