"""The HTTP listener's limits, driven with raw sockets where a well-behaved client cannot show
them: body and header sizes (JSON 413/431 from consentd, and what libevent answers itself above
twice the limits), header count, the read deadline that cuts off clients trickling a request
(slowloris) or sending nothing, libevent's idle timeout, http.max_connections, the per-token rate
limit (429) and the writer queue's 503. Timings only bound waits; nothing asserts speed."""

import http.client
import select
import socket
import threading
import time

from daemon import http_request, http_request_early_answer, Response
from events import consent_event

# Generous upper bounds for "eventually": a daemon that never acts fails the test, a slow
# machine does not.
CUTOFF_BOUND = 20.0


def assert_json_error(r, status, code, field=None):
    assert r.status == status, r
    assert r.header("X-Request-Id"), r
    assert isinstance(r.json, dict) and isinstance(r.json.get("error"), dict), r
    err = r.json["error"]
    assert err.get("code") == code, r
    assert isinstance(err.get("message"), str) and err["message"], r
    if field is not None:
        assert err.get("field") == field, r
    return err


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=30)


def request_bytes(method="GET", path="/healthz", headers=(), body=b""):
    head = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1"]
    head += ["%s: %s" % kv for kv in headers]
    if body:
        head.append("Content-Length: %d" % len(body))
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def read_response(sock, method="GET"):
    """One response from a socket that stays usable for the next request (keep-alive)."""
    r = http.client.HTTPResponse(sock, method=method)
    r.begin()
    body = r.read()
    return Response(r.status, r.headers, body)


def answered_within(sock, seconds):
    readable, _, _ = select.select([sock], [], [], seconds)
    return bool(readable)


