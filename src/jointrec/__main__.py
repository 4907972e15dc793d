"""``python -m jointrec`` runs the CLI."""

from jointrec.cli.app import main

main()
