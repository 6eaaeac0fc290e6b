"""End-to-end harness: runs the real postoffice binary on loopback.

A Server builds a private folder with a config, a passwd file and
maildrops, starts `postoffice serve -c FILE` with port 0 listeners and
reads the real ports from its log.  Nothing here fakes the server.
"""
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

BINARY = os.environ.get("POSTOFFICE") or os.path.join(
    os.path.dirname(__file__), "..", "..", "postoffice")
BINARY = os.path.abspath(BINARY)
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")


def chown_tree(path, uid, gid):
    """Gives PATH, and everything under it if a folder, to UID and GID."""
    os.chown(path, uid, gid)
    for top, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(top, name), uid, gid)


def mbox_from(messages, sep="From sender@example.org Mon Nov 23 10:00:00 2026"):
    """An mbox holding MESSAGES (bytes), each with a From line and the blank
    separator line that mbox writers add."""
    out = b""
    for m in messages:
        out += sep.encode() + b"\n" + m
        if not m.endswith(b"\n"):
            out += b"\n"
        out += b"\n"
    return out


def wire_form(stored):
    """What the server must send for STORED (bytes): CRLF line ends, a
    final CRLF, one empty line for an empty message (spool/wire.h)."""
    if stored == b"":
        return b"\r\n"
    lines = stored.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return b"".join((line[:-1] if line.endswith(b"\r") else line) + b"\r\n"
                    for line in lines)


