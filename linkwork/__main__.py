from linkwork.tui_entry import one_blas_thread

one_blas_thread()

import sys  # noqa: E402

from linkwork import search_command  # noqa: E402 (after the thread count is set)

if not search_command.main(sys.argv[1:]):  # a plain directory search runs without Typer
    from linkwork.cli import main
    from linkwork.tui_entry import before_exit

    try:
        main()
    finally:
        before_exit()
