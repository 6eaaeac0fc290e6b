"""What a careless or hostile client, a dropped connection, a timer or a
signal does to a POP3 session: answered precisely, never a crash or a
hang, and nothing deleted without QUIT (RFC 1939 §3, §6)."""
import os
import signal
import socket
import struct
import subprocess
import time
import unittest

from fixtures import (BINARY, PASSWORD, USER, big_message, join_two_lines, login,
                      mailbox_snapshot, mbox_from, message, message_file, raw_login,
                      received, server_with, wire_form)
from harness import unstuff

M1 = message(b"one", b"First.\n")
M2 = message(b"two", b"Second.\n.dot\n")
M3 = message(b"three", b"Third.\n")
MSGS = [M1, M2, M3]


def drain(c, timeout=5):
    """Every line the server sends until it closes the connection."""
    c.closed(timeout)
    data, c.buf = c.buf, b""
    return [l.decode("latin-1") for l in data.split(b"\r\n") if l]


def login_retry(s, seconds=5):
    """Logs in, waiting while an ending session still holds the maildrop
    (its process may take a moment to notice the drop)."""
    deadline = time.time() + seconds
    while True:
        c = s.connect()
        c.line()
        c.cmd("USER " + USER)
        r = c.cmd("PASS " + PASSWORD)
        if r.startswith("+OK"):
            return c
        c.close()
        if "[IN-USE]" not in r or time.time() > deadline:
            raise AssertionError(r)
        time.sleep(0.1)


class BadInput(unittest.TestCase):
    def test_overlong_line_answered_once(self):
        with server_with("mbox", MSGS) as s:
            c = s.connect()
            c.line()
            # Far beyond any limit, sent in pieces, ending in something that
            # looks like a command: the tail must never be executed.
            c.send(b"A" * 100000)
            c.send(b"A" * 5000 + b" QUIT\r\n")
            self.assertTrue(c.line().startswith("-ERR"))
            self.assertTrue(c.cmd("USER alice").startswith("+OK"))
            self.assertTrue(c.cmd("PASS wonderland").startswith("+OK"))
            c.send(b"X" * 2000 + b"\r\nDELE 1\r\n")
            self.assertTrue(c.line().startswith("-ERR"))
            self.assertTrue(c.line().startswith("+OK"))  # the DELE 1 line
            self.assertTrue(c.cmd("RSET").startswith("+OK"))
            c.send(b"B" * 3000 + b"DELE 2\r\nQUIT\r\n")
            self.assertEqual([l[:4] for l in drain(c)], ["-ERR", "+OK "])
            self.assertEqual(mailbox_snapshot(s), mbox_bytes(MSGS))

    def test_255_octet_command_is_not_too_long(self):
        # PROTOCOLS.md 3.6 / RFC 2449 §4: lines up to 255 octets are fine.
        with server_with("mbox", MSGS) as s:
            c = s.connect()
            c.line()
            line = "USER alice" + " " * 243
            self.assertEqual(len(line) + 2, 255)
            self.assertTrue(c.cmd(line).startswith("+OK"))
            self.assertTrue(c.cmd("PASS wonderland").startswith("+OK"))
            c.cmd("QUIT")

    def test_binary_junk_and_nul(self):
        with server_with("mbox", MSGS) as s:
            c = raw_login(s)
            for junk in (b"\x80\x81\xfe\xff junk", b"\xff\xfb\x01\xff\xfd\x03",
                         b"NOOP\x00", b"RETR 1\x00", b"DELE \x001", b"\x00",
                         b"LIST\x1b[A", b"\x7f"):
                c.send(junk + b"\r\n")
                r = c.line()
                self.assertTrue(r.startswith("-ERR "), (junk, r))
            # Still in TRANSACTION, nothing marked.
            self.assertEqual(c.cmd("STAT"), "+OK 3 %d" % sum(len(wire_form(m)) for m in MSGS))
            c.cmd("QUIT")
            self.assertEqual(mailbox_snapshot(s), mbox_bytes(MSGS))

    def test_nul_in_user_name(self):
        with server_with("mbox", MSGS) as s:
            c = s.connect()
            c.line()
            c.send(b"USER alice\x00bob\r\n")
            self.assertTrue(c.line().startswith("-ERR"))
            c.send(b"PASS wonderland\r\n")
            self.assertTrue(c.line().startswith("-ERR"))
            c.cmd("QUIT")

    def test_huge_numbers_never_wrap(self):
        # popa3d's lesson: 4294967297 must not mean 1 (2^32 + 1), nor
        # 18446744073709551617 (2^64 + 1).
        with server_with("mbox", [M1]) as s:
            c = raw_login(s)
            for cmd in ("LIST 4294967297", "RETR 4294967297", "DELE 4294967297",
                        "UIDL 4294967297", "TOP 4294967297 0",
                        "LIST 18446744073709551617", "RETR 18446744073709551617",
                        "LIST 99999999999999999999999999", "RETR -1", "DELE -1",
                        "LIST -0", "RETR 01x"):
                self.assertTrue(c.cmd(cmd).startswith("-ERR"), cmd)
            self.assertEqual(c.cmd("STAT"), "+OK 1 %d" % len(wire_form(M1)))
            c.cmd("QUIT")
            self.assertEqual(mailbox_snapshot(s), mbox_bytes([M1]))

    def test_top_with_a_huge_line_count_sends_everything(self):
        with server_with("mbox", MSGS) as s:
            c = raw_login(s)
            for n in ("99999999999", "18446744073709551616"):
                self.assertTrue(c.cmd("TOP 2 " + n).startswith("+OK"), n)
                self.assertEqual(unstuff(c.multiline()), wire_form(M2))
            # Leading zeros are still a number.
            self.assertTrue(c.cmd("RETR 002").startswith("+OK"))
            self.assertEqual(unstuff(c.multiline()), wire_form(M2))
            c.cmd("QUIT")

    def test_too_many_bad_commands_close_the_session(self):
        with server_with("mbox", MSGS) as s:
            c = s.connect()
            c.line()
            c.send("BOGUS\r\n" * 40)
            lines = drain(c)
            self.assertTrue(all(l.startswith("-ERR") for l in lines), lines)
            self.assertLess(len(lines), 40)

    def test_wrong_state_after_failed_login(self):
        with server_with("mbox", MSGS) as s:
            c = s.connect()
            c.line()
            c.cmd("USER alice")
            self.assertTrue(c.cmd("PASS nope").startswith("-ERR"))
            for cmd in ("STAT", "RETR 1", "DELE 1", "LIST"):
                self.assertTrue(c.cmd(cmd).startswith("-ERR"), cmd)
            c.cmd("QUIT")
            self.assertEqual(mailbox_snapshot(s), mbox_bytes(MSGS))


