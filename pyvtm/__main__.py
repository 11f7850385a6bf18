"""``python -m pyvtm``: same as the ``pyvtm`` command."""
import sys

from .cli import main

sys.exit(main())
