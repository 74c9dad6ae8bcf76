"""`python -m ser_edge` is `ser-edge`."""

from .cli import main

main()
