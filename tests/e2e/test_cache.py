"""The caches kept beside a maildrop (docs/mailbox.md, "Caches") are
invisible to clients: STAT, LIST, UIDL and every message are the same in
a first session (no cache), a second one (the cache in use), after the
cache is damaged by hand (garbage, cut, one figure changed, emptied),
and after new mail arrives, over mbox and Maildir."""
import os
import time
import unittest

from fixtures import FIXTURES, USER, login, message, received, server_with, stored_for


def snapshot(s):
    p = login(s)
    stat = p.stat()
    sizes = p.list()[1]
    ids = p.uidl()[1]
    bodies = [received(p.retr(n)[1]) for n in range(1, len(sizes) + 1)]
    p.quit()
    return stat, sizes, ids, bodies


def one_figure_changed(text):
    """TEXT with the first digit after its second line changed: still
    well-formed, no longer what the trailer vouches for."""
    at = text.index(b"\n", text.index(b"\n") + 1) + 1
    while not text[at:at + 1].isdigit():
        at += 1
    digit = b"1" if text[at:at + 1] != b"1" else b"2"
    return text[:at] + digit + text[at + 1:]


class CacheInvisible(unittest.TestCase):
    def check(self, kind, cache_of):
        msgs = [stored_for(kind, m) for _, m in FIXTURES]
        with server_with(kind, msgs) as s:
            # A Maildir file changed less than 2 s before a session is not
            # cached (maildir_cache.c): let the fixtures age.
            time.sleep(2.2)
            cache = cache_of(s.mailbox_path(USER))
            self.assertFalse(os.path.exists(cache))
            first = snapshot(s)
            self.assertTrue(os.path.exists(cache))
            with open(cache, "rb") as f:
                good = f.read()
            self.assertGreater(good.count(b"\n"), 3)
            self.assertEqual(snapshot(s), first)
            for damaged in (b"garbage\n", good[:len(good) // 2],
                            one_figure_changed(good), b""):
                with open(cache, "wb") as f:
                    f.write(damaged)
                self.assertEqual(snapshot(s), first, damaged[:40])
                with open(cache, "rb") as f:
                    self.assertEqual(f.read(), good)  # rebuilt the same
            self.assertEqual(s.deliver(USER, message(b"late", b"new mail\n")), 0)
            later = snapshot(s)
            self.assertEqual(later[2][:-1], first[2])
            self.assertEqual(later[3][:-1], first[3])
            self.assertEqual(snapshot(s), later)

    def test_mbox(self):
        self.check("mbox", lambda path: path + ".pop-cache")

    def test_maildir(self):
        self.check("maildir", lambda path: os.path.join(path, "postoffice.sizes"))


if __name__ == "__main__":
    unittest.main()
