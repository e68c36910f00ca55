"""Compliance reports end to end: history generated through the real daemon (POST /v1/events,
thousands of subjects), the data-rights register and consent analytics read back over HTTP and
with `consentctl report`, every figure checked against values computed here independently from
the events sent; JSON, CSV (RFC 4180) and HTML (rendered by headless Chromium, charts counted);
parameter errors (422), 401/403; and a large register streamed with flow control, bounded
concurrency, client disconnects and constant memory."""

import csv
import datetime
import hashlib
import html.parser
import http.client
import io
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import time
import urllib.parse

import pytest

from events import new_id, rfc3339

PURPOSES = ("essential", "analytics", "advertising", "functional")
MAIN_ACTIONS = ("accept_all", "reject_all", "customize", "withdraw")
RIGHTS = ("access", "rectification", "erasure", "restriction", "portability", "objection",
          "automated_decision", "withdraw_consent", "complaint")
CHROMIUM = "/usr/bin/chromium"
NOTICE_A = hashlib.sha256(b"banner text A").hexdigest()
NOTICE_B = hashlib.sha256(b"banner text B").hexdigest()
NASTY_IDS = ('DSR,"quoted",comma', "DSR\nnew line\r\n", "<script>alert('x')</script>&amp;")
BATCH = 1000
DAY = datetime.timedelta(days=1)


# --- the independent model -----------------------------------------------------------------------

