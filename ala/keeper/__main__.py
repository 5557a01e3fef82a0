"""`python -m ala.keeper`: the same command as the `ala-keeper` console script."""

from ala.keeper.cli import console

if __name__ == "__main__":
    console()
