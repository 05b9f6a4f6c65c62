import sys

from rnnexp.cli import main

sys.exit(main())
