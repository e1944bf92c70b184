"""A small Python module to pin codemarks to, shared by the locating and end-to-end tests."""

from __future__ import annotations

from kibitz.gitrepo import LineRange

RETRY = """\
def retry(call, attempts=3):
    for attempt in range(attempts):
        try:
            return call()
        except ConnectionError:
            if attempt == attempts - 1:
                raise
"""

MAIN = """\
def main(argv):
    options = parse_options(argv)
    connection = open_connection(options.host, options.port)
    try:
        for request in read_requests(options.input):
            answer = retry(lambda: connection.send(request))
            write_answer(options.output, answer)
            log_progress(request, answer)
    finally:
        connection.close()
    return 0
"""

CLEANUP = """\
def cleanup(paths):
    for path in paths:
        remove_quietly(path)
    report_cleanup(len(paths))
"""

APP = f"import os\n\n\ndef helper(value):\n    return value + 1\n\n\n{RETRY}\n\n{MAIN}\n\n{CLEANUP}"
# Lines of RETRY in APP.
RETRY_LINES = LineRange(8, 14)
