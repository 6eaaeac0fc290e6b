"""The project's own POP1 (RFC 918) and POP2 (RFC 937) clients for the
end-to-end tests: no packaged client speaks either protocol any more.

Both are thin: they send what a 1985 client would, and hand back exactly
what the server sent, so the tests can compare octets.
"""
import re
import time

from harness import Server

GREETING_RE = re.compile(r"^\+ POP2 test\.example( .*)?$")


class Server109(Server):
    """Server, reading the listener ports line by line from the log."""

    def start(self):
        super().start()
        ports = dict(re.findall(rb"listening (pop3|pop2) \S*:(\d+)\n", self.log))
        self.pop3_port = int(ports[b"pop3"])
        self.pop2_port = int(ports[b"pop2"])
        return self

    def port109(self):
        """A raw connection to port 109, its greeting already checked."""
        c = self.connect(self.pop2_port)
        g = c.line()
        if not GREETING_RE.match(g):
            raise AssertionError("bad greeting %r" % g)
        return c


def number(reply, indicator):
    """The number of a "#nnn ..." or "=ccc ..." reply."""
    m = re.match(re.escape(indicator) + r"(\d+)( .*)?$", reply)
    if not m:
        raise AssertionError("expected %s<number>, got %r" % (indicator, reply))
    return int(m.group(1))


def pop2_helo(s, user="alice", password="wonderland"):
    """Logs in over POP2; returns (connection, message count)."""
    c = s.port109()
    return c, number(c.cmd("HELO %s %s" % (user, password)), "#")


def pop2_fetch(c, n=None):
    """READ [n], then RETR if the length is not 0; returns the data
    (None for =0).  Leaves the session in NEXT (or ITEM for =0)."""
    length = number(c.cmd("READ" if n is None else "READ %d" % n), "=")
    if length == 0:
        return None
    c.send("RETR\r\n")
    return c.exact(length)


def pop1_login(s, user="alice", password="wonderland"):
    c = s.port109()
    assert c.cmd("USER " + user) == "+OK"
    r = c.cmd("PASS " + password)
    assert r == "+OK", r
    return c


def pop1_transfer(c, verb, mailbox):
    """RETR/RDEL mailbox, RCEV: returns the mailbox data received."""
    count = number(c.cmd("%s %s" % (verb, mailbox)), "#")
    c.send("RCEV\r\n")
    return c.exact(count)


def mboxrd_quote(line):
    return b">" + line if re.match(rb">*From ", line) else line


def pop1_data(envelopes, wire_messages):
    """The POP1 mailbox data (RFC/rfc918.md) for messages already in wire
    form: From line, mboxrd-quoted text, blank line, all with CRLF."""
    out = []
    for env, w in zip(envelopes, wire_messages):
        out.append(env + b"\r\n")
        out += [mboxrd_quote(line) + b"\r\n" for line in w.split(b"\r\n")[:-1]]
        out.append(b"\r\n")
    return b"".join(out)



def pop1_split(data):
    """What a 1984 client does with the data: split at "From " lines, drop
    each message's closing blank line, undo the quoting.  Returns
    [(envelope, wire form)]."""
    msgs = []
    for line in data.split(b"\r\n")[:-1]:
        if line.startswith(b"From "):
            msgs.append([line, []])
        else:
            msgs[-1][1].append(re.sub(rb"^>(>*From )", rb"\1", line))
    out = []
    for env, lines in msgs:
        assert lines and lines[-1] == b"", "message without its blank line"
        out.append((env, b"".join(l + b"\r\n" for l in lines[:-1])))
    return out


def wait_released(s, user="alice", password="wonderland", timeout=5):
    """Waits until a dropped session's process has let go of the maildrop
    (its lock dies with it); returns a fresh POP2 (connection, count)."""
    deadline = time.time() + timeout
    while True:
        c = s.port109()
        r = c.cmd("HELO %s %s" % (user, password))
        if r.startswith("#"):
            return c, number(r, "#")
        c.close()
        if time.time() > deadline:
            raise AssertionError("maildrop still held: %r" % r)
        time.sleep(0.1)


def sized_message(size, tag):
    """A message (LF-stored) whose wire form is exactly SIZE octets."""
    head = b"From: sender@example.org\nSubject: %s\n\n" % tag
    total = len(head.replace(b"\n", b"\r\n"))
    body = b""
    left = size - total
    if left < 0:
        raise ValueError("%d is too small for a message" % size)
    while left > 0:
        n = min(70, left - 2)
        if left - (n + 2) == 1:     # one octet cannot be a line
            n -= 1
        body += b"x" * n + b"\n"
        left -= n + 2
    return head + body
