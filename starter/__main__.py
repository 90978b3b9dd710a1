"""`python -m starter …`.

The process ends without the interpreter's teardown: the Temporal client's Rust threads may call
into Python while it finalizes, which aborts a short-lived process now and then after the
command did its work (temporalio/sdk-python#300; about one run in four on a busy machine).
"""

import logging
import os
import sys

from starter.cli import app

try:
    app()
    code: object = 0
except SystemExit as exit:
    code = exit.code
logging.shutdown()
if code is not None and not isinstance(code, int):
    print(code, file=sys.stderr)
    code = 1
sys.stdout.flush()
sys.stderr.flush()
os._exit(code or 0)
