import sys

from spreadtrace.cli import main

main_exit = main()
sys.exit(main_exit)
