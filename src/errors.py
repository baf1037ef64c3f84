"""User-facing messages: errors (one line on stderr, exit code 2, never a traceback) and notes."""
import sys


class UserError(Exception):
    """Bad input or set-up that the user can fix. The message names the file and what to do."""


def run_main(main):
    """Run a script's main(); turn UserError into a one-line message and exit code 2."""
    try:
        main()
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted: outputs written so far are complete; re-run to finish", file=sys.stderr)
        sys.exit(130)


def note(message):
    """A line for the user on stderr (stdout stays free for the scripts' summaries), above any
    progress bar."""
    from tqdm import tqdm
    tqdm.write(message, file=sys.stderr)
