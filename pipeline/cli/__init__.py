"""The ``por`` command line: the top layer. Parses options, calls the library and the jobs, and maps
every error to one line on stderr and an exit code (``pipeline.errors``).

* ``app``: the application, ``--version``, error and exit-code handling;
* ``options``: the options several commands share (cluster and storage choice, placeholders);
* ``commands``: the commands.
"""

from . import commands
from .app import app, main

__all__ = ["app", "commands", "main"]