def add_months(d, n):
    """Regulation 1182/71 reading: same day number n months on, or that month's last day."""
    y, m = divmod(d.month - 1 + n, 12)
    y, m = d.year + y, m + 1
    last = (datetime.date(y + m // 12, m % 12 + 1, 1) - DAY).day
    return datetime.date(y, m, min(d.day, last))


def due_dates(jurisdiction, received):
    """(original due, extended due) of a request received on that day."""
    if jurisdiction == "ccpa":
        return received + 45 * DAY, received + 90 * DAY
    return add_months(received, 1), add_months(received, 3)


class Request:
    def __init__(self, request_id, right, jurisdiction):
        self.id = request_id
        self.right = right
        self.jurisdiction = jurisdiction or "gdpr"
        self.sent_jurisdiction = jurisdiction
        self.stages = []  # (stage, datetime)

    @property
    def received(self):
        return self.stages[0][1].date()

    @property
    def extended(self):
        return any(s == "extended" for s, _ in self.stages)

    @property
    def due(self):
        return due_dates(self.jurisdiction, self.received)[0]

    @property
    def extended_due(self):
        return due_dates(self.jurisdiction, self.received)[1] if self.extended else None

    @property
    def due_in_force(self):
        return self.extended_due or self.due

    @property
    def closed(self):
        stage, at = self.stages[-1]
        return at.date() if stage in ("fulfilled", "denied", "withdrawn") else None

    def overdue(self, today):
        return self.closed is None and today > self.due_in_force

    def row(self, today):
        """The register row as the JSON report has it."""
        closed = self.closed
        return {
            "request_id": self.id, "right": self.right, "jurisdiction": self.jurisdiction,
            "state": self.stages[-1][0], "received": str(self.received), "due": str(self.due),
            "extended_due": str(self.extended_due) if self.extended_due else None,
            "closed": str(closed) if closed else None,
            "outcome": self.stages[-1][0] if closed else None,
            "on_time": (closed <= self.due_in_force) if closed else None,
            "days_to_close": (closed - self.received).days if closed else None,
            "overdue": self.overdue(today),
        }


def rate(num, den):
    return num / den if den else None


def stats(requests, today):
    closed = [r for r in requests if r.closed]
    on_time = sum(1 for r in closed if r.closed <= r.due_in_force)
    return {
        "count": len(requests),
        "open": len(requests) - len(closed),
        "overdue": sum(1 for r in requests if r.overdue(today)),
        "closed": len(closed),
        "on_time": on_time,
        "late": len(closed) - on_time,
        "on_time_rate": rate(on_time, len(closed)),
        "median_days_to_close": statistics.median([(r.closed - r.received).days for r in closed])
        if closed else None,
    }


def expected_register(history, today, frm, to, status="all", due_within=None):
    reqs = [r for r in history.requests.values() if frm <= r.received <= to]
    if status != "all":
        reqs = [r for r in reqs if r.closed is None]
    if status == "overdue":
        reqs = [r for r in reqs if r.overdue(today)]
    if due_within is not None:
        reqs = [r for r in reqs if r.closed is None and r.due_in_force <= today + due_within * DAY]
    reqs.sort(key=lambda r: (r.received, r.id.encode()))
    rights = sorted({r.right for r in reqs})
    summary = {"rights": [dict(right=k, **stats([r for r in reqs if r.right == k], today))
                          for k in rights],
               "total": stats(reqs, today)}
    return summary, [r.row(today) for r in reqs]


def canonical_purposes(action, purposes):
    """The purposes a consent event is stored with (docs/api.md, canonical form)."""
    if action == "accept_all":
        return {p: True for p in PURPOSES}
    if action == "reject_all" or (action == "withdraw" and not purposes):
        return {p: p == "essential" for p in PURPOSES}
    out = dict(purposes or {})
    out["essential"] = True
    return out


def bucket_of(day, by):
    return day.replace(day=1) if by == "month" else day


def label(start, by):
    return start.strftime("%Y-%m") if by == "month" else str(start)


def buckets(frm, to, by):
    out, b = [], bucket_of(frm, by)
    while b <= to:
        out.append(b)
        b = add_months(b, 1) if by == "month" else b + DAY
    return out


def expected_consent(history, frm, to, by):
    """(summary, {(period, policy, banner, sha): row}) as the JSON report has them."""
    actions, purposes, series, rows = {}, {}, {}, {}
    for day, key, action, decided in history.decisions:
        if not frm <= day <= to:
            continue
        b = bucket_of(day, by)
        actions[action] = actions.get(action, 0) + 1
        row = rows.setdefault((label(b, by),) + key, {"actions": {}, "purposes": {}})
        row["actions"][action] = row["actions"].get(action, 0) + 1
        s = series.setdefault(b, {"events": 0, "purposes": {}})
        s["events"] += 1
        for p, g in decided.items():
            for d in (purposes, row["purposes"], s["purposes"]):
                dg = d.setdefault(p, [0, 0])
                dg[0] += 1
                dg[1] += int(g)
    columns = list(MAIN_ACTIONS) + sorted(a for a in actions if a not in MAIN_ACTIONS)
    names = sorted(purposes)

    def purpose_figures(d):
        return {p: {"decisions": d.get(p, [0, 0])[0], "granted": d.get(p, [0, 0])[1],
                    "opt_in_rate": rate(d.get(p, [0, 0])[1], d.get(p, [0, 0])[0])} for p in names}

    summary = {
        "events": sum(actions.values()),
        "actions": {a: actions.get(a, 0) for a in columns},
        "purposes": purpose_figures(purposes),
        "series": [{"period": label(b, by), "events": series.get(b, {}).get("events", 0),
                    "opt_in_rate": {p: rate(series.get(b, {}).get("purposes", {}).get(p, [0, 0])[1],
                                            series.get(b, {}).get("purposes", {}).get(p, [0, 0])[0])
                                    for p in names}}
                   for b in buckets(frm, to, by)],
    }
    out = {}
    for key, row in rows.items():
        out[key] = {"events": sum(row["actions"].values()),
                    "actions": {a: row["actions"].get(a, 0) for a in columns},
                    "purposes": purpose_figures(row["purposes"])}
    return summary, out


# --- the history, sent through the daemon -------------------------------------------------------

class History:
    """Consent decisions and data-rights requests with their stages, at times in the past; the
    events that carry them, in waves that keep each request's stages in order."""

    def __init__(self, seed, subjects, request_share=0.4):
        self.rng = random.Random(seed)
        self.now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        self.latest = self.now - datetime.timedelta(seconds=60)
        self.consent_events = []
        self.decisions = []  # (day, (policy, banner, sha), action, {purpose: granted})
        self.requests = {}
        self.waves = [[], [], [], []]
        for i in range(subjects):
            self.add_subject(i)
            if self.rng.random() < request_share:
                self.add_request("DSR-%05d" % i, "s%d@example.com" % i)
        for i, rid in enumerate(NASTY_IDS):
            self.add_request(rid, "nasty%d@example.com" % i, received_ago=3, close=True)

    def past(self, days_ago_max):
        return self.now - datetime.timedelta(seconds=self.rng.randint(60, days_ago_max * 86400))

    def add_subject(self, i):
        rng = self.rng
        for _ in range(1 + i % 3):
            at = self.past(75)
            action = rng.choices(MAIN_ACTIONS + ("dismiss",), weights=(30, 20, 35, 10, 5))[0]
            purposes = None
            if action == "customize":
                purposes = {p: rng.random() < 0.5 for p in PURPOSES if p != "essential"}
            notice = {"policy_version": rng.choice(("2026-01", "2026-06"))}
            banner = rng.choice(("b1", "b2", ""))
            sha = rng.choice((NOTICE_A, NOTICE_B, ""))
            if banner:
                notice["banner_version"] = banner
            if sha:
                notice["content_sha256"] = sha
            consent = {"action": action, "notice": notice, "surface": "banner"}
            if purposes is not None:
                consent["purposes"] = purposes
            self.consent_events.append({"event_id": new_id(), "occurred_at": rfc3339(at),
                                        "subject": {"email": "s%d@example.com" % i},
                                        "consent": consent})
            self.decisions.append((at.date(), (notice["policy_version"], banner, sha), action,
                                   canonical_purposes(action, purposes)))

    def after(self, t, days):
        """A time `days` days after t (plus a little), not after self.latest."""
        cand = t + datetime.timedelta(days=days, seconds=self.rng.randint(1, 600))
        return min(cand, t + (self.latest - t) / 2) if cand > self.latest else cand

    def add_request(self, rid, email, received_ago=None, close=None):
        rng = self.rng
        juris = rng.choice((None, "gdpr", "ccpa"))
        req = Request(rid, rng.choice(RIGHTS), juris)
        ago = received_ago if received_ago is not None else rng.randint(0, 120)
        t = self.now - datetime.timedelta(days=ago, seconds=rng.randint(120, 40000))
        req.stages.append(("received", t))
        if rng.random() < 0.4:
            t = self.after(t, rng.randint(0, 4))
            req.stages.append(("identity_verified", t))
        if rng.random() < 0.25:
            te = self.after(t, rng.randint(0, 10))
            if te.date() <= req.due:  # the extension is lawful only within the original period
                t = te
                req.stages.append(("extended", t))
        if close if close is not None else rng.random() < 0.65:
            span = (req.due_in_force - req.received).days
            t = self.after(t, rng.randint(0, span + 15))
            req.stages.append((rng.choices(("fulfilled", "denied", "withdrawn"), (7, 2, 1))[0], t))
        self.requests[rid] = req
        for wave, (stage, at) in enumerate(req.stages):
            body = {"request_id": rid, "right": req.right, "stage": stage, "channel": "web"}
            if juris:
                body["jurisdiction"] = juris
            if stage in ("extended", "denied"):
                body["reason"] = "complex request" if stage == "extended" else "identity unproven"
            self.waves[wave].append({"event_id": new_id(), "occurred_at": rfc3339(at),
                                     "subject": {"email": email}, "data_rights": body})

    def batches(self):
        """Consent events, then each wave of data-rights events, BATCH at a time."""
        for events in [self.consent_events] + self.waves:
            for i in range(0, len(events), BATCH):
                yield events[i:i + BATCH]


def send(d, token, batches):
    n = 0
    for batch in batches:
        r = d.post(batch, token, timeout=120)
        assert r.status == 201, r
        n += len(batch)
    return n


# --- talking to the daemon and to consentctl ---------------------------------------------------

def get(d, token, path, **params):
    query = urllib.parse.urlencode(params)
    headers = {"Authorization": "Bearer " + token} if token else {}
    return d.request("GET", path + ("?" + query if query else ""), headers=headers, timeout=120)


def get_json(d, token, kind, **params):
    r = get(d, token, "/v1/reports/" + kind, **params)
    assert r.status == 200, r
    assert r.header("Content-Type") == "application/json", r.headers
    assert r.header("Transfer-Encoding") == "chunked", r.headers
    return r.json


def assert_error(r, status, code, field):
    assert r.status == status, r
    err = r.json["error"]
    assert (err["code"], err["field"]) == (code, field), r
    assert err["message"], r


def close_enough(got, want):
    if want is None or got is None:
        return got is want
    return abs(got - want) < 6e-5


def check_stats(got, want):
    for k, v in want.items():
        if k in ("on_time_rate", "median_days_to_close"):
            assert close_enough(got[k], v), (k, got, want)
        else:
            assert got[k] == v, (k, got, want)


def check_register(doc, want_summary, want_rows):
    assert doc["row_count"] == len(want_rows)
    assert doc["rows"] == want_rows
    assert [s["right"] for s in doc["summary"]["rights"]] == \
        [s["right"] for s in want_summary["rights"]]
    for got, want in zip(doc["summary"]["rights"], want_summary["rights"]):
        check_stats(got, want)
    check_stats(doc["summary"]["total"], want_summary["total"])
    assert "right" not in doc["summary"]["total"]


def check_consent(doc, want_summary, want_rows):
    s = doc["summary"]
    assert s["events"] == want_summary["events"]
    assert s["actions"] == want_summary["actions"]
    assert list(s["actions"]) == list(want_summary["actions"])  # column order
    assert sorted(s["purposes"]) == sorted(want_summary["purposes"])
    for p, want in want_summary["purposes"].items():
        got = s["purposes"][p]
        assert (got["decisions"], got["granted"]) == (want["decisions"], want["granted"]), p
        assert close_enough(got["opt_in_rate"], want["opt_in_rate"]), p
    assert [b["period"] for b in s["series"]] == [b["period"] for b in want_summary["series"]]
    for got, want in zip(s["series"], want_summary["series"]):
        assert got["events"] == want["events"], got
        for p, v in want["opt_in_rate"].items():
            assert close_enough(got["opt_in_rate"][p], v), (got, want)
    got_rows = {(r["period"], r["policy_version"], r["banner_version"], r["notice_sha256"]): r
                for r in doc["rows"]}
    assert len(got_rows) == len(doc["rows"]) == doc["row_count"]
    assert sorted(got_rows) == sorted(want_rows)
    periods = [r["period"] for r in doc["rows"]]
    assert periods == sorted(periods)
    for key, want in want_rows.items():
        got = got_rows[key]
        assert (got["events"], got["actions"]) == (want["events"], want["actions"]), key
        for p, w in want["purposes"].items():
            g = got["purposes"][p]
            assert (g["decisions"], g["granted"]) == (w["decisions"], w["granted"]), (key, p)
            assert close_enough(g["opt_in_rate"], w["opt_in_rate"]), (key, p)


def report_ctl(env, *args):
    p = env.ctl.run("report", *args, timeout=300)
    assert p.returncode == 0, (p.returncode, p.err)
    assert p.err == "", "progress only goes to a terminal: %r" % p.err
    return p


# --- HTML through headless Chromium --------------------------------------------------------------

class Dom(html.parser.HTMLParser):
    """The start tags of a rendered DOM in document order: (tag, attrs, ids of the ancestors)."""

    VOID = ("meta", "br", "circle", "rect", "line", "path", "i", "hr", "img", "input", "link")

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.elements = []
        self.stack = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elements.append((tag, a, [x.get("id") for x in self.stack if x.get("id")]))
        if tag not in self.VOID:
            self.stack.append(a)

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), [x.get("id") for x in self.stack if x.get("id")]))

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def find(self, tag, cls=None, within=None, **attrs):
        out = []
        for t, a, ids in self.elements:
            if t != tag or (cls and cls not in (a.get("class") or "").split()):
                continue
            if within and within not in ids:
                continue
            if all(a.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                out.append(a)
        return out


def chromium(tmp_path, name, body):
    """Renders body in headless Chromium; returns the serialized DOM and writes a PDF."""
    path = os.path.join(str(tmp_path), name)
    with open(path, "wb") as f:
        f.write(body)
    common = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
              "--user-data-dir=" + os.path.join(str(tmp_path), "chromium-profile")]
    dom = subprocess.run(common + ["--dump-dom", "file://" + path], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=180)
    assert dom.returncode == 0, dom.stderr.decode(errors="replace")
    pdf = path + ".pdf"
    p = subprocess.run(common + ["--no-pdf-header-footer", "--print-to-pdf=" + pdf,
                                 "file://" + path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=180)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    with open(pdf, "rb") as f:
        head = f.read(5)
    assert head == b"%PDF-" and os.path.getsize(pdf) > 2000
    return dom.stdout.decode()


def table_rows(dom_text, table_id):
    """[[cell text, ...], ...] of a table's body and footer rows, from the rendered DOM."""
    m = re.search(r'<table id="%s">(.*?)</table>' % re.escape(table_id), dom_text, re.S)
    assert m, table_id
    body = re.sub(r"<thead>.*?</thead>", "", m.group(1), flags=re.S)
    rows = []
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, re.S)
        rows.append([html.unescape(re.sub(r"<[^>]+>", "", c)) for c in cells])
    return rows


