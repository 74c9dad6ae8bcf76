"""`python -m ser_edge` is `ser-edge`."""

from ser_edge.cli import main

if __name__ == "__main__":
    main()
