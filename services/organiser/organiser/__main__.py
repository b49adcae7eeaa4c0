"""`python -m organiser ...` runs the `guanyinli` command line."""

from organiser.cli import main

if __name__ == "__main__":
    main()
