"""A Jenkins controller test double speaking the remote API over real HTTP (loopback only).

Spec: ``/work/shared/reference/jenkins-remote-api.md``.  Contract used by other test suites:

    from tests.jenkins_double import JenkinsDouble
    with JenkinsDouble(user="admin", token="11ab...", password="pw", quiet_period=0) as d:
        d.url            # "http://127.0.0.1:<port>/"
        d.set_behaviour("team/app", result="FAILURE", duration_ms=800, log_lines=["x"])
        d.set_faults(latency_ms=10, unavailable_s=5, error_rate=0.05, drop_rate=0.02,
                     invalidate_sessions=True)   # no arguments: clear
        d.requests()     # [{"method", "path", "status"}, ...]; d.clear_requests()

Constructor options: ``user, token, password, port=0, version="2.492.3", quiet_period=5.0,
executors=2, left_item_ttl=300.0, startup_unavailable_s=0, default_duration_ms=1000,
executable_delay_s=0.05, log_close_delay_s=0, restart_s=0.5, jetty_headers=False, crumbs=True,
casc_reload_token=None, casc_yaml=None, latency_ms, error_rate, drop_rate, unavailable_s, seed``.

HTTP control API (same credentials as Jenkins; never listed; not in the request log; not
affected by faults): ``POST /__double__/behaviour`` ``{"job", "result", "duration_ms",
"log_lines", "count", "executors"}``; ``POST /__double__/executors`` ``{"executors": N}``;
``POST|DELETE|GET /__double__/faults``; ``GET|DELETE /__double__/requests``;
``POST /__double__/script`` ``{"output"}``; ``POST /__double__/casc`` ``{"yaml", "reload_token"}``;
``POST /__double__/branches`` ``{"job", "branches"}``; ``POST /__double__/restart``
``{"window_s"}``; ``GET /__double__/state``.  See README.md in this package for details and the
known deviations from the spec.

Default console of a build: ``Started by user <name>``, one ``[Pipeline] { (<stage>)`` line per
``stage('...')`` in the job's inline Jenkinsfile (or the behaviour's ``log_lines`` instead),
then ``Finished: <RESULT>``; lines appear progressively over the build's duration.
"""
from .server import JenkinsDouble

__all__ = ["JenkinsDouble"]