def pct(num, den):
    return "\u2014" if not den else "%.1f%%" % (100.0 * num / den)


# --- the tests ----------------------------------------------------------------------------------

def test_reports_match_history(env, consentd, tmp_path):
    """3000 subjects' consent decisions and about 1200 data-rights requests, sent as events;
    every report figure equals the one computed here from the same events."""
    d = consentd()
    h = History(seed=5, subjects=3000)
    send(d, env.token, h.batches())
    assert env.sql("SELECT count(*) FROM rights_request")[0][0] == len(h.requests)

    doc = get_json(d, env.read_token, "data-rights")
    today = datetime.date.fromisoformat(doc["as_of"])
    assert today in (h.now.date(), h.now.date() + DAY)  # the database's UTC date
    assert (doc["from"], doc["to"]) == (str(today - 29 * DAY), str(today))
    assert (doc["status"], doc["due_within"]) == ("all", None)
    check_register(doc, *expected_register(h, today, today - 29 * DAY, today))

    frm = today - 130 * DAY
    for status in ("all", "open", "overdue"):
        doc = get_json(d, env.read_token, "data-rights", status=status, **{"from": str(frm)})
        want = expected_register(h, today, frm, today, status)
        assert want[1], status  # the history has some of each
        check_register(doc, *want)
    doc = get_json(d, env.read_token, "data-rights", due_within=7, to=str(today),
                   **{"from": str(frm)})
    assert doc["due_within"] == 7
    check_register(doc, *expected_register(h, today, frm, today, due_within=7))
    doc = get_json(d, env.read_token, "data-rights", to=str(today - 40 * DAY),
                   **{"from": str(today - 70 * DAY)})
    check_register(doc, *expected_register(h, today, today - 70 * DAY, today - 40 * DAY))

    for by, frm in (("day", today - 29 * DAY), ("month", today - 80 * DAY)):
        doc = get_json(d, env.read_token, "consent", by=by, **{"from": str(frm)})
        assert (doc["from"], doc["to"], doc["by"]) == (str(frm), str(today), by)
        summary, rows = expected_consent(h, frm, today, by)
        assert "dismiss" in summary["actions"] and rows
        check_consent(doc, summary, rows)
    doc = get_json(d, env.read_token, "consent")
    check_consent(doc, *expected_consent(h, today - 29 * DAY, today, "day"))

    # NDJSON: the same document as lines (head, rows, row_count).
    for kind, extra in (("data-rights", {"status": "all", "from": str(frm)}),
                        ("consent", {"by": "month", "from": str(today - 80 * DAY)})):
        doc = get_json(d, env.read_token, kind, **extra)
        r = get(d, env.read_token, "/v1/reports/" + kind, format="ndjson", **extra)
        assert r.status == 200 and r.header("Content-Type") == "application/x-ndjson", r
        lines = [json.loads(line) for line in r.body.decode().splitlines()]
        head = dict(doc)
        del head["rows"], head["row_count"]
        assert lines[0] == head and lines[1:-1] == doc["rows"], kind
        assert lines[-1] == {"row_count": doc["row_count"]}

    # consentctl gives the same bytes as the daemon, for every format (same snapshot rules and
    # renderers; the period is explicit so that a date change in between cannot matter).
    period = {"from": str(today - 100 * DAY), "to": str(today)}
    for kind, extra in (("data-rights", {"status": "open"}), ("consent", {"by": "month"})):
        for fmt in ("json", "ndjson", "csv", "html"):
            params = dict(period, format=fmt, **extra)
            r = get(d, env.read_token, "/v1/reports/" + kind, **params)
            assert r.status == 200, r
            args = ["--%s=%s" % (k.replace("_", "-"), v) for k, v in params.items()]
            out = os.path.join(env.dir, "%s.%s" % (kind, fmt))
            report_ctl(env, kind, *args, "-o", out)
            with open(out, "rb") as f:
                assert f.read() == r.body, (kind, fmt)
            assert oct(os.stat(out).st_mode & 0o777) == "0o600"
            assert report_ctl(env, kind, *args).stdout == r.body


