"""Byte-exact retrieval of tricky fixtures over mbox and Maildir.

For every message: what the client receives (poplib, and the raw stuffed
bytes un-stuffed by hand) equals wire_form(stored bytes), and LIST's
figure equals the number of octets received (RFC 1939 §11: CRLF line
ends, stuffing dots not counted).  Unique ids are checked for format,
uniqueness (identical twins included) and stability across sessions and
server restarts.
"""
import os
import re
import unittest

from fixtures import (FIXTURES, USER, Server, big_message, fast_wire_form, login,
                      mbox_from, message, raw_login, read_multiline, received,
                      server_with, stored_for, wire_form)
from harness import unstuff

UID_RE = re.compile(rb"^[\x21-\x7e]{1,70}$")


def stuffed(wire):
    """What must go on the wire for WIRE (CRLF lines): dot-stuffed."""
    lines = wire.split(b"\r\n")
    return b"\r\n".join(b"." + l if l.startswith(b".") else l for l in lines)


class FixtureRetrieval:
    KIND = None

    @classmethod
    def setUpClass(cls):
        cls.stored = [stored_for(cls.KIND, m) for _, m in FIXTURES]
        cls.expected = [wire_form(m) for m in cls.stored]
        cls.server = server_with(cls.KIND, cls.stored).start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def messages(self, p):
        """{msn: (received bytes, LIST size, octets poplib counted)}."""
        sizes = dict(tuple(map(int, l.split())) for l in p.list()[1])
        out = {}
        for n in sorted(sizes):
            resp, lines, octets = p.retr(n)
            out[n] = (received(lines), sizes[n], octets, resp)
        return out

    def check_order(self, got):
        """mbox keeps file order; Maildir order is not specified, so a
        Maildir only has to deliver the same multiset of messages."""
        bodies = [got[n][0] for n in sorted(got)]
        if self.KIND == "mbox":
            for i, (name, _) in enumerate(FIXTURES):
                self.assertEqual(bodies[i], self.expected[i], name)
        else:
            self.assertEqual(sorted(bodies), sorted(self.expected))

    def test_poplib_receives_every_fixture_byte_for_byte(self):
        p = login(self.server)
        count, total = p.stat()
        self.assertEqual(count, len(FIXTURES))
        self.assertEqual(total, sum(len(e) for e in self.expected))
        got = self.messages(p)
        p.quit()
        self.check_order(got)
        for n, (data, size, octets, resp) in got.items():
            # LIST = octets the client received = RETR's announced size.
            self.assertEqual(size, len(data), n)
            self.assertEqual(octets, len(data), n)
            self.assertEqual(resp, b"+OK %d octets" % size)

    def test_raw_bytes_are_dot_stuffed_exactly(self):
        c = raw_login(self.server)
        blocks = []
        for n in range(1, len(FIXTURES) + 1):
            self.assertTrue(c.cmd("RETR %d" % n).startswith("+OK"))
            blocks.append(c.multiline())
        c.cmd("QUIT")
        for block in blocks:
            self.assertIn(block, [stuffed(e) for e in self.expected])
            self.assertIn(unstuff(block), self.expected)

    def test_top_is_a_prefix_of_retr(self):
        # PROTOCOLS.md 3.6: TOP output is always a byte prefix of RETR
        # output; TOP n 0 is the header and the blank line that ends it
        # (or the whole message when there is no blank line).
        p = login(self.server)
        for n in range(1, len(FIXTURES) + 1):
            whole = received(p.retr(n)[1])
            for k in (0, 1, 2, 1000):
                top = received(p.top(n, k)[1])
                self.assertTrue(whole.startswith(top), (n, k))
            top0 = received(p.top(n, 0)[1])
            if b"\r\n\r\n" in whole:
                self.assertEqual(top0, whole[:whole.index(b"\r\n\r\n") + 4])
            else:
                self.assertEqual(top0, whole)
            self.assertEqual(received(p.top(n, 1000)[1]), whole)
        p.quit()

    def test_uidl_unique_and_stable_across_sessions(self):
        p = login(self.server)
        first = p.uidl()[1]
        by_msn = {}
        for line in first:
            n, uid = line.split(b" ")
            self.assertRegex(uid, UID_RE)
            by_msn[int(n)] = uid
        # Unique within the maildrop, identical twins included.
        self.assertEqual(len(set(by_msn.values())), len(FIXTURES))
        for n, uid in by_msn.items():
            self.assertEqual(p.uidl(n), b"+OK %d " % n + uid)
        p.quit()
        p = login(self.server)
        self.assertEqual(p.uidl()[1], first)
        p.quit()


class MboxFixtures(FixtureRetrieval, unittest.TestCase):
    KIND = "mbox"


class MaildirFixtures(FixtureRetrieval, unittest.TestCase):
    KIND = "maildir"


