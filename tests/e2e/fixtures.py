"""Shared fixtures for the POP3 end-to-end tests: tricky messages, stored
as mbox or Maildir, and small helpers for poplib and the real clients.

Every fixture is a dict name -> bytes of the RFC 5322 message as a
Maildir stores it.  For mbox, lines of the body that start with "From "
are quoted as ">From " the way an MTA writing an mbox does, and the
server sends them quoted (spool/mbox.h: it never unquotes), so the
expected bytes are always wire_form(stored bytes).
"""
import os
import poplib
import shutil
import subprocess
import warnings

import harness
from harness import BINARY, mbox_from, wire_form  # noqa: F401 (re-exported)

# poplib refuses reply lines over 2048 octets; no fixture has one, but the
# overlong-line tests must not trip over poplib's own guard.
poplib._MAXLINE = 1 << 16

USER, PASSWORD = "alice", "wonderland"

Server = harness.Server


def message(subject, body, extra_headers=b""):
    return (b"From: Sender <sender@example.org>\n"
            b"To: Alice <alice@example.org>\n"
            b"Subject: " + subject + b"\n" + extra_headers + b"\n" + body)


# Order matters for mbox: message N of the maildrop is entry N-1 here.
FIXTURES = [
    ("plain", message(b"plain", b"Hello, Alice.\nSecond line.\n")),
    # Dot-stuffing: lines starting with one and two dots, a lone dot in the
    # middle, a dot followed by a space, and a dot line right at the end.
    ("dots", message(b"dots", b".starts with a dot\n..two dots\n.\n"
                     b". dot space\nmiddle\n.\n")),
    # A body that is nothing but the terminator sequence.
    ("lone_dot", message(b"lone dot", b".\n")),
    # "From " lines: the Maildir copy keeps them, the mbox copy quotes them.
    ("from_lines", message(b"from lines", b"Hi,\n\nFrom the start of a line\n"
                           b">From already quoted\nFrom\n")),
    ("eightbit", message(b"=?utf-8?q?8bit?=", "Grüße, café, 日本語\n".encode()
                         + bytes(range(0x80, 0x100)) + b"\n",
                         b"Content-Type: text/plain; charset=utf-8\n"
                         b"Content-Transfer-Encoding: 8bit\n")),
    ("nul", message(b"nul", b"before\x00after\n\x00\n\x00\x00\x00 three\n")),
    ("no_final_newline", message(b"no eol", b"the last line has no line end")),
    ("empty_body", message(b"empty body", b"")),
    # No blank line after the header at all: TOP must send everything.
    ("headers_only", b"From: Sender <sender@example.org>\nSubject: headers only\n"),
    ("crlf", message(b"crlf", b"stored with\r\nCRLF line ends\r\n.dot\r\n")
     .replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n")),
    # A CR that is not followed by LF is data; CR CR LF is a line "x\r".
    ("bare_cr", message(b"bare cr", b"one\rtwo\nthree\r\r\nend\n")),
    ("long_line", message(b"long line", b"x" * 990 + b"\n")),
    ("twin_a", message(b"twins", b"Two identical copies.\n")),
    ("twin_b", message(b"twins", b"Two identical copies.\n")),
]
NAMES = [n for n, _ in FIXTURES]
STORED = dict(FIXTURES)


def mbox_quote(msg):
    """Quotes body lines starting with "From " (mboxo), as an MTA does."""
    out = []
    for line in msg.split(b"\n"):
        out.append(b">" + line if line.startswith(b"From ") else line)
    return b"\n".join(out)


def stored_for(kind, msg):
    return mbox_quote(msg) if kind == "mbox" else msg


def big_message(size=10 * 1024 * 1024):
    """About SIZE octets of 78-octet lines, some starting with a dot."""
    head = message(b"ten megabytes", b"")
    lines = []
    total = len(head)
    i = 0
    while total < size:
        prefix = b"." if i % 97 == 0 else b""
        line = prefix + (b"%08d " % i) + b"abcdefghijklmnopqrstuvwxyz" * 2 + b"0123456789-=+\n"
        lines.append(line)
        total += len(line)
        i += 1
    return head + b"".join(lines)


# harness.wire_form is linear now; the name stays for the 10 MB tests.
fast_wire_form = wire_form


def read_multiline(conn):
    """Conn.multiline for big replies: searches only the new bytes
    (Conn.multiline rescans the whole buffer after every recv)."""
    buf = bytearray(b"\r\n" + conn.buf)
    start = 0
    while True:
        i = buf.find(b"\r\n.\r\n", start)
        if i >= 0:
            break
        start = max(0, len(buf) - 4)
        chunk = conn.sock.recv(1 << 20)
        if not chunk:
            raise EOFError("closed inside a multi-line reply")
        buf += chunk
    conn.buf = bytes(buf[i + 5:])
    return bytes(buf[2:i + 2])


def server_with(kind, msgs, user=USER, password=PASSWORD, **kw):
    """A Server whose USER maildrop holds MSGS (already in stored form)."""
    users = kw.pop("users", {user: password})
    if kind == "mbox":
        return Server(users=users, mbox={user: mbox_from(msgs)}, **kw)
    return Server(users=users, maildir={user: msgs}, **kw)


def login(s, user=USER, password=PASSWORD):
    p = poplib.POP3("127.0.0.1", s.pop3_port, timeout=30)
    p.user(user)
    p.pass_(password)
    return p


def received(lines):
    """What poplib received for a multi-line reply, CRLFs put back:
    poplib strips the line ends and one stuffing dot per line."""
    return b"".join(line + b"\r\n" for line in lines)


def raw_login(s, user=USER, password=PASSWORD):
    c = s.connect()
    assert c.line().startswith("+OK")
    assert c.cmd("USER " + user).startswith("+OK")
    r = c.cmd("PASS " + password)
    assert r.startswith("+OK"), r
    return c


def crypt_hash(password):
    """A SHA-512 crypt(3) hash of PASSWORD: Python's crypt module if this
    Python still has it, else openssl, else perl."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
        return crypt.crypt(password, "$6$e2esaltsalt$")
    except ImportError:
        pass
    if shutil.which("openssl"):
        return subprocess.run(["openssl", "passwd", "-6", "-salt", "e2esaltsalt",
                               password], capture_output=True, check=True,
                              text=True).stdout.strip()
    return subprocess.run(["perl", "-e", 'print crypt($ARGV[0], q($6$e2esaltsalt$))',
                           password], capture_output=True, check=True,
                          text=True).stdout.strip()


def mailbox_snapshot(s, user=USER):
    """The maildrop's bytes (mbox) or sorted file contents (Maildir)."""
    path = s.mailbox_path(user)
    if os.path.isdir(path):
        out = []
        for sub in ("new", "cur"):
            d = os.path.join(path, sub)
            for name in sorted(os.listdir(d)):
                with open(os.path.join(d, name), "rb") as f:
                    out.append(f.read())
        return sorted(out)
    with open(path, "rb") as f:
        return f.read()


def join_two_lines(path, at):
    """Replaces the first LF at or after AT in PATH with an "x", in place:
    a message edited by a program that ignores locks, its length kept."""
    with open(path, "r+b") as f:
        f.seek(at)
        i = f.read(65536).index(b"\n")
        f.seek(at + i)
        f.write(b"x")


def message_file(s, kind, user=USER):
    """The file that holds USER's largest message: the Maildir file, or
    the whole mbox."""
    path = s.mailbox_path(user)
    if kind != "maildir":
        return path
    new = os.path.join(path, "new")
    return max((os.path.join(new, n) for n in os.listdir(new)), key=os.path.getsize)
