"""Client workarounds and pipelining over a raw socket: CR-only and
LF-only clients, lower-case verbs and extra blanks (always on), the
status_header and strip_nul options with STAT, LIST, RETR and TOP sizes
that match what is sent, and a pipelined batch with large RETRs
interleaved whose replies all come back in order (RFC 2449 §6.6).
"""
import re
import unittest

from fixtures import (PASSWORD, USER, Server, big_message, mbox_from, message,
                      raw_login, read_multiline, wire_form)
from harness import unstuff

MSGS = [message(b"one", b"first\n"),
        message(b"two", b"nul\x00here\n\x00.starts with a dot after a NUL\n"),
        message(b"three", b"third\n", b"Status: O\n")]


def server(**kw):
    kw.setdefault("users", {USER: PASSWORD})
    kw.setdefault("mbox", {USER: mbox_from(MSGS)})
    return Server(**kw)


def sizes_and_bodies(test, c):
    """STAT, LIST, and every RETR; checks they agree with each other."""
    stat = c.cmd("STAT").split()
    test.assertEqual(c.cmd("LIST")[:3], "+OK")
    listing = dict(tuple(map(int, l.split())) for l in c.multiline().decode().splitlines())
    bodies = {}
    for n, size in listing.items():
        r = c.cmd("RETR %d" % n)
        test.assertEqual(r, "+OK %d octets" % size)
        bodies[n] = unstuff(c.multiline())
        test.assertEqual(len(bodies[n]), size, n)
        test.assertEqual(c.cmd("LIST %d" % n), "+OK %d %d" % (n, size))
        # TOP is a prefix of RETR, synthesized header included.
        test.assertTrue(c.cmd("TOP %d 0" % n).startswith("+OK"))
        test.assertTrue(bodies[n].startswith(unstuff(c.multiline())))
    test.assertEqual(int(stat[1]), len(listing))
    test.assertEqual(int(stat[2]), sum(listing.values()))
    return bodies


class LineEnds(unittest.TestCase):
    def run_client(self, eol):
        with server() as s:
            c = s.connect()
            c.line()
            c.send(eol.join(["USER alice", "PASS wonderland", "STAT", "RETR 1",
                             "QUIT"]) + eol)
            self.assertTrue(c.line().startswith("+OK"))
            self.assertTrue(c.line().startswith("+OK"))
            self.assertTrue(c.line().startswith("+OK 3 "))
            self.assertTrue(c.line().startswith("+OK"))
            self.assertEqual(unstuff(c.multiline()), wire_form(MSGS[0]))
            self.assertTrue(c.line().startswith("+OK"))
            self.assertTrue(c.closed())

    def test_cr_only_client(self):
        # Classic Mac OS clients end lines with a bare CR.
        self.run_client("\r")

    def test_lf_only_client(self):
        self.run_client("\n")

    def test_lower_case_and_extra_blanks(self):
        with server() as s:
            c = s.connect()
            c.line()
            self.assertTrue(c.cmd("  user   alice  ").startswith("+OK"))
            self.assertTrue(c.cmd("pass wonderland").startswith("+OK"))
            self.assertEqual(c.cmd("list   1 ").split()[:2], ["+OK", "1"])
            self.assertTrue(c.cmd("Top 1  0").startswith("+OK"))
            c.multiline()


