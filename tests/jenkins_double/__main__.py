"""``python -m tests.jenkins_double --port P --user U --token T`` -> prints ``READY <url>``."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from .server import JenkinsDouble


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.jenkins_double",
                                 description="Jenkins remote-API test double (loopback only)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--user", default="admin")
    ap.add_argument("--token", help="API token (prefer --token-env)")
    ap.add_argument("--token-env", metavar="VAR", help="read the API token from this env var")
    ap.add_argument("--password", help="password (prefer --password-env)")
    ap.add_argument("--password-env", metavar="VAR", help="read the password from this env var")
    ap.add_argument("--version", dest="jenkins_version", default="2.492.3")
    ap.add_argument("--latency-ms", type=float, default=0)
    ap.add_argument("--error-rate", type=float, default=0)
    ap.add_argument("--drop-rate", type=float, default=0)
    ap.add_argument("--unavailable-s", type=float, default=0)
    ap.add_argument("--startup-unavailable-s", type=float, default=0)
    ap.add_argument("--quiet-period", type=float, default=5.0)
    ap.add_argument("--executors", type=int, default=2)
    ap.add_argument("--left-item-ttl", type=float, default=300.0)
    ap.add_argument("--build-duration-ms", type=int, default=1000)
    ap.add_argument("--casc-reload-token-env", metavar="VAR")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--log-close-delay-s", type=float, default=0.0,
                    help="keep a finished build's log open this long before 'Finished: X'")
    ap.add_argument("--jetty-headers", action="store_true",
                    help="write header chars > 0xFF as spaces, as Jetty does (e.g. in X-Error)")
    a = ap.parse_args(argv)

    def secret(direct, env):
        if env:
            v = os.environ.get(env)
            if v is None:
                ap.error(f"environment variable {env} is not set")
            return v
        return direct

    token = secret(a.token, a.token_env)
    password = secret(a.password, a.password_env)
    d = JenkinsDouble(user=a.user, token=token, password=password, port=a.port,
                      version=a.jenkins_version, quiet_period=a.quiet_period,
                      executors=a.executors, left_item_ttl=a.left_item_ttl,
                      startup_unavailable_s=a.startup_unavailable_s,
                      default_duration_ms=a.build_duration_ms,
                      casc_reload_token=secret(None, a.casc_reload_token_env),
                      latency_ms=a.latency_ms, error_rate=a.error_rate, drop_rate=a.drop_rate,
                      unavailable_s=a.unavailable_s, seed=a.seed, jetty_headers=a.jetty_headers,
                      log_close_delay_s=a.log_close_delay_s)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    d.start()
    print(f"READY {d.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        d.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
