import sys

from unitrack.cli import main

sys.exit(main())