def test_csv_is_rfc4180(env, consentd):
    d = consentd()
    h = History(seed=7, subjects=300)
    send(d, env.token, h.batches())
    r = get(d, env.read_token, "/v1/reports/data-rights", format="csv")
    assert r.status == 200, r
    assert r.header("Content-Type") == "text/csv; charset=utf-8; header=present"
    assert r.header("Content-Disposition").startswith('attachment; filename="data-rights-')
    text = r.body.decode()
    # Every record ends with CRLF; the bare LF and CR inside a quoted field stay as they are.
    assert text.endswith("\r\n") and text.count('"DSR\nnew line\r\n"') == 1
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["request_id", "right", "jurisdiction", "state", "received", "due",
                       "extended_due", "closed", "outcome", "on_time", "days_to_close", "overdue"]
    doc = get_json(d, env.read_token, "data-rights")
    assert len(rows) == 1 + doc["row_count"]

    def text_of(v):
        return "" if v is None else ("true" if v is True else "false" if v is False else str(v))
    assert rows[1:] == [[text_of(row[k]) for k in rows[0]] for row in doc["rows"]]
    assert {row[0] for row in rows[1:]} >= set(NASTY_IDS)

    r = get(d, env.read_token, "/v1/reports/consent", format="csv", by="month")
    assert r.status == 200, r
    rows = list(csv.reader(io.StringIO(r.body.decode(), newline="")))
    doc = get_json(d, env.read_token, "consent", by="month")
    actions = list(doc["summary"]["actions"])
    purposes = sorted(doc["summary"]["purposes"])
    assert rows[0] == (["period", "policy_version", "banner_version", "notice_sha256"] + actions +
                       ["events"] + ["%s_%s" % (p, k) for p in purposes
                                     for k in ("decisions", "granted", "opt_in_rate")])
    assert len(rows) == 1 + doc["row_count"]
    for row, want in zip(rows[1:], doc["rows"]):
        assert row[:4] == [want["period"], want["policy_version"], want["banner_version"],
                           want["notice_sha256"]]
        assert [int(x) for x in row[4:5 + len(actions)]] == \
            [want["actions"][a] for a in actions] + [want["events"]]


