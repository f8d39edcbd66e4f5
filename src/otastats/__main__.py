"""Entry point for ``python -m otastats``."""

from otastats.cli import main

if __name__ == "__main__":
    main()