class Workarounds(unittest.TestCase):
    def test_defaults_send_the_stored_octets(self):
        with server() as s:
            c = raw_login(s)
            bodies = sizes_and_bodies(self, c)
            self.assertEqual([bodies[n] for n in (1, 2, 3)], [wire_form(m) for m in MSGS])
            self.assertIn(b"\x00", bodies[2])
            self.assertFalse(bodies[1].startswith(b"Status:"))

    def test_status_header(self):
        with server(extra_config="status_header RO\n") as s:
            c = raw_login(s)
            bodies = sizes_and_bodies(self, c)
            self.assertEqual(bodies[1], b"Status: RO\r\n" + wire_form(MSGS[0]))
            self.assertEqual(bodies[2], b"Status: RO\r\n" + wire_form(MSGS[1]))
            # A message with its own Status: field keeps it, alone.
            self.assertEqual(bodies[3], wire_form(MSGS[2]))
            self.assertEqual(len(re.findall(rb"(?m)^Status:", bodies[3])), 1)

    def test_strip_nul(self):
        with server(extra_config="strip_nul yes\n") as s:
            c = raw_login(s)
            bodies = sizes_and_bodies(self, c)
            self.assertEqual(bodies[2], wire_form(MSGS[1]).replace(b"\x00", b""))
            # The line that starts with a dot once the NUL is gone is stuffed.
            c.cmd("RETR 2")
            self.assertIn(b"\r\n..starts with a dot", c.multiline())

    def test_both_and_deletions(self):
        with server(extra_config="strip_nul yes\nstatus_header R\n") as s:
            c = raw_login(s)
            bodies = sizes_and_bodies(self, c)
            self.assertTrue(c.cmd("DELE 2").startswith("+OK"))
            self.assertEqual(c.cmd("STAT"), "+OK 2 %d" % (len(bodies[1]) + len(bodies[3])))
            r = c.cmd("RSET")
            self.assertIn("(%d octets)" % sum(map(len, bodies.values())), r)
            self.assertTrue(c.cmd("QUIT").startswith("+OK"))
            c = s.connect()
            c.line()
            c.cmd("USER alice")
            # The login reply counts the same octets.
            self.assertEqual(c.cmd("PASS wonderland"),
                             "+OK 3 messages (%d octets)" % sum(map(len, bodies.values())))

    def test_bad_values_stop_the_server(self):
        for cfg in ("status_header yes\n", "status_header X\n", "strip_nul maybe\n"):
            srv = server(extra_config=cfg)
            try:
                with self.assertRaises(RuntimeError):
                    srv.start()
            finally:
                srv.cleanup()


class Pipelining(unittest.TestCase):
    def test_batch_with_large_retrs_in_order(self):
        big = [big_message(3 * 1024 * 1024), big_message(2 * 1024 * 1024 + 7)]
        msgs = [MSGS[0], big[0], MSGS[2], big[1]]
        with server(mbox={USER: mbox_from(msgs)}) as s:
            c = s.connect()
            c.line()
            batch = ["USER alice", "PASS wonderland", "CAPA", "STAT", "RETR 2",
                     "LIST 1", "RETR 4", "NOOP", "RETR 1", "UIDL 3", "RETR 2",
                     "LAST", "QUIT"]
            c.send("".join(l + "\r\n" for l in batch))
            self.assertTrue(c.line().startswith("+OK"))
            self.assertTrue(c.line().startswith("+OK"))
            self.assertTrue(c.line().startswith("+OK"))
            self.assertIn(b"PIPELINING", c.multiline().split(b"\r\n"))
            sizes = [len(wire_form(m)) for m in msgs]
            self.assertEqual(c.line(), "+OK 4 %d" % sum(sizes))
            for cmd in batch[4:]:
                r = c.line()
                self.assertTrue(r.startswith("+OK"), (cmd, r))
                if cmd.startswith("RETR"):
                    n = int(cmd.split()[1])
                    self.assertEqual(r, "+OK %d octets" % sizes[n - 1])
                    self.assertEqual(unstuff(read_multiline(c)), wire_form(msgs[n - 1]))
                elif cmd == "LIST 1":
                    self.assertEqual(r, "+OK 1 %d" % sizes[0])
                elif cmd == "UIDL 3":
                    self.assertTrue(r.startswith("+OK 3 "))
                elif cmd == "LAST":
                    self.assertEqual(r, "+OK 4")
            self.assertTrue(c.closed())
            self.assertEqual(c.buf, b"")


if __name__ == "__main__":
    unittest.main()
