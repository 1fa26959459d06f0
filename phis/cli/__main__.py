import sys

from phis.cli import main

sys.exit(main())