def closed_by_server(sock, within):
    """True once the server has closed sock (EOF or reset) within `within` seconds; bytes it
    sends before closing (none are expected) are read and dropped."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not answered_within(sock, max(0.0, deadline - time.monotonic())):
            return False
        try:
            if sock.recv(65536) == b"":
                return True
        except ConnectionResetError:
            return True
    return False


def trickle_until_closed(sock, data, interval, within):
    """Sends data one byte every `interval` seconds; returns how many bytes went out before the
    server closed the connection, or None if it was still open after `within` seconds."""
    deadline = time.monotonic() + within
    for i, byte in enumerate(data):
        if time.monotonic() > deadline:
            return None
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return i
        if closed_by_server(sock, interval):
            return i + 1
    return None


# --- sizes -------------------------------------------------------------------------------------

def test_body_over_max_body(env, consentd):
    d = consentd(overrides={"http": {"max_body": "4k"}})
    headers = {"Authorization": "Bearer " + env.token, "Content-Type": "application/json"}
    # Between max_body and twice it: consentd's own JSON 413.
    r = http_request_early_answer(d.port, "POST", "/v1/events", b"[" + b" " * 5000 + b"]", headers)
    assert_json_error(r, 413, "body_too_large")
    # Above twice max_body libevent refuses the request itself, before consentd sees it:
    # a 413 that is not JSON.
    r = http_request_early_answer(d.port, "POST", "/v1/events", b"[" + b" " * 9000 + b"]", headers)
    assert r.status == 413, r
    assert r.json is None, r
    assert env.count() == 0
    ev = consent_event()
    assert d.post(ev, env.token).status == 201


def test_header_size_limit(env, consentd):
    d = consentd(overrides={"http": {"max_header_size": "2k"}})
    with connect(d.port) as s:
        s.sendall(request_bytes(headers=[("X-Padding", "a" * 2500)]))
        assert_json_error(read_response(s), 431, "headers_too_large")
        # The connection goes on serving.
        s.sendall(request_bytes(headers=[("X-Padding", "a" * 500)]))
        assert read_response(s).status == 200
    # Above twice the limit libevent answers 400 itself (HTML) and closes the connection.
    with connect(d.port) as s:
        s.sendall(request_bytes(headers=[("X-Padding", "a" * 5000)]))
        r = read_response(s)
        assert r.status == 400, r
        assert r.json is None, r
        assert closed_by_server(s, CUTOFF_BOUND)
    assert d.request("GET", "/healthz").status == 200


def test_header_count_limit(env, consentd):
    # Set through the environment, as every key can be.
    d = consentd(environ={"CONSENTD_HTTP_MAX_HEADERS": "10"})
    with connect(d.port) as s:
        # Host and nine more: ten fields.
        s.sendall(request_bytes(headers=[("X-N%d" % i, "v") for i in range(9)]))
        assert read_response(s).status == 200
        s.sendall(request_bytes(headers=[("X-N%d" % i, "v") for i in range(10)]))
        assert_json_error(read_response(s), 431, "too_many_headers")
    # Checked before the token: an authenticated POST with too many headers stores nothing.
    many = {"X-N%d" % i: "v" for i in range(12)}
    assert_json_error(d.post(consent_event(), env.token, headers=many), 431, "too_many_headers")
    assert env.count() == 0


# --- deadlines ---------------------------------------------------------------------------------

def test_trickled_request_is_cut_off_and_others_are_served(env, consentd):
    # libevent's idle timeout restarts with every byte; only read_timeout can end this.
    d = consentd(overrides={"http": {"read_timeout": "2s", "idle_timeout": "60s"}})
    head = request_bytes(headers=[("X-Padding", "a" * 200)])
    with connect(d.port) as slow:
        sent = []
        t = threading.Thread(target=lambda: sent.append(
            trickle_until_closed(slow, head, interval=0.3, within=CUTOFF_BOUND)))
        t.start()
        try:
            # While the slow client holds its connection, others are answered.
            for _ in range(3):
                assert d.request("GET", "/healthz").status == 200
                time.sleep(0.2)
        finally:
            t.join(CUTOFF_BOUND + 10)
        assert sent and sent[0] is not None, "a request trickled byte by byte was never cut off"
        assert sent[0] < len(head), "the whole request went out before the cut-off"
    assert "no complete request within http.read_timeout" in d.log_text()


def test_silent_connection_is_cut_off(env, consentd):
    d = consentd(overrides={"http": {"read_timeout": "1s", "idle_timeout": "60s"}})
    with connect(d.port) as s:
        assert closed_by_server(s, CUTOFF_BOUND), "a connection that sent nothing stayed open"
    assert d.request("GET", "/healthz").status == 200


def test_slow_but_complete_request_and_idle_keepalive_are_served(env, consentd):
    d = consentd(overrides={"http": {"read_timeout": "10s", "idle_timeout": "60s"}})
    with connect(d.port) as s:
        head = request_bytes()
        for i in range(0, len(head), 8):  # in pieces, well within the deadline
            s.sendall(head[i:i + 8])
            time.sleep(0.05)
        assert read_response(s).status == 200
    # For a keep-alive connection the deadline counts from the next request's first byte, not
    # from the previous answer: idling longer than read_timeout is libevent's idle_timeout's
    # business.
    d2 = consentd(overrides={"http": {"read_timeout": "1s", "idle_timeout": "60s"}})
    with connect(d2.port) as s:
        s.sendall(request_bytes())
        assert read_response(s).status == 200
        time.sleep(2.5)
        s.sendall(request_bytes())
        assert read_response(s).status == 200
        # ...and a trickled second request is cut off like a first one.
        assert trickle_until_closed(s, request_bytes(), interval=0.3,
                                    within=CUTOFF_BOUND) is not None


def test_idle_keepalive_connection_is_closed(env, consentd):
    d = consentd(overrides={"http": {"idle_timeout": "1s", "read_timeout": "60s"}})
    with connect(d.port) as s:
        s.sendall(request_bytes())
        assert read_response(s).status == 200
        assert closed_by_server(s, CUTOFF_BOUND), "an idle keep-alive connection stayed open"


# --- connections -------------------------------------------------------------------------------

def test_max_connections(env, consentd):
    d = consentd(overrides={"http": {"max_connections": "2", "read_timeout": "60s"}})
    held = [connect(d.port), connect(d.port)]
    waiting = None
    try:
        for s in held:  # each accepted and served, then kept open (keep-alive)
            s.sendall(request_bytes())
            assert read_response(s).status == 200
        waiting = connect(d.port)  # the kernel completes the handshake; consentd does not accept
        waiting.sendall(request_bytes())
        assert not answered_within(waiting, 1.5), "a connection beyond max_connections was served"
        held.pop().close()
        assert answered_within(waiting, CUTOFF_BOUND), "no slot freed by a closed connection"
        assert read_response(waiting).status == 200
    finally:
        for s in held + [waiting]:
            if s:
                s.close()
    assert "http.max_connections" in d.log_text()
    # Everything closed: the daemon accepts again.
    deadline = time.monotonic() + CUTOFF_BOUND
    while True:
        try:
            assert d.request("GET", "/healthz", timeout=5).status == 200
            break
        except (OSError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise


def test_connection_cut_off_by_deadline_frees_its_slot(env, consentd):
    d = consentd(overrides={"http": {"max_connections": "1", "read_timeout": "2s"}})
    with connect(d.port) as silent:
        silent.sendall(b"GET /hea")  # a request that never completes holds the only slot
        time.sleep(0.3)
        with connect(d.port) as queued:
            queued.sendall(request_bytes())
            assert answered_within(queued, CUTOFF_BOUND), "the cut-off connection kept its slot"
            assert read_response(queued).status == 200
        assert closed_by_server(silent, CUTOFF_BOUND)


# --- per-token rate limit ----------------------------------------------------------------------

def test_rate_limit_per_token(env, consentd):
    d = consentd(overrides={"http": {"rate_limit": "1", "rate_burst": "2"}})

    def proof(token):  # answered 422 by consentd without touching the database
        return d.request("GET", "/v1/proofs/inclusion",
                         headers={"Authorization": "Bearer " + token})

    answers = [proof(env.token) for _ in range(2)]
    assert [r.status for r in answers] == [422, 422], answers  # the burst
    # One a second on average: some request of the next twenty is refused however slow the
    # machine is (twenty would need twenty seconds).
    for _ in range(20):
        r = proof(env.token)
        if r.status == 429:
            break
        assert r.status == 422, r
    err = assert_json_error(r, 429, "rate_limited", field="Authorization")
    assert "writer" in err["message"], err  # names the token, not the secret
    retry_after = r.header("Retry-After")
    assert retry_after and retry_after.isdigit() and int(retry_after) >= 1, r.headers
    # Budgets are per token: the other token is not refused.
    assert proof(env.read_token).status == 422
    # Unauthenticated endpoints are not limited.
    assert d.request("GET", "/healthz").status == 200
    time.sleep(int(retry_after))
    assert proof(env.token).status == 422


# --- writer queue ------------------------------------------------------------------------------

def _locked_writers(env):
    return env.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                   "AND wait_event_type = 'Lock'", (env.dbname,))[0][0]


def test_full_writer_queue_is_503_overloaded(env, consentd):
    d = consentd(overrides={"http": {"request_timeout": "60s"},
                            "ledger": {"batch_max": "1", "queue_max": "1"}})
    first = consent_event()
    assert d.post(first, env.token).status == 201
    evs = [consent_event() for _ in range(3)]
    answers = {}

    def post(i):
        answers[i] = d.post(evs[i], env.token, timeout=90)

    blocker = env.connect(autocommit=False)
    threads = []
    try:
        with blocker.cursor() as cur:
            cur.execute("SELECT * FROM ledger_head WHERE id = 1 FOR UPDATE")
            threads.append(threading.Thread(target=post, args=(0,)))
            threads[0].start()
            # The writer has taken event 0 and waits for the lock: the queue is empty.
            deadline = time.monotonic() + CUTOFF_BOUND
            while _locked_writers(env) == 0:
                assert time.monotonic() < deadline, "the writer never reached the chain head"
                time.sleep(0.05)
            # Room for one more event: of two requests one is queued, the other refused.
            for i in (1, 2):
                threads.append(threading.Thread(target=post, args=(i,)))
                threads[-1].start()
            deadline = time.monotonic() + CUTOFF_BOUND
            while len(answers) < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert list(answers) in ([1], [2]), answers
            refused = list(answers)[0]
            r = answers[refused]
            assert_json_error(r, 503, "overloaded")
            assert r.header("Retry-After") == "1", r.headers
        blocker.commit()
        for t in threads:
            t.join(60)
    finally:
        blocker.close()
        for t in threads:
            if t.is_alive():
                t.join(60)
    queued = 3 - refused
    assert answers[0].status == 201 and answers[queued].status == 201, answers
    stored = {eid for _, eid, _, _ in env.rows()}
    assert evs[refused]["event_id"] not in stored
    # Refused means not stored: the client retries.
    assert d.post(evs[refused], env.token).status == 201
    assert env.count() == 4  # first, 0, the queued one, the retried one

