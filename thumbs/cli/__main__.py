"""`python -m thumbs.cli` is the same as the `thumbs` command (as `python -m thumbs` is)."""

from thumbs.cli import main

main()