def test_html_reports_render_in_chromium(env, consentd, tmp_path):
    d = consentd()
    h = History(seed=11, subjects=600)
    send(d, env.token, h.batches())
    doc = get_json(d, env.read_token, "data-rights")
    r = get(d, env.read_token, "/v1/reports/data-rights", format="html")
    assert r.status == 200, r
    assert r.header("Content-Type") == "text/html; charset=utf-8"
    assert "default-src 'none'" in r.header("Content-Security-Policy")
    assert b"<script" not in r.body.replace(b"&lt;script", b"")
    assert not re.search(rb"(src|href)=", r.body)  # self-contained
    dom_text = chromium(tmp_path, "data-rights.html", r.body)
    dom = Dom(dom_text)

    assert dom.find("script") == []
    rights = doc["summary"]["rights"]
    bars = dom.find("rect", "bar", within="chart-requests-by-right")
    assert [(b["data-label"], int(b["data-value"])) for b in bars] == \
        [(s["right"], s["count"]) for s in rights]
    for s in rights:
        segs = {}
        # the segments of this right: the rects that follow its group in document order
        group = [i for i, (t, a, _) in enumerate(dom.elements)
                 if t == "g" and a.get("data-label") == s["right"]]
        assert len(group) == 1
        i = group[0] + 1
        while i < len(dom.elements) and dom.elements[i][0] in ("rect", "title"):
            t, a, _ = dom.elements[i]
            if t == "rect":
                segs[a["class"].split()[1]] = int(a["data-value"])
            i += 1
        want = {"on-time": s["on_time"], "late": s["late"], "overdue": s["overdue"],
                "open": s["open"] - s["overdue"]}
        assert segs == {k: v for k, v in want.items() if v}, s["right"]
    summary = table_rows(dom_text, "summary")
    assert len(summary) == len(rights) + 1
    for cells, s in zip(summary, rights + [dict(doc["summary"]["total"], right="All rights")]):
        median = s["median_days_to_close"]
        assert cells == [s["right"], str(s["count"]), str(s["open"]), str(s["overdue"]),
                         str(s["closed"]), str(s["on_time"]), pct(s["on_time"], s["closed"]),
                         "\u2014" if median is None else "%.1f" % median]
    register = table_rows(dom_text, "register")
    assert len(register) == doc["row_count"]
    assert [c[0] for c in register] == [row["request_id"] for row in doc["rows"]]
    assert sum(1 for c in register if c[-1] == "overdue") == doc["summary"]["total"]["overdue"]
    assert dom.find("p", id="row-count")[0]["data-value"] == str(doc["row_count"])
    assert dom.find("b", id="as-of") and doc["as_of"] in dom_text

    # Consent: a point per day and purpose that had decisions, at the computed rate.
    doc = get_json(d, env.read_token, "consent")
    r = get(d, env.read_token, "/v1/reports/consent", format="html")
    assert r.status == 200, r
    dom_text = chromium(tmp_path, "consent.html", r.body)
    dom = Dom(dom_text)
    assert dom.find("script") == []
    purposes = sorted(doc["summary"]["purposes"])
    assert len(dom.find("path", "series", within="chart-opt-in-over-time")) == len(purposes)
    for p in purposes:
        points = dom.find("circle", "point", within="chart-opt-in-over-time", data_purpose=p)
        want = [(b["period"], b["opt_in_rate"][p]) for b in doc["summary"]["series"]
                if b["opt_in_rate"][p] is not None]
        assert len(points) == len(want) > 0, p
        for a, (period, v) in zip(points, want):
            assert a["data-period"] == period and close_enough(float(a["data-value"]), v)
    bars = dom.find("rect", "bar", within="chart-decisions-by-action")
    assert [(b["data-label"], int(b["data-value"])) for b in bars] == \
        list(doc["summary"]["actions"].items())
    assert len(table_rows(dom_text, "rows")) == doc["row_count"]
    assert len(dom.find("svg")) == 2