class UidlAcrossRestart(unittest.TestCase):
    def check(self, kind):
        msgs = [stored_for(kind, m) for _, m in FIXTURES]
        s = server_with(kind, msgs).start()
        try:
            p = login(s)
            before = p.uidl()[1]
            contents = [received(p.retr(n)[1]) for n in range(1, len(msgs) + 1)]
            # A session that ends without UPDATE changes nothing either.
            p.close()
            s.stop()
            s.start()
            p = login(s)
            self.assertEqual(p.uidl()[1], before)
            # The same id still names the same message.
            self.assertEqual([received(p.retr(n)[1]) for n in range(1, len(msgs) + 1)],
                             contents)
            p.quit()
        finally:
            s.cleanup()

    def test_mbox(self):
        self.check("mbox")

    def test_maildir(self):
        self.check("maildir")

    def test_ids_survive_deleting_a_neighbour(self):
        for kind in ("mbox", "maildir"):
            msgs = [stored_for(kind, m) for _, m in FIXTURES]
            with server_with(kind, msgs) as s:
                p = login(s)
                uids = [l.split(b" ")[1] for l in p.uidl()[1]]
                p.dele(1)
                p.dele(len(msgs) // 2)
                p.quit()
                p = login(s)
                left = [l.split(b" ")[1] for l in p.uidl()[1]]
                p.quit()
                kept = [u for i, u in enumerate(uids) if i not in (0, len(msgs) // 2 - 1)]
                self.assertEqual(left, kept, kind)


def uids(s):
    p = login(s)
    out = [l.split(b" ")[1] for l in p.uidl()[1]]
    p.quit()
    return out


class UidlEdgeCases(unittest.TestCase):
    """RFC 1939 §7: an id persists across sessions and is never reused
    while the maildrop exists; issue 2: unique even for identical
    messages.  These are the situations that break naive schemes."""

    TWIN = message(b"twins", b"Same bytes, same envelope line.\n")

    def test_twin_keeps_its_id_when_the_other_is_deleted(self):
        # Two byte-identical messages (same mbox From line too, as two
        # deliveries of one message within a second have).  Deleting the
        # first must neither change the second's id nor hand it the id
        # the deleted one had: a client that remembers ids (fetchmail,
        # mpop) would otherwise never fetch it, or fetch it twice.
        for kind in ("maildir", "mbox"):
            with server_with(kind, [self.TWIN, self.TWIN]) as s:
                first, second = uids(s)
                p = login(s)
                p.dele(1)
                p.quit()
                self.assertEqual(uids(s), [second], kind)
                self.assertNotEqual(second, first, kind)

    def test_ids_survive_an_append(self):
        msgs = [stored_for("mbox", m) for _, m in FIXTURES]
        for kind in ("mbox", "maildir"):
            with server_with(kind, msgs) as s:
                before = uids(s)
                self.assertEqual(s.deliver(USER, self.TWIN), 0)
                self.assertEqual(s.deliver(USER, self.TWIN), 0)
                after = uids(s)
                self.assertEqual(len(after), len(before) + 2)
                self.assertEqual(set(before) & set(after), set(before), kind)
                self.assertEqual(len(set(after)), len(after), kind)

    def test_maildir_flags_and_odd_names(self):
        m = message(b"x", b"body\n")
        with Server(maildir={USER: [m, m, m]}) as s:
            new = os.path.join(s.mailbox_path(USER), "new")
            names = sorted(os.listdir(new))
            # A name longer than 70 octets and one with a space, a control
            # character and 8-bit bytes still give a valid id.
            os.rename(os.path.join(new, names[1]), os.path.join(new, "A" * 120 + ".host"))
            os.rename(os.path.join(new, names[2]),
                      os.path.join(new, "17 sp\x01\xc3\xa9.host"))
            before = uids(s)
            for uid in before:
                self.assertRegex(uid, UID_RE)
            self.assertEqual(len(set(before)), 3)
            # A reader marking a message seen moves it to cur/ with flags;
            # its id must not change.
            os.rename(os.path.join(new, names[0]),
                      os.path.join(s.mailbox_path(USER), "cur", names[0] + ":2,S"))
            self.assertEqual(sorted(uids(s)), sorted(before))

    def test_reused_x_uidl(self):
        a = message(b"a", b"a\n", b"X-UIDL: abc-1\n")
        b = message(b"b", b"b\n", b"X-UIDL: abc-2\n")
        bad = message(b"c", b"c\n", b"X-UIDL: has a space and " + b"L" * 80 + b"\n")
        with Server(mbox={USER: mbox_from([a, b, bad])},
                    extra_config="reuse_xuidl yes") as s:
            first = uids(s)
            self.assertEqual(first[:2], [b"abc-1", b"abc-2"])
            self.assertRegex(first[2], UID_RE)
            # A later message carrying a copy of an X-UIDL header (a
            # forwarded or re-sent message) must not take the id away
            # from the message that had it first.
            self.assertEqual(s.deliver(USER, a), 0)
            after = uids(s)
            self.assertEqual(after[:3], first)
            self.assertNotIn(after[3], first)


class TenMegabytes(unittest.TestCase):
    """One 10 MB message between two small ones, over a raw socket (one of
    the two tests that use it; test_pop3_clients.py has the other)."""

    def test_mbox_raw(self):
        big = big_message()
        small = FIXTURES[1][1]
        with server_with("mbox", [small, big, small]) as s:
            c = raw_login(s)
            r = c.cmd("LIST 2")
            size = int(r.split()[2])
            wire = fast_wire_form(big)
            self.assertEqual(size, len(wire))
            self.assertEqual(c.cmd("RETR 2"), "+OK %d octets" % size)
            block = read_multiline(c)
            self.assertEqual(unstuff(block), wire)
            self.assertEqual(block, stuffed(wire))
            self.assertTrue(c.cmd("RETR 3").startswith("+OK"))
            self.assertEqual(unstuff(c.multiline()), wire_form(small))
            c.cmd("QUIT")


if __name__ == "__main__":
    unittest.main()
