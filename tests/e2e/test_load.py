"""A bounded load-and-faults run (LOAD_SECONDS, 30 s by default; not a
timed assertion): about 200 concurrent POP3 and POP2 clients over 40
users retrieve and delete while `postoffice deliver` adds mail to the
same users, and some clients drop the connection in the middle.  At the
end, for every user, what was delivered minus what a client deleted (as
confirmed by the reply to QUIT) is exactly what the maildrop holds: no
message lost, duplicated or truncated; and the server still answers.

Every message carries its id in the Subject and a body computed from the
id, so a retrieved message is checked byte for byte wherever it comes
from.  A busy maildrop ([IN-USE], "-" on port 109) is a retry, not a
failure: with 200 clients on 40 maildrops most attempts find it busy."""
import hashlib
import os
import random
import socket
import subprocess
import threading
import time
import unittest

from fixtures import BINARY, read_multiline, wire_form
from harness import Conn, Server, mbox_from, unstuff

SECONDS = float(os.environ.get("LOAD_SECONDS", "30"))
USERS = ["u%02d" % i for i in range(40)]
CLIENTS = 200
DELIVERERS = 4


def body_of(mid):
    """The message with id MID: 1 to 40 lines derived from the id."""
    h = hashlib.sha256(mid.encode()).hexdigest()
    lines = [("%s %d %s" % (mid, i, h)).encode() for i in range(1 + int(h[:2], 16) % 40)]
    if int(h[2], 16) % 3 == 0:
        lines.append(b".a line starting with a dot")
    return (b"From: load@example.org\nSubject: " + mid.encode() + b"\n\n"
            + b"\n".join(lines) + b"\n")


def id_of(wire):
    """The id in a retrieved message, after checking it is whole."""
    head = wire.split(b"\r\n", 2)[1]
    assert head.startswith(b"Subject: "), wire[:200]
    mid = head[9:].decode()
    assert wire == wire_form(body_of(mid)), "message %s damaged" % mid
    return mid


class Ledger:
    """What the test knows: ids delivered and ids confirmed deleted."""

    def __init__(self):
        self.lock = threading.Lock()
        self.delivered = {u: set() for u in USERS}
        self.deleted = {u: set() for u in USERS}
        self.counts = {"pop3": 0, "pop2": 0, "drops": 0, "busy": 0, "retrieved": 0,
                       "delivered": 0, "deliver_tempfail": 0}
        self.errors = []

    def count(self, key, n=1):
        with self.lock:
            self.counts[key] += n


class Client:
    """One simulated user agent, looping until the deadline."""

    def __init__(self, s, ledger, rnd, deadline):
        self.s, self.ledger, self.rnd, self.deadline = s, ledger, rnd, deadline

    def run(self):
        try:
            while time.time() < self.deadline:
                user = self.rnd.choice(USERS)
                if self.rnd.random() < 0.25:
                    self.pop2(user)
                else:
                    self.pop3(user)
        except Exception as e:  # recorded, reported by the test
            with self.ledger.lock:
                self.ledger.errors.append(repr(e))

    def connect(self, port):
        return Conn(socket.create_connection(("127.0.0.1", port), timeout=60))

    def busy(self, c):
        c.close()
        self.ledger.count("busy")
        time.sleep(self.rnd.uniform(0.02, 0.2))

    def pop3(self, user):
        c = self.connect(self.s.pop3_port)
        c.line()
        c.cmd("USER " + user)
        r = c.cmd("PASS pw")
        if not r.startswith("+OK"):
            assert "[IN-USE]" in r, r
            return self.busy(c)
        n = int(c.cmd("STAT").split()[1])
        marked = []
        for k in range(1, n + 1):
            if self.rnd.random() < 0.5:
                assert c.cmd("RETR %d" % k).startswith("+OK")
                mid = id_of(unstuff(read_multiline(c)))
                self.ledger.count("retrieved")
                if self.rnd.random() < 0.6:
                    assert c.cmd("DELE %d" % k).startswith("+OK")
                    marked.append(mid)
        if self.rnd.random() < 0.1:  # a drop after DELE: nothing deleted
            c.sock.close()
            self.ledger.count("drops")
            return
        r = c.cmd("QUIT")
        c.close()
        assert r.startswith(("+OK", "-ERR")), r
        if r.startswith("+OK"):
            with self.ledger.lock:
                self.ledger.deleted[user].update(marked)
        self.ledger.count("pop3")

    def pop2(self, user):
        c = self.connect(self.s.pop2_port)
        c.line()
        r = c.cmd("HELO %s pw" % user)
        if not r.startswith("#"):
            assert r.startswith("-"), r
            return self.busy(c)
        n = int(r[1:].split()[0])
        marked = []
        r = c.cmd("READ 1") if n else None
        for k in range(1, n + 1):
            length = int(r[1:].split()[0])
            c.send("RETR\r\n")
            mid = id_of(c.exact(length))
            self.ledger.count("retrieved")
            if self.rnd.random() < 0.5:
                marked.append(mid)
                r = c.cmd("ACKD")
            else:
                r = c.cmd("ACKS")
            assert r.startswith("=") or k == n, r
        if self.rnd.random() < 0.1:
            c.sock.close()
            self.ledger.count("drops")
            return
        r = c.cmd("QUIT")
        c.close()
        assert r.startswith(("+", "-")), r
        if r.startswith("+"):
            with self.ledger.lock:
                self.ledger.deleted[user].update(marked)
        self.ledger.count("pop2")


