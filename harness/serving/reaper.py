"""Kill a server's process group once lep-bench is gone, even when lep-bench is SIGKILLed.

lep-bench's own stop(), signal handlers and watchdog thread all die with it under SIGKILL (or an OOM
kill), and `vllm serve`'s engine would keep gigabytes alive. This tiny process, started with each
server in a session of its own, blocks on a pipe from lep-bench: the read returns at end of file when
lep-bench closes it after a normal stop or when the kernel closes it because lep-bench died, and then
the group is killed. Kept free of lep-bench's heavy imports so that it starts in milliseconds.

    python -m harness.serving.reaper GROUP   (stdin: the pipe)
"""

import sys

from harness.serving.process_group import kill_all


def main() -> None:
    group = int(sys.argv[1])
    sys.stdin.buffer.read()  # end of file: lep-bench stopped the server, or died
    kill_all(group, set())


if __name__ == "__main__":
    main()
