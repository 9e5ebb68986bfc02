from linkwork.tui_entry import no_collection_at_exit, one_blas_thread

one_blas_thread()
no_collection_at_exit()

from linkwork.cli import main  # noqa: E402 (after the process is set up)

main()
