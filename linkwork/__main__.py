from linkwork.tui_entry import one_blas_thread

one_blas_thread()

from linkwork.cli import main  # noqa: E402 (after the thread count is set)

main()
