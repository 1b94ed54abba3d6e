"""`python -m thumbs` is the same as the `thumbs` command."""

from thumbs.cli import main

main()
