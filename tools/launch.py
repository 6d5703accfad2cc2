"""Start a trainer as several `tf.distribute` workers on this host: ``python -m tools.launch``.

    python -m tools.launch --workers 2 -- python -m wavenet.train --distribute multi_worker ...

Each worker is the same command with its own ``TF_CONFIG`` (a cluster of
``127.0.0.1`` ports, this worker's index); worker 0 is the chief, the only one that
writes. Their output is forwarded line by line with a ``[worker I]`` prefix. If one
worker fails or is killed, the others are stopped and the launcher exits non-zero
with one line naming it. On a real cluster each host sets its own ``TF_CONFIG``
(Kubernetes, SLURM) and runs the command directly; this launcher is for testing and
for single-host multi-process runs.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from dsp.audio import InputError, cli_main

STOP_GRACE_SECONDS = 10


def free_ports(n):
    """`n` distinct TCP ports that are free on 127.0.0.1 now."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def tf_config(ports, index):
    """The ``TF_CONFIG`` JSON of worker `index` in a cluster of local `ports`."""
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


def with_multi_worker_flag(command):
    """`command` with ``--distribute multi_worker`` appended unless it sets --distribute."""
    if any(arg == "--distribute" or arg.startswith("--distribute=") for arg in command):
        return list(command)
    return list(command) + ["--distribute", "multi_worker"]


def _forward(stream, prefix, out):
    """Copy `stream` to `out` line by line (``\\r`` progress updates too) with `prefix`."""
    buffer = b""
    while True:
        chunk = stream.read1(4096) if hasattr(stream, "read1") else stream.read(4096)
        if not chunk:
            break
        buffer += chunk
        while True:
            cut = min((i for i in (buffer.find(b"\n"), buffer.find(b"\r")) if i >= 0), default=-1)
            if cut < 0:
                break
            line, buffer = buffer[:cut], buffer[cut + 1:]
            if line.strip():
                out.write(f"{prefix}{line.decode(errors='replace')}\n")
                out.flush()
    if buffer.strip():
        out.write(f"{prefix}{buffer.decode(errors='replace')}\n")
        out.flush()


def describe_exit(code):
    """``exit code 3`` or ``killed by SIGKILL``."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def stop(processes):
    """SIGTERM every running worker's process group, SIGKILL whatever is left after a grace period."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = [p for p in processes if p.poll() is None]
        for p in alive:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while any(p.poll() is None for p in alive) and time.monotonic() < deadline:
            time.sleep(0.1)


def launch(command, workers):
    """Run `command` as `workers` local workers; return 0 when all succeed, else 1.

    Args:
        command: list of str, the trainer command.
        workers: int >= 1.
    """
    ports = free_ports(workers)
    processes, threads, failed = [], [], None
    for index in range(workers):
        env = dict(os.environ, TF_CONFIG=tf_config(ports, index), PYTHONUNBUFFERED="1")
        p = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
        processes.append(p)
        t = threading.Thread(target=_forward, args=(p.stdout, f"[worker {index}] ", sys.stdout), daemon=True)
        t.start()
        threads.append(t)
    try:
        while True:
            codes = [p.poll() for p in processes]   # every worker, each time (no short-circuit)
            failed = next(((i, c) for i, c in enumerate(codes) if c not in (None, 0)), None)
            if failed is not None or all(c == 0 for c in codes):
                break
            time.sleep(0.2)
    except KeyboardInterrupt:
        stop(processes)
        raise
    if failed is not None:
        stop(processes)
    for t in threads:
        t.join(timeout=5)
    if failed is not None:
        index, code = failed
        print(f"error: worker {index} failed ({describe_exit(code)}); stopped the other "
              f"{workers - 1} worker(s)", file=sys.stderr)
        return 1
    return 0


@cli_main
def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--" in argv:
        cut = argv.index("--")
        own, command = argv[:cut], argv[cut + 1:]
    else:
        own, command = argv, []
    p = argparse.ArgumentParser(prog="python -m tools.launch", description=__doc__.split("\n\n")[0],
                                usage="python -m tools.launch [--workers N] -- TRAINER COMMAND ...",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--workers", type=int, default=2, help="number of worker processes on this host")
    args = p.parse_args(own)
    if args.workers < 1:
        raise InputError(f"--workers must be >= 1, got {args.workers}")
    if not command:
        raise InputError("no trainer command: give it after --, e.g. "
                         "python -m tools.launch --workers 2 -- python -m wavenet.train ...")
    return launch(with_multi_worker_flag(command), args.workers)


if __name__ == "__main__":
    sys.exit(main())
