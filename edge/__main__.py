"""`python -m ser_edge` is `ser-edge`."""

from .cli import main

if __name__ == "__main__":
    main()