def test_parameters_and_authorization(env, consentd):
    ingest_only = env.ctl.token_add("ingest-only", "ingest")  # before the daemon reads tokens
    d = consentd()
    tok = env.read_token
    path = "/v1/reports/data-rights"
    r = get(d, None, path)
    assert r.status == 401 and r.header("WWW-Authenticate") == "Bearer", r
    assert_error(get(d, "nope-" * 5, path), 401, "unauthorized", "Authorization")
    assert_error(get(d, ingest_only, "/v1/reports/consent"), 403, "forbidden", "Authorization")
    assert d.request("POST", path, headers={"Authorization": "Bearer " + tok}).status == 405

    bad = [
        ("data-rights", {"from": "2026-02-30"}, "invalid_value", "from"),
        ("data-rights", {"to": "yesterday"}, "invalid_value", "to"),
        ("data-rights", {"status": "closed"}, "invalid_value", "status"),
        ("data-rights", {"due_within": "-3"}, "invalid_value", "due_within"),
        ("data-rights", {"due_within": "soon"}, "invalid_value", "due_within"),
        ("data-rights", {"format": "xml"}, "invalid_value", "format"),
        ("data-rights", {"by": "month"}, "unknown_parameter", "by"),
        ("data-rights", {"limit": "10"}, "unknown_parameter", "limit"),
        ("data-rights", {"from": "2026-03-02", "to": "2026-03-01"}, "invalid_value", "from"),
        ("consent", {"by": "week"}, "invalid_value", "by"),
        ("consent", {"format": "pdf"}, "invalid_value", "format"),
        ("consent", {"status": "open"}, "unknown_parameter", "status"),
        ("consent", {"from": "2010-01-01", "to": "2026-01-01"}, "invalid_value", "to"),
    ]
    for kind, params, code, field in bad:
        r = get(d, tok, "/v1/reports/" + kind, **params)
        assert_error(r, 422, code, field)
        assert r.header("Content-Type") == "application/json"

    # An empty period is a report with no rows, not an error.
    doc = get_json(d, tok, "data-rights", to="2001-01-31", **{"from": "2001-01-01"})
    assert (doc["row_count"], doc["rows"], doc["summary"]["rights"]) == (0, [], [])
    assert doc["summary"]["total"]["count"] == 0
    doc = get_json(d, tok, "consent", by="month", to="2001-03-31", **{"from": "2001-01-15"})
    assert [b["period"] for b in doc["summary"]["series"]] == ["2001-01", "2001-02", "2001-03"]
    assert doc["summary"]["actions"] == {a: 0 for a in MAIN_ACTIONS}

    # consentctl: the same checks, exit status 2 and a message naming the option.
    for args, needle in ((["data-rights", "--from", "2026-13-01"], "--from"),
                         (["data-rights", "--status", "closed"], "--status"),
                         (["consent", "--status", "open"], "does not take --status"),
                         (["consent", "--from", "2026-03-02", "--to", "2026-03-01"], "--from"),
                         (["weekly"], "usage")):
        p = env.ctl.run("report", *args)
        assert p.returncode == 2 and needle in p.err, (args, p.returncode, p.err)
    out = os.path.join(env.dir, "never.json")
    p = env.ctl.run("report", "consent", "--from", "2000-01-01", "-o", out)
    assert p.returncode == 2 and not os.path.exists(out)
    assert [f for f in os.listdir(env.dir) if f.startswith("never.json")] == []


