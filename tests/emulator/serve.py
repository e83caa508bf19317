"""Local emulator of the Huawei Cloud HSS v5 and Tencent Cloud TCSS image-scan APIs.

    python tests/emulator/serve.py --host 127.0.0.1 --port 8080 \\
        --hss-ak AK --hss-sk SK --hss-project-id PID \\
        --tcss-secret-id ID --tcss-secret-key KEY [options]

The first line on stdout is ``listening on http://HOST:PORT`` (or ``https://``). SIGTERM and
SIGINT stop the server cleanly (exit status 0). See README.md in this directory.
"""

import argparse
import json
import os
import signal
import ssl
import sys
import threading

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import dataset  # noqa: E402  pylint: disable=wrong-import-position
import realism  # noqa: E402  pylint: disable=wrong-import-position
from faults import FaultSpecError, parse_spec  # noqa: E402  pylint: disable=wrong-import-position
from server import Emulator, EmulatorServer  # noqa: E402  pylint: disable=wrong-import-position
from state import State  # noqa: E402  pylint: disable=wrong-import-position


def build_parser():
    parser = argparse.ArgumentParser(
        description="Emulator of the HSS v5 and TCSS 2020-11-01 image-scan APIs.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--hss-ak", help="HSS access key (AK)")
    parser.add_argument("--hss-sk", help="HSS secret key (SK)")
    parser.add_argument("--hss-project-id", help="HSS project id expected in /v5/{project_id}/")
    parser.add_argument("--hss-token", help="also accept X-Auth-Token: TOKEN for HSS")
    parser.add_argument("--tcss-secret-id", help="TCSS SecretId")
    parser.add_argument("--tcss-secret-key", help="TCSS SecretKey")
    parser.add_argument("--scan-seconds", type=float, default=10.0,
                        help="per-task model: every task takes S seconds whatever its size "
                             "(default 10; ignored with --image-seconds)")
    parser.add_argument("--image-seconds", type=float, metavar="S",
                        help="per-image model: every image takes S seconds to scan")
    parser.add_argument("--scan-parallelism", type=int, default=1, metavar="P",
                        help="per-image model: images each cloud scans at a time, across all "
                             "its running tasks (default 1)")
    parser.add_argument("--realism", default="", metavar="NAME[,NAME...]",
                        help="realism profiles: %s, or all" % ", ".join(realism.PROFILES))
    parser.add_argument("--lag-seconds", type=float, default=5.0, metavar="S",
                        help="the lag profile: seconds before a trigger's effects show "
                             "(default 5)")
    parser.add_argument("--data", help="dataset JSON file (default: the built-in dataset)")
    parser.add_argument("--generate-hosts", type=int, metavar="N",
                        help="use a generated dataset of N hosts instead of the built-in one")
    parser.add_argument("--images-per-host", type=int, default=10, metavar="M",
                        help="images per host with --generate-hosts (default 10)")
    parser.add_argument("--dump-data", action="store_true",
                        help="print the dataset as JSON and exit")
    parser.add_argument("--faults", metavar="SPEC",
                        help="fault plan: inline JSON or the path of a JSON file")
    parser.add_argument("--rate-limit", type=float, default=0, metavar="N",
                        help="at most N requests per second per cloud (0: no limit)")
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", help="private key of --tls-cert (PEM)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for task ids and faults without their own seed")
    parser.add_argument("--lenient", action="store_true",
                        help="accept parameters the SDK models do not define (strict by default)")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def load_dataset(args):
    if args.data:
        return dataset.load(args.data)
    if args.generate_hosts:
        return dataset.check(dataset.generate(args.generate_hosts, args.images_per_host))
    return dataset.check(dataset.builtin())


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        data = load_dataset(args)
    except dataset.DatasetError as exc:
        parser.error(str(exc))
    if args.dump_data:
        try:
            json.dump(data, sys.stdout, indent=1)
            sys.stdout.write("\n")
            sys.stdout.flush()
        except BrokenPipeError:
            sys.stdout = None  # the reader went away (e.g. `| head`)
        return 0
    missing = [name for name in ("hss_ak", "hss_sk", "hss_project_id", "tcss_secret_id",
                                 "tcss_secret_key") if not getattr(args, name)]
    if missing:
        parser.error("required: %s" % ", ".join("--" + m.replace("_", "-") for m in missing))
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.scan_seconds <= 0:
        parser.error("--scan-seconds must be positive")
    if args.image_seconds is not None and args.image_seconds <= 0:
        parser.error("--image-seconds must be positive")
    if args.scan_parallelism < 1:
        parser.error("--scan-parallelism must be at least 1")
    if args.lag_seconds < 0:
        parser.error("--lag-seconds must not be negative")
    try:
        profiles = realism.parse(args.realism)
    except realism.RealismError as exc:
        parser.error(str(exc))
    try:
        fault_spec = parse_spec(args.faults) if args.faults else {}
    except (FaultSpecError, OSError) as exc:
        parser.error(str(exc))

    context = None
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)

    state = State(data, scan_seconds=args.scan_seconds, seed=args.seed,
                  image_seconds=args.image_seconds, parallelism=args.scan_parallelism,
                  realism=profiles, lag_seconds=args.lag_seconds)
    emulator = Emulator(args, state, fault_spec)
    server = EmulatorServer((args.host, args.port), emulator, context, verbose=args.verbose)
    host, port = server.server_address[:2]
    scheme = "https" if context else "http"
    display_host = "[%s]" % host if ":" in host else host
    print("listening on %s://%s:%d" % (scheme, display_host, port), flush=True)

    stop = threading.Event()

    def on_signal(_signum, _frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              name="serve", daemon=True)
    thread.start()
    while not stop.wait(0.5):
        if not thread.is_alive():
            return 1
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