class UserPassOrder(unittest.TestCase):
    def test_pass_without_user(self):
        with server_with("mbox", MSGS) as s:
            c = s.connect()
            c.line()
            self.assertTrue(c.cmd("PASS wonderland").startswith("-ERR"))
            self.assertTrue(c.cmd("STAT").startswith("-ERR"))
            c.cmd("QUIT")

    def test_second_user(self):
        # PROTOCOLS.md 3.6: a second USER is refused and forgets the first
        # name, so the next PASS is out of order too.
        with server_with("mbox", MSGS) as s:
            c = s.connect()
            c.line()
            self.assertTrue(c.cmd("USER nosuchuser").startswith("+OK"))
            self.assertTrue(c.cmd("USER alice").startswith("-ERR"))
            self.assertTrue(c.cmd("PASS wonderland").startswith("-ERR"))
            self.assertTrue(c.cmd("USER alice").startswith("+OK"))
            self.assertTrue(c.cmd("PASS wonderland").startswith("+OK"))
            c.cmd("QUIT")


class QuitSemantics(unittest.TestCase):
    def test_quit_in_authorization_ends_without_update(self):
        with server_with("mbox", MSGS) as s:
            c = s.connect()
            c.line()
            c.cmd("USER alice")
            c.send("QUIT\r\nNOOP\r\n")
            # One +OK, then the connection closes; NOOP is never answered.
            lines = drain(c)
            self.assertEqual(len(lines), 1, lines)
            self.assertTrue(lines[0].startswith("+OK"))

    def test_quit_in_transaction_deletes_marked_and_closes(self):
        with server_with("mbox", MSGS) as s:
            c = raw_login(s)
            self.assertTrue(c.cmd("DELE 2").startswith("+OK"))
            c.send("QUIT\r\nSTAT\r\n")
            lines = drain(c)
            self.assertEqual(len(lines), 1, lines)
            self.assertTrue(lines[0].startswith("+OK"))
            p = login(s)
            self.assertEqual([received(p.retr(n)[1]) for n in (1, 2)],
                             [wire_form(M1), wire_form(M3)])
            p.quit()

    def test_delivery_during_a_session_survives_its_commit(self):
        new = message(b"late", b"Delivered while alice was reading.\n")
        for kind in ("mbox", "maildir"):
            with server_with(kind, MSGS) as s:
                c = raw_login(s)
                self.assertEqual(s.deliver(USER, new), 0, kind)
                # RFC 1939 §4: the session keeps the numbering it started with.
                self.assertTrue(c.cmd("STAT").startswith("+OK 3 "), kind)
                self.assertTrue(c.cmd("DELE 1").startswith("+OK"))
                self.assertTrue(c.cmd("QUIT").startswith("+OK"), kind)
                c = login_retry(s)
                self.assertTrue(c.cmd("STAT").startswith("+OK 3 "), kind)
                got = []
                for n in (1, 2, 3):
                    self.assertTrue(c.cmd("RETR %d" % n).startswith("+OK"))
                    got.append(unstuff(c.multiline()))
                c.cmd("QUIT")
                if kind == "mbox":
                    self.assertEqual(got, [wire_form(m) for m in (M2, M3, new)])
                else:
                    self.assertEqual(sorted(got), sorted(wire_form(m) for m in (M2, M3, new)))