class Server:
    """A running postoffice with its own maildrops.

    users: {name: password}; plain passwords are stored as {PLAIN}.
    mbox:  {name: bytes} written as mbox maildrops.
    maildir: {name: [bytes, ...]} written as Maildirs instead.
    extra_config: more "key value" lines.
    """

    # One lock for every server's log: subclasses (the demo) set up
    # their own fields, and reads are short.
    log_lock = threading.Lock()

    def __init__(self, users=None, mbox=None, maildir=None, folders=None,
                 extra_config="", passwd_lines=None):
        self.dir = tempfile.mkdtemp(prefix="po-e2e-")
        self.users = users if users is not None else {"alice": "wonderland"}
        self.mail = os.path.join(self.dir, "mail")
        self.folders = os.path.join(self.dir, "folders")
        os.mkdir(self.mail)
        os.mkdir(self.folders)
        self.passwd = os.path.join(self.dir, "passwd")
        with open(self.passwd, "w") as f:
            for u, p in self.users.items():
                f.write("%s:{PLAIN}%s\n" % (u, p))
            for line in passwd_lines or []:
                f.write(line + "\n")
        for u, content in (mbox or {}).items():
            with open(self.mailbox_path(u), "wb") as f:
                f.write(content)
        for u, msgs in (maildir or {}).items():
            self.make_maildir(self.mailbox_path(u), msgs)
        for u, entries in (folders or {}).items():
            os.makedirs(os.path.join(self.folders, u), exist_ok=True)
            for name, content in entries.items():
                with open(os.path.join(self.folders, u, name), "wb") as f:
                    f.write(content)
        self.config = os.path.join(self.dir, "postoffice.conf")
        with open(self.config, "w") as f:
            f.write("listen pop3 127.0.0.1:0\n"
                    "listen pop2 127.0.0.1:0\n"
                    "passwd %s\n"
                    "mailbox %s/%%u\n"
                    "folders %s/%%u\n"
                    "hostname test.example\n"
                    "auth_fail_delay 0\n%s\n"
                    % (self.passwd, self.mail, self.folders, extra_config))
        self.proc = None
        self.log = b""

    @staticmethod
    def make_maildir(path, msgs):
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(path, sub), exist_ok=True)
        for i, m in enumerate(msgs):
            name = "%d.M%dP%d.test" % (1700000000 + i, i, os.getpid())
            with open(os.path.join(path, "new", name), "wb") as f:
                f.write(m)

    def mailbox_path(self, user):
        return os.path.join(self.mail, user)

    def start(self, run_as=None, env=None):
        """RUN_AS: (uid, gid) to start the daemon as an ordinary user
        (the test must be root); its folder is handed to that user, with
        a copy of the binary in it, since the checkout may be in a folder
        only root can enter.  ENV: variables added to the daemon's
        environment."""
        become = None
        binary = BINARY
        if run_as:
            binary = os.path.join(self.dir, "postoffice")
            shutil.copy(BINARY, binary)
            chown_tree(self.dir, *run_as)

            def become():
                os.setgroups([])
                os.setgid(run_as[1])
                os.setuid(run_as[0])
        self.proc = subprocess.Popen(
            [binary, "serve", "-c", self.config],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, preexec_fn=become,
            env=dict(os.environ, **env) if env else None)
        ports = {}
        deadline = time.time() + 10
        buf = b""
        while len(ports) < 2 and time.time() < deadline:
            r, _, _ = select.select([self.proc.stderr], [], [], 0.5)
            if not r:
                if self.proc.poll() is not None:
                    break
                continue
            chunk = os.read(self.proc.stderr.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            for m in re.finditer(rb"listening (pop3|pop2) [^ \n]*:(\d+)\n", buf):
                # The first listener of each kind is the one tests use.
                ports.setdefault(m.group(1).decode(), int(m.group(2)))
        self.log = buf
        if len(ports) < 2:
            self.stop()
            raise RuntimeError("server did not start: %r" % buf)
        self.pop3_port = ports["pop3"]
        self.pop2_port = ports["pop2"]
        return self

    def read_log(self):
        """Everything the server logged so far (non-blocking).  Safe from
        several threads: select and read happen under one lock, or two
        readers woken by the same line would leave one blocked in read."""
        with self.log_lock:
            while self.proc and not self.proc.stderr.closed:
                r, _, _ = select.select([self.proc.stderr], [], [], 0.05)
                if not r:
                    break
                chunk = os.read(self.proc.stderr.fileno(), 65536)
                if not chunk:
                    break
                self.log += chunk
            return self.log

    def wait_log(self, pattern, timeout=5):
        """The first match of PATTERN (bytes regex) in the log, waiting up
        to TIMEOUT seconds for it; None if it never came."""
        deadline = time.time() + timeout
        while True:
            m = re.search(pattern, self.read_log())
            if m or time.time() >= deadline:
                return m
            time.sleep(0.05)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc and not self.proc.stderr.closed:
            self.read_log()
            self.proc.stderr.close()
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.cleanup()
            raise

    def __exit__(self, *exc):
        self.cleanup()

    def deliver(self, user, message, sender=None):
        args = [BINARY, "deliver", "-c", self.config]
        if sender:
            args += ["-f", sender]
        args.append(user)
        p = subprocess.run(args, input=message, capture_output=True, timeout=30)
        return p.returncode

    def connect(self, port=None):
        return Conn(socket.create_connection(
            ("127.0.0.1", port or self.pop3_port), timeout=10))


class Conn:
    """A raw line-oriented client, for what no real client sends."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.line()

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; buffered %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("latin-1")

    def exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("closed after %d of %d octets" % (len(self.buf), n))
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def multiline(self):
        """Reads a dot-terminated block; returns the raw stuffed bytes
        (without the terminator)."""
        while b"\r\n.\r\n" not in b"\r\n" + self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("closed inside a multi-line reply")
            self.buf += chunk
        data = b"\r\n" + self.buf
        end = data.index(b"\r\n.\r\n")
        block = data[2:end + 2]
        self.buf = data[end + 5:]
        return block

    def closed(self, timeout=5):
        """True if the server closes the connection within TIMEOUT."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (socket.timeout, ConnectionResetError):
            return False

    def close(self):
        self.sock.close()


def unstuff(block):
    """Undoes POP3 dot-stuffing of a multi-line block."""
    out = []
    for line in block.split(b"\r\n"):
        out.append(line[1:] if line.startswith(b".") else line)
    return b"\r\n".join(out)


def children(pid):
    """Processes whose parent is PID."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(entry))
    return out
