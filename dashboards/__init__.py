"""The web dashboard (not built yet) and what it shares with the HTML report: the vendored JavaScript in
``static/vendor/`` (see its README)."""