class ChangedUnderneath(unittest.TestCase):
    def test_mbox_rewritten_by_another_program_during_the_session(self):
        # RFC 1939 §6: if the marked messages cannot be removed the reply is
        # -ERR, and an unmarked message is never lost.  Here another mail
        # reader rewrites the mbox (drops message 3) while our session has
        # message 1 marked: our commit must not apply stale offsets.
        with server_with("mbox", MSGS) as s:
            c = raw_login(s)
            self.assertTrue(c.cmd("DELE 1").startswith("+OK"))
            edited = mbox_from([M1, M2])
            with open(s.mailbox_path(USER), "wb") as f:
                f.write(edited)
            r = c.cmd("QUIT")
            self.assertTrue(r.startswith("-ERR"), r)
            self.assertTrue(c.closed())
            with open(s.mailbox_path(USER), "rb") as f:
                self.assertEqual(f.read(), edited)


    def test_message_cut_short_while_it_is_sent(self):
        # A large message goes out in pieces (spool.h spool_stream): when
        # another program truncates it midway, the reply cannot be
        # finished honestly.  The session ends without the terminating
        # line, so the client knows the message is incomplete, and
        # nothing is deleted, since there was no QUIT.
        big = big_message(24 * 1024 * 1024)
        for kind in ("maildir", "mbox"):
            with self.subTest(kind=kind), server_with(kind, [M1, big]) as s:
                c = raw_login(s)
                self.assertTrue(c.cmd("DELE 1").startswith("+OK"))
                c.send("RETR 2\r\n")
                # The server stops once the socket buffers are full,
                # a few megabytes in, waiting for this client.
                self.assertTrue(c.line().startswith("+OK"))
                path = message_file(s, kind)
                os.truncate(path, os.path.getsize(path) - len(big) // 2)
                self.assertTrue(c.closed(30))
                self.assertFalse(c.buf.endswith(b"\r\n.\r\n"))
                self.assertLess(len(c.buf), len(wire_form(big)))
                self.assertIsNotNone(s.wait_log(rb"message 2 changed while it was sent"))
                c = login_retry(s)
                self.assertTrue(c.cmd("RETR 1").startswith("+OK"))
                self.assertEqual(unstuff(c.multiline()), wire_form(M1))
                c.cmd("QUIT")

    def test_message_edited_in_place_while_it_is_sent(self):
        # The same length, one line end fewer: every piece still reads,
        # and only the octets counted while converting them can tell
        # (spool.h spool_stream_check).  The reply is abandoned before
        # its terminating line, as for a truncated message.
        big = big_message(24 * 1024 * 1024)
        for kind in ("maildir", "mbox"):
            with self.subTest(kind=kind), server_with(kind, [M1, big]) as s:
                c = raw_login(s)
                c.send("RETR 2\r\n")
                self.assertTrue(c.line().startswith("+OK"))
                path = message_file(s, kind)
                join_two_lines(path, os.path.getsize(path) - 5000)
                self.assertTrue(c.closed(30))
                self.assertFalse(c.buf.endswith(b"\r\n.\r\n"))
                self.assertIsNotNone(s.wait_log(rb"message 2 changed while it was sent"))
                c = login_retry(s)
                self.assertEqual(c.cmd("STAT").split()[1], "2")
                c.cmd("QUIT")


class NoQuitNoDelete(unittest.TestCase):
    def abrupt(self, kind, reset):
        with server_with(kind, MSGS) as s:
            before = mailbox_snapshot(s)
            c = raw_login(s)
            for n in (1, 2, 3):
                self.assertTrue(c.cmd("DELE %d" % n).startswith("+OK"))
            if reset:  # RST instead of FIN
                c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                  struct.pack("ii", 1, 0))
            c.close()
            c = login_retry(s)
            self.assertTrue(c.cmd("STAT").startswith("+OK 3 "))
            c.cmd("QUIT")
            self.assertEqual(mailbox_snapshot(s), before)

    def test_close_without_quit_mbox(self):
        self.abrupt("mbox", reset=False)

    def test_reset_without_quit_maildir(self):
        self.abrupt("maildir", reset=True)

    def test_reset_without_quit_mbox(self):
        self.abrupt("mbox", reset=True)

    def test_sigterm_of_the_daemon_mid_session(self):
        for kind in ("mbox", "maildir"):
            s = server_with(kind, MSGS).start()
            try:
                before = mailbox_snapshot(s)
                c = raw_login(s)
                self.assertTrue(c.cmd("DELE 1").startswith("+OK"))
                self.assertTrue(c.cmd("DELE 3").startswith("+OK"))
                s.proc.send_signal(signal.SIGTERM)
                s.proc.wait(timeout=10)
                self.assertEqual(s.proc.returncode, 0)
                # The session ends without a reply and without UPDATE.
                self.assertTrue(c.closed(10))
                self.assertNotIn(b"+OK", c.buf)
                self.assertEqual(mailbox_snapshot(s), before, kind)
                s.start()
                p = login(s)
                self.assertEqual(p.stat()[0], 3)
                p.quit()
            finally:
                s.cleanup()


