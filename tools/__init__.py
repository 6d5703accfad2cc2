"""Command-line tools run from the checkout (``python -m tools.launch``); not installed as a package."""
