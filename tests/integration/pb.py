"""A tiny hand-written protobuf wire codec for the Kafka tests (no protoc): encodes a
consentd.v1.Event from the JSON shape of the HTTP API (events.consent_event() and
data_rights_event() dicts) and reads seq, source and event_id back out of a stored LedgerEntry.
Field numbers: proto/consentd.proto."""

import datetime

ACTIONS = ("", "accept_all", "reject_all", "customize", "withdraw", "dismiss", "renew", "expire", "gpc")
SURFACES = ("", "banner", "preferences", "account_settings", "api", "support")
RIGHTS = ("", "access", "rectification", "erasure", "restriction", "portability", "objection",
          "automated_decision", "withdraw_consent", "complaint")
STAGES = ("", "received", "identity_verified", "extended", "fulfilled", "denied", "withdrawn")
CHANNELS = ("", "email", "web", "support", "api")


def varint(n):
    n &= (1 << 64) - 1  # negative int64: two's complement, ten bytes
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def f_varint(num, value):
    """A varint field; proto3 leaves zero values out."""
    return varint(num << 3) + varint(int(value)) if value else b""


def f_bytes(num, data):
    """A length-delimited field (string, bytes, sub-message); empty is left out."""
    if isinstance(data, str):
        data = data.encode()
    return varint((num << 3) | 2) + varint(len(data)) + data if data else b""


def micros(rfc3339):
    dt = datetime.datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%SZ")
    return int(dt.replace(tzinfo=datetime.timezone.utc).timestamp()) * 1000000


def _decisions(num, items):
    return b"".join(f_bytes(num, f_bytes(1, name) + f_varint(2, granted))
                    for name, granted in items.items())


def encode_event(ev):
    """consentd.v1.Event bytes of an event dict (JSON shape); keys it does not know are left
    out, so a test can make an invalid event by leaving out or breaking what it knows."""
    s = ev.get("subject") or {}
    subject = f_bytes(1, s.get("account_id", "")) + f_bytes(2, s.get("email", "")) + \
        f_bytes(3, s.get("device_id", ""))
    out = f_bytes(1, ev.get("event_id", "")) + f_varint(2, micros(ev["occurred_at"]) if
                                                        ev.get("occurred_at") else 0)
    out += f_bytes(3, ev.get("tenant", "")) + f_bytes(4, subject)
    if "consent" in ev:
        c = ev["consent"]
        n = c.get("notice", {})
        notice = f_bytes(1, n.get("policy_version", "")) + f_bytes(2, n.get("banner_version", "")) + \
            f_bytes(3, n.get("language", ""))
        out += f_bytes(10, f_varint(1, ACTIONS.index(c["action"])) +
                       _decisions(2, c.get("purposes", {})) + _decisions(3, c.get("vendors", {})) +
                       f_bytes(4, notice) + f_varint(5, SURFACES.index(c.get("surface", ""))) +
                       f_varint(6, c.get("gpc", False)))
    if "data_rights" in ev:
        d = ev["data_rights"]
        out += f_bytes(11, f_bytes(1, d.get("request_id", "")) + f_varint(2, RIGHTS.index(d["right"])) +
                       f_varint(3, STAGES.index(d["stage"])) +
                       f_varint(4, CHANNELS.index(d.get("channel", ""))) +
                       f_bytes(5, d.get("reason", "")) + f_bytes(6, d.get("actor", "")))
    return out


def fields(data):
    """Yields (field number, value) of one message: int for varint/fixed, memoryview for
    length-delimited. Raises ValueError on malformed input."""
    data = memoryview(bytes(data)) if not isinstance(data, memoryview) else data
    i, end = 0, len(data)

    def read_varint():
        nonlocal i
        shift = result = 0
        while True:
            if i >= end or shift > 63:
                raise ValueError("bad varint")
            b = data[i]
            i += 1
            result |= (b & 0x7F) << shift
            if b < 0x80:
                return result
            shift += 7

    while i < end:
        key = read_varint()
        wt = key & 7
        if wt == 0:
            val = read_varint()
        elif wt == 2:
            n = read_varint()
            if i + n > end:
                raise ValueError("truncated field %d" % (key >> 3))
            val, i = data[i:i + n], i + n
        elif wt in (1, 5):
            n = 8 if wt == 1 else 4
            val, i = int.from_bytes(data[i:i + n], "little"), i + n
        else:
            raise ValueError("wire type %d" % wt)
        yield key >> 3, val


def _int64(n):
    return n - (1 << 64) if n >= 1 << 63 else n


def decode_entry(entry):
    """(seq, event_id, source) of a stored LedgerEntry; source is a dict with kind, peer,
    request_id, topic, partition, offset."""
    seq, event_id = 0, ""
    src = {"kind": "", "peer": "", "request_id": "", "topic": "", "partition": 0, "offset": 0}
    for num, val in fields(entry):
        if num == 1:
            seq = val
        elif num == 4:
            for snum, sval in fields(val):
                if snum in (1, 2, 3, 4):
                    src[("kind", "peer", "request_id", "topic")[snum - 1]] = bytes(sval).decode()
                elif snum == 5:
                    src["partition"] = _int64(sval)
                elif snum == 6:
                    src["offset"] = _int64(sval)
        elif num == 5:
            for enum_, evalue in fields(val):
                if enum_ == 1:
                    event_id = bytes(evalue).decode()
    return seq, event_id, src
