"""RFC 1081 RPOP: refused by default; with rpop_trusted, "USER name" then
"RPOP name" logs in without a password, but only from a trusted network
AND a privileged source port (the tests run as root, so they can bind
one).  Unknown users fail exactly like a wrong password; every RPOP
login is logged; a bad network in the config names its file and line.
"""
import errno
import os
import random
import socket
import subprocess
import unittest

from fixtures import BINARY, PASSWORD, USER, Server, mbox_from
from harness import Conn

MSG = b"From: a@example.org\nSubject: hi\n\nhello\n"
FAILED = "-ERR [AUTH] Authentication failed"
REFUSED = "-ERR RPOP is not supported; use PASS, APOP or AUTH"


def server(trusted=None):
    extra = "rpop_trusted %s\n" % trusted if trusted else ""
    return Server(users={USER: PASSWORD}, mbox={USER: mbox_from([MSG])},
                  extra_config=extra)


def connect_from(s, privileged):
    """A connection from 127.0.0.1, from a source port below 1024 if
    PRIVILEGED (a free one, tried at random), else an ephemeral one."""
    if not privileged:
        c = s.connect()
        assert c.sock.getsockname()[1] >= 1024
        return c
    for _ in range(200):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", random.randrange(600, 1024)))
            sock.settimeout(10)
            sock.connect(("127.0.0.1", s.pop3_port))
            return Conn(sock)
        except OSError as e:
            sock.close()
            if e.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL):
                raise
    raise AssertionError("no free privileged source port")


def rpop(c, user=USER, name=None):
    c.line()
    assert c.cmd("USER " + user).startswith("+OK")
    return c.cmd("RPOP " + (name or user))


class Rpop(unittest.TestCase):
    def test_refused_by_default_even_from_a_privileged_port(self):
        with server() as s:
            c = connect_from(s, True)
            self.assertEqual(rpop(c), REFUSED)
            # The USER is forgotten, as after a failed PASS.
            self.assertTrue(c.cmd("PASS " + PASSWORD).startswith("-ERR"))

    def test_accepted_from_a_trusted_network_and_privileged_port(self):
        with server("10.0.0.0/8 127.0.0.0/8") as s:
            c = connect_from(s, True)
            port = c.sock.getsockname()[1]
            self.assertEqual(rpop(c), "+OK 1 messages (%d octets)"
                             % len(MSG.replace(b"\n", b"\r\n")))
            self.assertTrue(c.cmd("STAT").startswith("+OK 1 "))
            c.cmd("QUIT")
            log = s.read_log().decode()
            self.assertIn("RPOP login %s from 127.0.0.1:%d without a password"
                          % (USER, port), log)

    def test_refused_from_an_unprivileged_port(self):
        with server("127.0.0.0/8") as s:
            c = connect_from(s, False)
            self.assertEqual(rpop(c), REFUSED)
            self.assertNotIn("RPOP login", s.read_log().decode())

    def test_refused_from_a_network_not_trusted(self):
        with server("10.0.0.0/8") as s:
            self.assertEqual(rpop(connect_from(s, True)), REFUSED)
        with server("::1/128") as s:
            self.assertEqual(rpop(connect_from(s, True)), REFUSED)
        with server("127.0.0.2/32") as s:
            self.assertEqual(rpop(connect_from(s, True)), REFUSED)

    def test_unknown_user_fails_like_a_wrong_password(self):
        with server("127.0.0.1/32") as s:
            c = s.connect()
            c.line()
            c.cmd("USER " + USER)
            wrong = c.cmd("PASS wrong")
            self.assertEqual(wrong, FAILED)
            self.assertEqual(rpop(connect_from(s, True), "nobody"), wrong)
            # The RPOP name must be the USER name (no .rhosts here).
            self.assertEqual(rpop(connect_from(s, True), USER, "root"), wrong)
            c = connect_from(s, True)
            c.line()
            self.assertTrue(c.cmd("RPOP " + USER).startswith("-ERR"))

    def test_bad_network_names_file_and_line(self):
        d = Server()
        try:
            for bad in ("127.0.0.0", "127.0.0.0/33", "::1/129", "localhost/8",
                        "10.0.0.0/8 300.0.0.0/8", "10.0.0.0/-1"):
                conf = os.path.join(d.dir, "bad.conf")
                with open(d.config) as f:
                    good = f.read()
                lineno = good.count("\n") + 1
                with open(conf, "w") as f:
                    f.write(good + "rpop_trusted " + bad + "\n")
                r = subprocess.run([BINARY, "serve", "-c", conf],
                                   capture_output=True, timeout=20)
                self.assertEqual(r.returncode, 78, bad)
                self.assertIn("%s:%d: rpop_trusted" % (conf, lineno),
                              r.stderr.decode(), bad)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
