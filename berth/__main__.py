import sys

from berth.offline.cli import main

sys.exit(main())