# --- streaming ------------------------------------------------------------------------------------

def raw_get(port, path, token, rcvbuf=None):
    """A GET on a connection whose receive buffer can be made small; returns (conn, response)
    with only the head read."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.sock = sock
    conn.request("GET", path, headers={"Authorization": "Bearer " + token})
    return conn, conn.getresponse()


def test_large_register_streams(env, consentd):
    """20,000 requests: the HTML register (about 3.6 MB) streams to a slow client at the
    client's pace; at most 4 reports run at once; a client that goes away mid-stream cancels its
    report (its thread and connection end); the reports come out complete."""
    d = consentd()
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    n = 20000
    events = [{"event_id": new_id(),
               "occurred_at": rfc3339(now - datetime.timedelta(minutes=i % 5000)),
               "subject": {"email": "bulk%d@example.com" % (i % 97)},
               "data_rights": {"request_id": "BULK-%06d" % i, "right": RIGHTS[i % len(RIGHTS)],
                               "stage": "received"}} for i in range(n)]
    send(d, env.token, (events[i:i + BATCH] for i in range(0, n, BATCH)))
    path = "/v1/reports/data-rights?format=html&from=2000-01-01"

    # A slow client: the daemon produces only as fast as the client drains. While the client
    # pauses, the report's thread waits with its transaction open: a daemon that buffered the
    # report instead would finish reading it and disconnect within the pause.
    conn, resp = raw_get(d.port, path, env.read_token, rcvbuf=8192)
    assert resp.status == 200 and resp.getheader("Transfer-Encoding") == "chunked"
    first = resp.read(256 * 1024)
    time.sleep(1.0)
    assert env.sql("SELECT state FROM pg_stat_activity WHERE application_name = "
                   "'consentd-report'") == [("idle in transaction",)]
    body = first + resp.read()
    conn.close()
    assert len(body) > 3 << 20, len(body)
    assert body.endswith(b"</html>\n") and body.count(b'<tr><td>BULK-') == n
    assert b'data-value="%d">%d requests.' % (n, n) in body
    assert env.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                   "'consentd-report'") == [(0,)]

    # At most 4 at once: hold 4 streams with clients that do not read; the fifth gets 503.
    held = [raw_get(d.port, path, env.read_token, rcvbuf=4096) for _ in range(4)]
    assert [resp.status for _, resp in held] == [200] * 4
    r = get(d, env.read_token, "/v1/reports/consent")
    assert_error(r, 503, "too_many_reports", "")
    assert r.header("Retry-After") == "1"
    # Reports do not occupy the reader thread: proofs and checkpoints are still answered.
    r = get(d, env.read_token, "/v1/checkpoints/latest")
    assert r.status == 404 and r.json["error"]["code"] == "not_found", r
    for conn, resp in held:  # gone mid-stream
        resp.read(1000)
        conn.sock.close()
        conn.close()
    deadline = time.monotonic() + 30
    while True:  # bounded poll until the cancelled streams are gone
        r = get(d, env.read_token, "/v1/reports/consent")
        if r.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert r.status == 200, r
    log = d.log_text()
    assert log.count("report cancelled: the client went away") == 4, log[-3000:]

    # Complete reports afterwards, in every format, with every request.
    doc = get_json(d, env.read_token, "data-rights", **{"from": "2000-01-01"})
    assert doc["row_count"] == n and doc["summary"]["total"]["open"] == n
    assert [s["count"] for s in doc["summary"]["rights"]] == \
        [sum(1 for i in range(n) if RIGHTS[i % len(RIGHTS)] == k) for k in sorted(RIGHTS)]
    r = get(d, env.read_token, "/v1/reports/data-rights", format="csv", **{"from": "2000-01-01"})
    assert r.status == 200 and r.body.count(b"\r\n") == n + 1
    p = report_ctl(env, "data-rights", "--from", "2000-01-01", "--format", "csv")
    assert p.stdout == r.body

    # The database connection lost mid-report: the reply is cut without its last chunk, so
    # the client sees an incomplete transfer rather than a short report.
    conn, resp = raw_get(d.port, path, env.read_token, rcvbuf=4096)
    assert resp.status == 200
    resp.read(64 * 1024)
    assert env.sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                   "WHERE application_name = 'consentd-report'") == [(1,)]
    with pytest.raises(http.client.IncompleteRead):
        resp.read()
    conn.close()
    assert "report failed after" in d.log_text()

    # SIGTERM drains: a report in progress is finished before the daemon exits (with 0).
    conn, resp = raw_get(d.port, path, env.read_token, rcvbuf=4096)
    assert resp.status == 200
    first = resp.read(64 * 1024)
    d.proc.send_signal(signal.SIGTERM)
    body = first + resp.read()
    conn.close()
    assert body.endswith(b"</html>\n") and body.count(b'<tr><td>BULK-') == n
    d.returncode = d.proc.wait(20)
    d.exit_reported = True  # stopped here, on purpose
    assert d.returncode == 0


def test_database_unreachable(env, consentd, pg_cluster):
    """Before the first byte, a report that cannot reach the database is a JSON 503."""
    d = consentd()
    with d.errors_expected():
        pg_cluster.stop()
        try:
            r = get(d, env.read_token, "/v1/reports/data-rights")
        finally:
            pg_cluster.start()
    assert_error(r, 503, "database_unavailable", "")
    assert r.header("Retry-After") == "1"
    # and once it is back, reports work again (the writer reconnects in its own time)
    deadline = time.monotonic() + 30
    while True:
        r = get(d, env.read_token, "/v1/reports/consent")
        if r.status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert r.status == 200, r