class Autologout(unittest.TestCase):
    def test_login_timer_closes_silently(self):
        # RFC 1939 §3: on expiry the server closes without a response.
        # timeout_idle has a 600 s floor, so the pre-login timer is used.
        with server_with("mbox", MSGS, extra_config="timeout_login 1") as s:
            c = s.connect()
            c.line()
            self.assertTrue(c.cmd("USER alice").startswith("+OK"))
            t = time.monotonic()
            self.assertTrue(c.closed(6))
            self.assertEqual(c.buf, b"")
            self.assertLess(time.monotonic() - t, 5)
            self.assertIn(b"timeout", s.read_log())

    def test_any_command_resets_the_timer(self):
        # RFC 1939 §3: any command restarts the inactivity interval.
        with server_with("mbox", MSGS, extra_config="timeout_login 1") as s:
            c = s.connect()
            c.line()
            for _ in range(5):
                time.sleep(0.6)
                self.assertTrue(c.cmd("CAPA").startswith("+OK"))
                c.multiline()
            self.assertTrue(c.cmd("USER alice").startswith("+OK"))
            self.assertTrue(c.cmd("PASS wonderland").startswith("+OK"))
            c.cmd("QUIT")

    def test_login_timer_does_not_apply_after_login(self):
        with server_with("mbox", MSGS, extra_config="timeout_login 1") as s:
            c = raw_login(s)
            time.sleep(2.5)
            self.assertTrue(c.cmd("NOOP").startswith("+OK"))
            c.cmd("QUIT")

    def test_timeout_idle_below_ten_minutes_is_refused(self):
        for value, ok in (("599", False), ("600", True)):
            s = server_with("mbox", MSGS, extra_config="timeout_idle " + value)
            try:
                if ok:
                    s.start()
                    s.stop()
                else:
                    with self.assertRaises(RuntimeError):
                        s.start()
            finally:
                s.cleanup()


class Inetd(unittest.TestCase):
    def run_inetd(self, s, script):
        return subprocess.run([BINARY, "serve", "-c", s.config, "--inetd", "pop3"],
                              input=script, capture_output=True, timeout=30)

    def test_session_over_pipes(self):
        s = server_with("mbox", MSGS)  # only its files; no daemon started
        try:
            r = self.run_inetd(s, b"USER alice\r\nPASS wonderland\r\nSTAT\r\n"
                                  b"RETR 2\r\nDELE 1\r\nQUIT\r\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            out = r.stdout
            self.assertTrue(out.startswith(b"+OK POP3 "), out)
            lines = out.split(b"\r\n")
            self.assertEqual(lines[3], b"+OK 3 %d" % sum(len(wire_form(m)) for m in MSGS))
            body = out.split(b"\r\n", 5)[5]
            self.assertTrue(body.startswith(wire_form(M2).replace(b"\r\n.", b"\r\n..")))
            self.assertTrue(out.endswith(b"\r\n"))
            self.assertIn(b"+OK Message 1 deleted", out)
            with open(s.mailbox_path(USER), "rb") as f:
                self.assertEqual(f.read(), mbox_bytes([M2, M3]))
        finally:
            s.cleanup()

    def test_eof_without_quit_deletes_nothing(self):
        s = server_with("maildir", MSGS)
        try:
            before = mailbox_snapshot(s)
            r = self.run_inetd(s, b"USER alice\r\nPASS wonderland\r\nDELE 1\r\nDELE 2\r\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.count(b"+OK"), 5, r.stdout)
            self.assertEqual(mailbox_snapshot(s), before)
        finally:
            s.cleanup()


def mbox_bytes(msgs):
    return mbox_from(msgs)


if __name__ == "__main__":
    unittest.main()