# Each deliverer goes on past the deadline until it has delivered this
# many, so that a slow machine (a sanitizer build) still checks the
# deliveries the test counts on, instead of failing by the clock.
MIN_DELIVERED = 12


def deliverer(s, ledger, rnd, deadline, tag):
    n = ok = 0
    while time.time() < deadline or (ok < MIN_DELIVERED
                                     and time.time() < deadline + 100):
        user = rnd.choice(USERS)
        mid = "%s-%s-%d" % (user, tag, n)
        n += 1
        p = subprocess.run([BINARY, "deliver", "-c", s.config, user],
                           input=body_of(mid), capture_output=True, timeout=60)
        if p.returncode == 0:
            ok += 1
            with ledger.lock:
                ledger.delivered[user].add(mid)
            ledger.count("delivered")
        elif p.returncode == 75:
            ledger.count("deliver_tempfail")  # lock busy: the MTA retries
        else:
            with ledger.lock:
                ledger.errors.append("deliver exit %d: %r" % (p.returncode, p.stderr))


class LoadAndFaults(unittest.TestCase):
    def test_nothing_lost_under_load(self):
        ledger = Ledger()
        seeded = {u: ["%s-seed-%d" % (u, i) for i in range(3)] for u in USERS}
        for u in USERS:
            ledger.delivered[u].update(seeded[u])
        s = Server(users={u: "pw" for u in USERS},
                   mbox={u: mbox_from([body_of(m) for m in seeded[u]]) for u in USERS[:30]},
                   maildir={u: [body_of(m) for m in seeded[u]] for u in USERS[30:]},
                   extra_config="max_sessions 1000\nmax_sessions_per_host 1000").start()
        stop = threading.Event()

        def drain_log():  # the sessions log more than a pipe holds
            while not stop.is_set():
                s.read_log()
                time.sleep(0.05)
        reader = threading.Thread(target=drain_log)
        reader.start()
        try:
            deadline = time.time() + SECONDS
            threads = [threading.Thread(target=Client(s, ledger, random.Random(i), deadline).run)
                       for i in range(CLIENTS)]
            threads += [threading.Thread(target=deliverer,
                                         args=(s, ledger, random.Random(1000 + i), deadline, "d%d" % i))
                        for i in range(DELIVERERS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(SECONDS + 120)
                self.assertFalse(t.is_alive(), "a client hung")
            self.assertEqual(ledger.errors, [])
            c = ledger.counts
            print("\nload: %(pop3)d POP3 and %(pop2)d POP2 sessions, %(drops)d drops, "
                  "%(busy)d busy retries, %(retrieved)d messages retrieved, "
                  "%(delivered)d delivered (%(deliver_tempfail)d exit 75)" % c)
            self.assertGreater(c["pop3"], CLIENTS)
            self.assertGreater(c["pop2"], 10)
            self.assertGreater(c["delivered"], 40)
            self.assertGreater(c["drops"], 0)
            # Every maildrop: exactly delivered minus deleted, each once.
            lost = 0
            for u in USERS:
                want = ledger.delivered[u] - ledger.deleted[u]
                self.assertTrue(ledger.deleted[u] <= ledger.delivered[u])
                got = self.contents(s, u)
                self.assertEqual(len(got), len(set(got)), "duplicates for %s" % u)
                lost += len(want - set(got))
                self.assertEqual(set(got), want, u)
            self.assertEqual(lost, 0)
            self.assertIsNone(s.proc.poll())
            self.assertNotIn(b"killed by signal", s.read_log())
        finally:
            stop.set()
            reader.join()
            s.cleanup()

    def contents(self, s, user):
        for _ in range(100):
            c = s.connect()
            c.line()
            c.cmd("USER " + user)
            if c.cmd("PASS pw").startswith("+OK"):
                break
            c.close()
            time.sleep(0.1)
        n = int(c.cmd("STAT").split()[1])
        ids = []
        for k in range(1, n + 1):
            self.assertTrue(c.cmd("RETR %d" % k).startswith("+OK"))
            ids.append(id_of(unstuff(read_multiline(c))))
        c.cmd("QUIT")
        c.close()
        return ids


if __name__ == "__main__":
    unittest.main()
