"""Test events (JSON) and a minimal protobuf wire codec, enough to build a consentd.v1.EventBatch
and to read the LedgerEntry bytes stored in audit_log.entry (see proto/consentd.proto)."""

import datetime
import hashlib
import uuid

PURPOSES = ("essential", "analytics", "advertising", "functional")


def rfc3339(dt):
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ago(seconds):
    """RFC 3339 UTC time `seconds` before now (negative: in the future)."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    return rfc3339(now - datetime.timedelta(seconds=seconds))


def to_micros(text):
    dt = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    return int(dt.timestamp()) * 1000000


def new_id():
    return str(uuid.uuid4())


def consent_event(event_id=None, action="customize", purposes=None, email="alice@example.com",
                  account_id="u_123", occurred_at=None, policy_version="2026-11-01", surface="banner"):
    if purposes is None:
        purposes = {"essential": True, "analytics": False, "advertising": False, "functional": True}
    subject = {}
    if account_id is not None:
        subject["account_id"] = account_id
    if email is not None:
        subject["email"] = email
    return {
        "event_id": event_id or new_id(),
        "occurred_at": occurred_at or ago(3600),
        "subject": subject,
        "consent": {
            "action": action,
            "purposes": dict(purposes),
            "notice": {"policy_version": policy_version},
            "surface": surface,
        },
    }


def data_rights_event(event_id=None, right="erasure", stage="received", reason=None,
                      request_id=None, channel="email", email="alice@example.com",
                      occurred_at=None, jurisdiction=None):
    """A data-rights event; without request_id a new request (the register refuses a second
    "received" for one request_id)."""
    body = {"request_id": request_id or "dsr-" + new_id(), "right": right, "stage": stage, "channel": channel}
    if reason is not None:
        body["reason"] = reason
    if jurisdiction is not None:
        body["jurisdiction"] = jurisdiction
    return {
        "event_id": event_id or new_id(),
        "occurred_at": occurred_at or ago(3600),
        "subject": {"email": email},
        "data_rights": body,
    }


def leaf_hash(entry):
    return hashlib.sha256(b"\x00" + bytes(entry)).digest()


# --- protobuf wire format ---------------------------------------------------------------------

def _varint(n):
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field_varint(num, value):
    return _varint(num << 3) + _varint(value) if value else b""


def _field_bytes(num, data):
    if isinstance(data, str):
        data = data.encode()
    return _varint((num << 3) | 2) + _varint(len(data)) + data if data else b""


_ACTIONS = ["", "accept_all", "reject_all", "customize", "withdraw", "dismiss", "renew", "expire", "gpc"]
_SURFACES = ["", "banner", "preferences", "account_settings", "api", "support"]


def encode_consent_event(ev):
    """consentd.v1.Event bytes for a consent_event() dict (the fields that builder sets)."""
    c = ev["consent"]
    subject = _field_bytes(1, ev["subject"].get("account_id", "")) + \
        _field_bytes(2, ev["subject"].get("email", ""))
    purposes = b"".join(_field_bytes(2, _field_bytes(1, name) + _field_varint(2, int(granted)))
                        for name, granted in c["purposes"].items())
    notice = _field_bytes(1, c["notice"]["policy_version"])
    consent = _field_varint(1, _ACTIONS.index(c["action"])) + purposes + \
        _field_bytes(4, notice) + _field_varint(5, _SURFACES.index(c["surface"]))
    return (_field_bytes(1, ev["event_id"]) + _field_varint(2, to_micros(ev["occurred_at"])) +
            _field_bytes(4, subject) + _field_bytes(10, consent))


def encode_event_batch(events):
    return b"".join(_field_bytes(1, encode_consent_event(ev)) for ev in events)


def parse_fields(data):
    """Decodes one message into {field number: [values]}: ints for varint and fixed fields,
    bytes for length-delimited ones. Raises ValueError on malformed input."""
    data = bytes(data)
    fields = {}
    i = 0

    def varint():
        nonlocal i
        shift = result = 0
        while True:
            if i >= len(data):
                raise ValueError("truncated varint")
            b = data[i]
            i += 1
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 63:
                raise ValueError("varint too long")

    while i < len(data):
        key = varint()
        num, wt = key >> 3, key & 7
        if wt == 0:
            val = varint()
        elif wt == 1:
            val = int.from_bytes(data[i:i + 8], "little")
            i += 8
        elif wt == 2:
            n = varint()
            if i + n > len(data):
                raise ValueError("truncated field %d" % num)
            val = data[i:i + n]
            i += n
        elif wt == 5:
            val = int.from_bytes(data[i:i + 4], "little")
            i += 4
        else:
            raise ValueError("wire type %d" % wt)
        fields.setdefault(num, []).append(val)
    return fields


def _one(fields, num, default):
    vals = fields.get(num)
    return vals[-1] if vals else default


def _signed(n):
    return n - (1 << 64) if n >= 1 << 63 else n


def decode_ledger_entry(entry):
    """The parts of a stored LedgerEntry the tests look at, as a dict."""
    f = parse_fields(entry)
    src = parse_fields(_one(f, 4, b""))
    ev = parse_fields(_one(f, 5, b""))
    subj = parse_fields(_one(ev, 4, b""))
    pseudonyms = []
    for p in subj.get(4, []):
        pf = parse_fields(p)
        pseudonyms.append({"kind": _one(pf, 1, 0), "key_version": _one(pf, 2, 0),
                           "hmac": _one(pf, 3, b"")})
    return {
        "seq": _one(f, 1, 0),
        "prev_hash": _one(f, 2, b""),
        "received_at": _signed(_one(f, 3, 0)),
        "source": {"kind": _one(src, 1, b"").decode(), "peer": _one(src, 2, b"").decode(),
                   "request_id": _one(src, 3, b"").decode()},
        "event": {
            "event_id": _one(ev, 1, b"").decode(),
            "occurred_at": _signed(_one(ev, 2, 0)),
            "subject": {"account_id": _one(subj, 1, b"").decode(),
                        "email": _one(subj, 2, b"").decode(),
                        "device_id": _one(subj, 3, b"").decode(),
                        "pseudonyms": pseudonyms},
            "has_consent": 10 in ev,
            "has_data_rights": 11 in ev,
        },
    }


SUBJECT_ID_KIND_ACCOUNT_ID = 1
SUBJECT_ID_KIND_EMAIL = 2
