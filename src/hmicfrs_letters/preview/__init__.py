"""`letters serve`: every letter of an assessment in a browser, refreshed as its files change.

state.py holds what the pages show, app.py the routes and live reload, server.py the listening
socket; pages/ the preview's own templates, stylesheet and script (package data).
"""
