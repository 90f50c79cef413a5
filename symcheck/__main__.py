"""``python -m symcheck`` runs the command line."""

from symcheck.cli import main

if __name__ == "__main__":
    main()
