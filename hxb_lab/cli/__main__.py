"""``python -m hxb_lab.cli``: the `hxb-lab` command."""

from hxb_lab.cli import main

main()
